"""The shipped rule sets applied to cases built in memory: pure evaluation, explicit `now`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from monitor.calendar import WorkCalendar
from monitor.engine import RuleSet, evaluate, load_ruleset
from monitor.model import Applicant, Case, Event, ItemType, Level, LimitUnit, PowerItem
from tests.conftest import RULES, bj

ROUTES = frozenset({"department", "discipline_office"})


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_ruleset(RULES, ROUTES)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.default()


LICENCE = PowerItem(
    "XK-1", "食品经营许可", ItemType.LICENSING, "市市场监督管理局", 20, 5, LimitUnit.WORKING_DAYS, Decimal(0)
)


def make(*events: tuple[Any, ...], item: PowerItem | None = LICENCE, **attributes: Any) -> Case:
    evs = []
    for i, spec in enumerate(events, start=1):
        kind, at, *rest = spec
        attrs = rest[0] if rest else {}
        actors = tuple(rest[1]) if len(rest) > 1 else ()
        evs.append(Event(i, f"e{i}", "C1", kind, bj(at), actors, attrs))
    code = item.item_code if item else "NOPE"
    return Case("C1", code, "市市场监督管理局", Applicant(), attributes, item, tuple(evs))


def findings(case: Case, rules: RuleSet, cal: WorkCalendar, now: datetime) -> dict[str, Level]:
    return {f.rule_id: f.level for f in evaluate(case, rules, cal, now).findings}


def test_clean_case_has_no_finding(rules: RuleSet, cal: WorkCalendar) -> None:
    case = make(
        ("received", "2026-11-02 09:00"),
        ("accepted", "2026-11-03 09:00"),
        ("decided", "2026-11-06 10:00", {"result": "approved"}),
        ("delivered", "2026-11-09 10:00"),
        ("disclosed", "2026-11-10 10:00", {"what": "decision"}),
        ("closed", "2026-11-10 11:00"),
    )
    ev = evaluate(case, rules, cal, bj("2026-11-23 10:00"))
    assert ev.findings == ()
    assert ev.next_check_at is None  # every clock stopped in time: nothing can change


def test_undisclosed_decision_is_yellow_then_red(rules: RuleSet, cal: WorkCalendar) -> None:
    case = make(("accepted", "2026-11-03 09:00"), ("decided", "2026-11-05 10:00", {"result": "approved"}))
    # 7 working days from 11-05 end on 11-16 at 24:00; yellow with 2 days left (11-13).
    assert findings(case, rules, cal, bj("2026-11-12 23:59")).get("disclosure.decision_published") is None
    assert findings(case, rules, cal, bj("2026-11-13 00:00"))["disclosure.decision_published"] is Level.YELLOW
    assert findings(case, rules, cal, bj("2026-11-17 00:00"))["disclosure.decision_published"] is Level.RED


def test_disclosure_exemption_counts_only_with_a_reason(rules: RuleSet, cal: WorkCalendar) -> None:
    events = (("accepted", "2026-11-03 09:00"), ("decided", "2026-11-05 10:00", {"result": "approved"}))
    with_reason = make(*events, disclosure_exempt=True, disclosure_exempt_reason="涉及商业秘密")
    without = make(*events, disclosure_exempt=True)
    now = bj("2026-11-23 10:00")
    assert "disclosure.decision_published" not in findings(with_reason, rules, cal, now)
    got = findings(without, rules, cal, now)
    assert got["disclosure.exemption_without_reason"] is Level.RED
    assert got["disclosure.decision_published"] is Level.RED


def test_decision_without_acceptance_is_red(rules: RuleSet, cal: WorkCalendar) -> None:
    case = make(("received", "2026-11-16 09:00"), ("decided", "2026-11-17 09:00", {"result": "approved"}))
    got = findings(case, rules, cal, bj("2026-11-17 10:00"))
    assert got["licensing.no_decision_without_acceptance"] is Level.RED


def test_second_correction_notice_breaks_the_one_time_rule(rules: RuleSet, cal: WorkCalendar) -> None:
    once = make(("received", "2026-11-16 09:00"), ("correction_requested", "2026-11-17 09:00"))
    twice = make(*once_events(), ("correction_requested", "2026-11-19 09:00"))
    now = bj("2026-11-20 10:00")
    assert "licensing.one_time_correction_notice" not in findings(once, rules, cal, now)
    assert findings(twice, rules, cal, now)["licensing.one_time_correction_notice"] is Level.RED


def once_events() -> tuple[tuple[Any, ...], ...]:
    return (("received", "2026-11-16 09:00"), ("correction_requested", "2026-11-17 09:00"))


def test_fee_different_from_the_catalogue_is_red(rules: RuleSet, cal: WorkCalendar) -> None:
    charged = make(("received", "2026-11-16 09:00"), ("fee_charged", "2026-11-16 09:30", {"amount": 50}))
    free = make(("received", "2026-11-16 09:00"))
    now = bj("2026-11-17 10:00")
    assert findings(charged, rules, cal, now)["fee.charged_differs_from_standard"] is Level.RED
    assert "fee.charged_differs_from_standard" not in findings(free, rules, cal, now)


def test_unlisted_item_is_a_catalogue_finding(rules: RuleSet, cal: WorkCalendar) -> None:
    got = findings(make(("received", "2026-11-16 09:00"), item=None), rules, cal, bj("2026-11-17 10:00"))
    assert got == {"catalogue.unlisted_power": Level.RED}


def test_special_procedure_pause_moves_the_deadline(rules: RuleSet, cal: WorkCalendar) -> None:
    base = (("accepted", "2026-11-02 09:00"),)
    paused = (
        *base,
        ("suspended", "2026-11-03 09:00", {"reason": "expert_review"}),
        ("resumed", "2026-11-09 09:00"),
    )
    now = bj("2026-11-11 10:00")
    # Without the pause 5 working days end 11-09; the pause (11-04..11-09, 4 working days) moves it to 11-13.
    assert findings(make(*base), rules, cal, now)["licensing.decide_within_promise"] is Level.RED
    ev = evaluate(make(*paused), rules, cal, now)
    clock = next(c for c in ev.clocks if c.rule_id == "licensing.decide_within_promise")
    assert clock.due == bj("2026-11-14 00:00")
    assert clock.used == 3  # 7 working days since acceptance, 4 of them paused
    assert clock.level is None and clock.next_change == bj("2026-11-12 00:00")  # yellow at 80%


def test_extension_counts_only_when_approved_and_in_time(rules: RuleSet, cal: WorkCalendar) -> None:
    accepted = ("accepted", "2026-11-02 09:00")
    approved = make(accepted, ("extended", "2026-11-05 09:00", {"days": 10, "approved_by": "分管副局长"}))
    unapproved = make(accepted, ("extended", "2026-11-05 09:00", {"days": 10}))
    late = make(accepted, ("extended", "2026-11-12 09:00", {"days": 10, "approved_by": "分管副局长"}))
    now = bj("2026-11-11 10:00")
    assert "licensing.decide_within_promise" not in findings(approved, rules, cal, now)
    got = findings(unapproved, rules, cal, now)
    assert got["licensing.decide_within_promise.extension"] is Level.RED
    assert got["licensing.decide_within_promise"] is Level.RED
    got = findings(late, rules, cal, bj("2026-11-12 10:00"))
    assert got["licensing.decide_within_promise.extension"] is Level.RED


def test_future_and_unknown_events_are_data_quality(rules: RuleSet, cal: WorkCalendar) -> None:
    case = make(
        ("received", "2026-11-16 09:00"), ("teleported", "2026-11-16 10:00"), ("accepted", "2026-12-01 09:00")
    )
    got = findings(case, rules, cal, bj("2026-11-17 10:00"))
    assert got["data_quality.future_event"] is Level.YELLOW
    assert got["data_quality.unknown_event_kind"] is Level.YELLOW


def test_a_rule_that_cannot_apply_is_a_finding_not_a_crash(rules: RuleSet, cal: WorkCalendar) -> None:
    # A fee amount that is not a number makes the fee rule's expression fail for this case only.
    case = make(("received", "2026-11-16 09:00"), ("fee_charged", "2026-11-16 09:30", {"amount": "五十"}))
    ev = evaluate(case, rules, cal, bj("2026-11-17 10:00"))
    assert any(f.rule_id == "data_quality.rule_not_applicable" for f in ev.findings)


def test_unanswered_application_wakes_the_poller_when_it_is_deemed_accepted(
    rules: RuleSet, cal: WorkCalendar
) -> None:
    case = make(("received", "2026-11-02 09:00"))
    ev = evaluate(case, rules, cal, bj("2026-11-03 10:00"))
    # 5 working days from 11-02 end 11-09 24:00: the acceptance clock turns red then, and the
    # decision clock is deemed to have started at receipt.
    assert ev.next_check_at == bj("2026-11-09 00:00")  # yellow: 1 working day left
    later = evaluate(case, rules, cal, bj("2026-11-10 00:00"))
    got = {f.rule_id: f.level for f in later.findings}
    assert got["licensing.accept_within_limit"] is Level.RED
    promise = next(c for c in later.clocks if c.rule_id == "licensing.decide_within_promise")
    assert promise.start == bj("2026-11-02 09:00") and "视为自收件之日起受理" in promise.reason


def test_running_pause_wakes_the_poller_at_its_maximum(rules: RuleSet, cal: WorkCalendar) -> None:
    case = make(
        ("accepted", "2026-11-02 09:00"), ("suspended", "2026-11-03 09:00", {"reason": "expert_review"})
    )
    ev = evaluate(case, rules, cal, bj("2026-11-10 10:00"))
    assert ev.findings == ()
    assert ev.next_check_at == bj("2026-12-04 00:00")  # 30 natural days after 11-03, at 24:00
