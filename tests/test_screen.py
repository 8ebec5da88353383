"""The screen (monitor.engine.screen) against the engine: what it settles, it settles exactly.

For every case the screen settles, `evaluate` must find nothing and give the same next check
and the same span of counted days; the cases it does not settle are evaluated in full, so the
only thing the screen may get wrong by declining is speed, which the settled share checks.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.calendar import WorkCalendar
from monitor.daemon.requeue import clock_span
from monitor.engine import RuleSet, evaluate, load_ruleset
from monitor.engine.fastpath import orderly, timeless
from monitor.engine.screen import Screen
from monitor.model import Applicant, Case, Event, ItemType, LimitUnit, PowerItem
from tests.conftest import RULES, bj

ROUTES = frozenset({"department", "discipline_office", "operators"})
NOW = bj("2026-11-23 10:00")


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_ruleset(RULES, ROUTES)


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.default()


def _item(code: str, kind: ItemType, legal: int | None, promised: int | None, unit: LimitUnit) -> PowerItem:
    return PowerItem(code, f"事项{code}", kind, "市第一局", legal, promised, unit, Decimal(0))


ITEMS = [
    _item("XK-1", ItemType.LICENSING, 20, 5, LimitUnit.WORKING_DAYS),
    _item("XK-2", ItemType.LICENSING, 20, None, LimitUnit.WORKING_DAYS),
    _item("XK-3", ItemType.LICENSING, None, None, LimitUnit.WORKING_DAYS),  # no limit: a finding
    _item("CF-1", ItemType.PENALTY, 90, None, LimitUnit.NATURAL_DAYS),
    _item("CF-2", ItemType.PENALTY, 0, None, LimitUnit.NATURAL_DAYS),
    _item("TS-1", ItemType.COMPLAINT, 15, None, LimitUnit.NATURAL_DAYS),
    _item("GG-1", ItemType.PUBLIC_SERVICE, 10, 3, LimitUnit.WORKING_DAYS),
]
FLOWS = {
    ItemType.LICENSING: ["received", "accepted", "reviewed", "decided", "delivered", "disclosed", "closed"],
    ItemType.PENALTY: [
        "filed",
        "investigated",
        "pre_decision_notice",
        "statement_heard",
        "legal_review",
        "decided",
        "delivered",
    ],
    ItemType.COMPLAINT: ["received", "accepted", "replied", "followed_up", "closed"],
    ItemType.PUBLIC_SERVICE: ["received", "accepted", "decided", "delivered"],
}
TICK = timedelta(microseconds=1)
# Between steps: none (equal times), a microsecond, minutes, hours, and whole days.
GAPS = [timedelta(0), TICK, timedelta(minutes=30), timedelta(hours=5), timedelta(days=1), timedelta(days=6)]
ODD = ["correction_requested", "suspended", "resumed", "extended", "rejected", "correction_received"]


def random_case(rng: random.Random, n: int, now: datetime = NOW) -> Case:
    """A case of a random item: a prefix of its flow, sometimes shuffled or with odd steps
    (pauses, extensions, corrections), times from a few minutes to weeks apart (some equal)."""
    item = rng.choice(ITEMS)
    flow = FLOWS[item.item_type][: rng.randint(1, len(FLOWS[item.item_type]))]
    if rng.random() < 0.25:
        flow.insert(rng.randrange(len(flow) + 1), rng.choice(ODD))
    if rng.random() < 0.1:
        rng.shuffle(flow)
    if rng.random() < 0.05:
        flow.insert(0, "unheard_of")
    at = now - timedelta(days=rng.choice([0, 1, 2, 4, 8, 15, 30, 60, 120]), minutes=rng.randint(0, 900))
    if rng.random() < 0.15:
        # at Beijing midnight or a microsecond either side: the day a count starts from changes
        midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
        at = midnight + rng.choice([-TICK, timedelta(0), TICK])
    events = []
    for i, kind in enumerate(flow):
        attributes: dict[str, Any] = {}
        if kind == "extended" and rng.random() < 0.7:
            attributes = {"approved_by": "局长", "days": rng.choice([5, 10, 30])}
        if kind == "suspended":
            attributes = {"reason": rng.choice(["expert_review", "检验检测"])}
        if kind == "decided" and rng.random() < 0.3:
            attributes = {"fine_amount": rng.choice([100, 5000, 200000])}
        actors = ("甲", "乙") if kind == "investigated" and rng.random() < 0.8 else ()
        events.append(Event(i + 1, f"e{n}-{i}", f"C{n}", kind, at, actors, attributes))
        at += rng.choice(GAPS)
    attributes = {}
    if item.item_type is ItemType.PENALTY:
        attributes = {
            "party_type": rng.choice(["person", "organization"]),
            "procedure": rng.choice(["general", "general", "summary", "hearing"]),
        }
    if rng.random() < 0.05:
        attributes["disclosure_exempt"] = True
    events.sort(key=lambda e: (e.at, e.seq))
    return Case(f"C{n}", item.item_code, item.department, Applicant(), attributes, item, tuple(events))


def check_exact(screen: Screen, rules: RuleSet, calendar: WorkCalendar, case: Case, at: datetime) -> bool:
    """Whether the screen settled the case; fails when what it settled differs from `evaluate`."""
    settled = screen.settle(case, at)
    if settled is None:
        return False
    ev = evaluate(case, rules, calendar, at)
    assert ev.findings == (), (case, at)
    assert settled.next_check == ev.next_check_at, (case, at)
    assert settled.counted_until == clock_span(case, ev, at)[1], (case, at)
    return True


def test_what_the_screen_settles_is_what_evaluation_finds_on_random_cases(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    rng = random.Random(20261201)
    screen = Screen(rules, calendar)
    cases = [random_case(rng, n) for n in range(3000)]
    settled = quiet = 0
    for case in cases:
        for days in (0, 2, 9, 40):
            at = NOW + timedelta(days=days, hours=rng.randint(0, 23))
            settled += check_exact(screen, rules, calendar, case, at)
            quiet += not evaluate(case, rules, calendar, at).findings
    assert quiet > 1000
    assert settled > quiet * 0.6  # the screen declines only what it cannot count itself


def test_the_screen_agrees_with_evaluation_on_the_boundary_instants(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    """The instants where a verdict changes are where a `>=` written as `>` hides: now equal to
    a deadline or to the start of the yellow warning (the engine's own next check), a
    microsecond before, and a step stopping a clock exactly at an instant where one changes."""
    rng = random.Random(20261204)
    screen = Screen(rules, calendar)
    tick = timedelta(microseconds=1)
    boundaries = settled = stopped_on_one = 0
    for n in range(1500):
        case = random_case(rng, n)
        at = NOW + timedelta(days=rng.choice([0, 1, 3, 7]))
        edge = evaluate(case, rules, calendar, at).next_check_at
        if edge is None:
            continue
        boundaries += 1
        for instant in (edge - tick, edge, edge + tick):
            settled += check_exact(screen, rules, calendar, case, instant)
        last = case.events[-1]
        if edge > last.at and (len(case.events) < 2 or case.events[-2].at < edge):
            # The last step moved to the boundary itself: a clock it stops ends on the instant.
            moved = replace(case, events=(*case.events[:-1], replace(last, at=edge)))
            for instant in (edge, edge + timedelta(days=3)):
                stopped_on_one += check_exact(screen, rules, calendar, moved, instant)
    assert boundaries > 500 and settled > 300 and stopped_on_one > 100


def test_the_screen_counts_as_the_engine_across_a_holiday_of_a_year_without_a_notice(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    """春节 2027 comes from the law, with Sunlight's 补假: the screen's counting and the
    engine's must still agree case by case."""
    rng = random.Random(20270205)
    now = bj("2027-01-25 10:00")
    assert not calendar.is_workday(bj("2027-02-09 12:00").date())  # the law's 补假
    screen = Screen(rules, calendar)
    settled = 0
    for n in range(1500):
        case = random_case(rng, n, now)
        for days in (0, 9, 16, 30):
            settled += check_exact(screen, rules, calendar, case, now + timedelta(days=days, hours=3))
    assert settled > 1000


def test_what_the_screen_settles_is_what_evaluation_finds_on_the_demo_cases(
    rules: RuleSet, calendar: WorkCalendar, tmp_path: Path
) -> None:
    from tests.conftest import demo_cases

    demo = demo_cases(tmp_path, NOW)
    screen = Screen(rules, calendar)
    settled = open_and_quiet = 0
    for case in demo:
        for days in (-3, 0, 1, 5, 20):
            at = NOW + timedelta(days=days)
            settled += check_exact(screen, rules, calendar, case, at)
            open_and_quiet += not case.is_closed and not evaluate(case, rules, calendar, at).findings
    assert open_and_quiet > 200
    assert settled > open_and_quiet * 0.8, (settled, open_and_quiet)


def test_a_young_licensing_case_is_settled_and_cases_of_one_shape_share_one_analysis(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    screen = Screen(rules, calendar)
    item = ITEMS[0]
    for n, start in enumerate((bj("2026-11-19 09:00"), bj("2026-11-20 15:30"))):
        steps = [
            ("received", start),
            ("accepted", start + timedelta(hours=2)),
            ("reviewed", start + timedelta(days=1)),
        ]
        events = tuple(Event(i, f"e{n}{i}", f"C{n}", k, t) for i, (k, t) in enumerate(steps))
        case = Case(f"C{n}", item.item_code, item.department, Applicant(), {}, item, events)
        assert check_exact(screen, rules, calendar, case, NOW)
    assert len(screen._programs) == 1


def test_a_finding_is_left_to_evaluation_and_a_pause_to_the_engines_own_clock(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    screen = Screen(rules, calendar)
    item = ITEMS[0]

    def case(*steps: tuple[str, datetime]) -> Case:
        events = tuple(Event(i, f"e{i}", "C1", k, t) for i, (k, t) in enumerate(steps))
        return Case("C1", item.item_code, item.department, Applicant(), {}, item, events)

    late = case(("received", bj("2026-10-01 09:00")), ("accepted", bj("2026-10-02 09:00")))
    assert evaluate(late, rules, calendar, NOW).findings and screen.settle(late, NOW) is None
    paused = case(
        ("received", bj("2026-11-19 09:00")),
        ("accepted", bj("2026-11-19 10:00")),
        ("suspended", bj("2026-11-20 10:00")),
    )
    # The running pause: the rule runs through the engine's own code for this case, and the
    # clock, standing still, counts days with no end.
    assert check_exact(screen, rules, calendar, paused, NOW)
    settled = screen.settle(paused, NOW)
    assert settled is not None and settled.counted_until is None
    future = case(("received", NOW + timedelta(hours=1)))
    assert screen.settle(future, NOW) is None  # a data_quality finding


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('case.listed && case.item.item_type == "penalty"', True),
        ('events.exists(e, e.kind == "investigated" && size(e.actors) < 2)', True),
        ("has(case.attributes.fine) && case.attributes.fine > params.limit", True),
        ('event.attributes.result != "no_penalty"', True),
        ('events[0].kind == "received"', True),
        ("size(events) > 3", True),
        ('events.exists(e, e.actors.exists(e, e == "甲"))', True),  # the inner `e` is an actor
        ("case.first.delivered < case.first.decided", False),
        ("events.exists(e, e.at > now)", False),
        ("event.at < now", False),
        ('case.case_id == "C1"', False),
        ("events[0] == events[1]", False),  # whole steps hold their times
        ("events.exists(e, [e].exists(x, x.at > now))", False),
        ("case == {}", False),
        ('"x" in events', False),
        ("now > now", False),
        ("case.attributes.x.matches('a')", False),  # outside the subset: not known to be timeless
    ],
)
def test_which_conditions_the_shape_decides(source: str, expected: bool) -> None:
    assert timeless(source) is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'events.exists(r, r.kind == "received" && events.exists(e, e.kind == "accepted" && e.at < r.at))',
            True,
        ),
        ("case.first.delivered < case.first.decided", True),
        ('"decided" in case.counts && case.first.decided >= case.first.received', True),
        ("events.exists(e, e.at < now)", False),  # against the clock, not another step
        ("case.first.decided < case.first", False),
        ('events.exists(e, e.at == "2026-11-01")', False),
        ("events.exists(e, [e.at].exists(t, t > e.at))", False),  # a time outside a comparison
    ],
)
def test_which_conditions_the_order_of_steps_decides(source: str, expected: bool) -> None:
    assert orderly(source) is expected
    assert not timeless(source)


def _timed_case(n: int, gap: timedelta, *kinds: str) -> Case:
    item = ITEMS[0]
    at = bj("2026-11-20 09:00")
    events = tuple(Event(i, f"e{n}{i}", f"C{n}", k, at + i * gap) for i, k in enumerate(kinds))
    return Case(f"C{n}", item.item_code, item.department, Applicant(), {}, item, events)


def test_a_flow_chart_out_of_order_is_left_to_evaluation_unless_the_times_tie(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    screen = Screen(rules, calendar)
    assert check_exact(
        screen, rules, calendar, _timed_case(1, timedelta(hours=1), "received", "accepted"), NOW
    )
    # Accepted listed first but at the same instant as the receipt: in order.
    assert check_exact(screen, rules, calendar, _timed_case(2, timedelta(0), "accepted", "received"), NOW)
    backwards = _timed_case(3, timedelta(hours=1), "accepted", "received")
    assert [f.rule_id for f in evaluate(backwards, rules, calendar, NOW).findings] == [
        "data_quality.step_order"
    ]
    assert screen.settle(backwards, NOW) is None


def test_a_check_on_the_order_of_steps_is_answered_once_per_pattern_of_ties(
    calendar: WorkCalendar, tmp_path: Path
) -> None:
    (tmp_path / "order.yaml").write_text(
        """
ruleset: order
title: 顺序
select: {item_types: [licensing]}
rules:
  - id: order.accepted_before_received
    title: 受理早于收件
    kind: check
    category: data_quality
    level: yellow
    notify: [department]
    when: >-
      "received" in case.counts && "accepted" in case.counts &&
      case.first.accepted < case.first.received
""",
        encoding="utf-8",
    )
    rules = load_ruleset(tmp_path, ROUTES)
    screen = Screen(rules, calendar)
    assert check_exact(
        screen, rules, calendar, _timed_case(1, timedelta(hours=1), "received", "accepted"), NOW
    )
    # The same shape with both steps at one instant: another pattern, learnt on its own.
    assert check_exact(screen, rules, calendar, _timed_case(2, timedelta(0), "received", "accepted"), NOW)
    [program] = [p for p in screen._programs.values() if p is not None]
    [check] = program.ordered
    assert check.rule.id == "order.accepted_before_received"
    assert check.answers == {(False,): False, (True,): False}
    backwards = _timed_case(3, timedelta(hours=1), "accepted", "received")
    assert evaluate(backwards, rules, calendar, NOW).findings
    assert screen.settle(backwards, NOW) is None


def test_the_reader_s_rows_settle_as_the_cases_built_from_them(
    rules: RuleSet, calendar: WorkCalendar, tmp_path: Path
) -> None:
    """On PostgreSQL a pass screens cases from the reader's rows (their shape read off the
    JSON text) and builds a `Case` only for the rest: the same answers as from the cases."""
    from monitor.config import load_config
    from monitor.demo import demo_records
    from tests.conftest import Harness, scratch_database, write_config

    with scratch_database("postgres") as url:
        h = Harness(load_config(write_config(tmp_path, url), environ={}))
        try:
            h.load(*demo_records(NOW, cases=400), now=NOW)
            with h.app.source.connect() as conn:
                ids = [r[0] for r in conn.exec_driver_sql("SELECT case_id FROM cases")]
            reader = h.pipeline.reader
            by_rows, by_case = Screen(rules, calendar), Screen(rules, calendar)
            rows_of = reader.load_rows(ids)
            assert rows_of is not None
            settled = open_and_quiet = 0
            for raw in rows_of:
                case = next(iter(reader.load_cases([raw.case_id])))
                assert raw.case() == case
                for days in (0, 3, 20):
                    at = NOW + timedelta(days=days)
                    got = by_rows.settle_rows(raw, at)
                    assert got == by_case.settle(case, at), raw.case_id
                    settled += check_exact(by_rows, rules, calendar, case, at)
                    open_and_quiet += not case.is_closed and not evaluate(case, rules, calendar, at).findings
            assert settled > open_and_quiet * 0.8 > 100
        finally:
            h.app.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_pass_leaves_the_same_alerts_and_states_with_the_screen_as_without(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo data through whole passes (first start, then two days later), once as the
    daemon runs and once with the screen declining every case: every alert and every case
    state (next check, counted days, fingerprint) the same."""
    from sqlalchemy import select

    from monitor.config import load_config
    from monitor.demo import demo_records
    from monitor.state.schema import alerts, case_state
    from tests.conftest import Harness, scratch_database, write_config

    def run(folder: Path, url: str) -> tuple[list[Any], list[Any]]:
        folder.mkdir()
        h = Harness(load_config(write_config(folder, url), environ={}))
        try:
            h.load(*demo_records(NOW, cases=400), now=NOW)
            h.poll(NOW)
            h.poll(NOW + timedelta(days=2))
            with h.app.state.connect() as conn:
                found = conn.execute(
                    select(alerts.c.case_id, alerts.c.rule_id, alerts.c.level, alerts.c.state).order_by(
                        alerts.c.case_id, alerts.c.rule_id
                    )
                ).all()
                c = case_state.c
                states = conn.execute(
                    select(
                        c.case_id, c.next_check_at, c.fingerprint, c.clock_from, c.clock_until, c.open
                    ).order_by(c.case_id)
                ).all()
            return [tuple(r) for r in found], [tuple(r) for r in states]
        finally:
            h.app.dispose()

    def url_for(name: str) -> Any:
        if backend == "sqlite":
            from contextlib import nullcontext

            return nullcontext(f"sqlite:///{tmp_path / name}.db")
        return scratch_database("postgres")

    with url_for("screened") as url:
        screened = run(tmp_path / "screened", url)
    monkeypatch.setattr(Screen, "settle", lambda self, case, now: None)
    monkeypatch.setattr(Screen, "settle_rows", lambda self, rows, now: None)
    with url_for("evaluated") as url:
        evaluated = run(tmp_path / "evaluated", url)
    assert len(screened[0]) > 50 and len(screened[1]) == 400
    assert screened == evaluated
