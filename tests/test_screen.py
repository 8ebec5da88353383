"""The screen (monitor.engine.screen) against the engine: a cache, never a second meaning.

The screen hands `evaluate` the memo of a case's shape (the answers of its time-free
conditions); whatever it remembers, the evaluation must be the one `evaluate` gives without
a memo — every finding with its sentence, every clock with its counted days and its reason,
the next check — case by case, on random cases, on the boundary instants, on the demo data,
and through whole passes on SQLite and PostgreSQL.
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
from monitor.engine import RuleSet, evaluate, load_ruleset
from monitor.engine.fastpath import timeless
from monitor.engine.screen import Screen
from monitor.model import Applicant, Case, Evaluation, Event, ItemType, LimitUnit, PowerItem
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


def seen(ev: Evaluation) -> tuple[Any, ...]:
    """Everything an evaluation says, its clocks' sentences written out."""
    clocks = tuple((c, c.reason) for c in ev.clocks)
    return (ev.case_id, ev.findings, ev.next_check_at, clocks)


def check_exact(screen: Screen, rules: RuleSet, calendar: WorkCalendar, case: Case, at: datetime) -> bool:
    """Whether the screen kept a memo for the case; fails when its evaluation differs in
    anything from `evaluate`'s."""
    before = screen.shapes
    got = screen.evaluate(case, at)
    assert seen(got) == seen(evaluate(case, rules, calendar, at)), (case, at)
    return screen._shape(case) is not None or screen.shapes > before


def test_the_screen_evaluates_as_the_engine_on_random_cases(rules: RuleSet, calendar: WorkCalendar) -> None:
    rng = random.Random(20261201)
    screen = Screen(rules, calendar)
    cases = [random_case(rng, n) for n in range(2000)]
    memoised = findings = 0
    for case in cases:
        for days in (0, 2, 9, 40):
            at = NOW + timedelta(days=days, hours=rng.randint(0, 23))
            memoised += check_exact(screen, rules, calendar, case, at)
            findings += bool(screen.evaluate(case, at).findings)
    assert memoised > 7000 and findings > 1000  # the memo served cases with findings too
    assert screen.shapes < len(cases)  # cases of one shape share a memo


def test_the_screen_agrees_with_evaluation_on_the_boundary_instants(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    """The instants where a verdict changes are where a `>=` written as `>` hides: now equal to
    a deadline or to the start of the yellow warning (the engine's own next check), a
    microsecond before, and a step stopping a clock exactly at an instant where one changes."""
    rng = random.Random(20261204)
    screen = Screen(rules, calendar)
    tick = timedelta(microseconds=1)
    boundaries = stopped_on_one = 0
    for n in range(1200):
        case = random_case(rng, n)
        at = NOW + timedelta(days=rng.choice([0, 1, 3, 7]))
        edge = evaluate(case, rules, calendar, at).next_check_at
        if edge is None:
            continue
        boundaries += 1
        for instant in (edge - tick, edge, edge + tick):
            check_exact(screen, rules, calendar, case, instant)
        last = case.events[-1]
        if edge > last.at and (len(case.events) < 2 or case.events[-2].at < edge):
            # The last step moved to the boundary itself: a clock it stops ends on the instant.
            moved = replace(case, events=(*case.events[:-1], replace(last, at=edge)))
            for instant in (edge, edge + timedelta(days=3)):
                stopped_on_one += check_exact(screen, rules, calendar, moved, instant)
    assert boundaries > 400 and stopped_on_one > 100


def test_the_screen_counts_as_the_engine_across_a_holiday_of_a_year_without_a_notice(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    """春节 2027 comes from the law, with Sunlight's 补假: the memoised evaluation and the
    engine's must still agree case by case."""
    rng = random.Random(20270205)
    now = bj("2027-01-25 10:00")
    assert not calendar.is_workday(bj("2027-02-09 12:00").date())  # the law's 补假
    screen = Screen(rules, calendar)
    for n in range(1000):
        case = random_case(rng, n, now)
        for days in (0, 9, 16, 30):
            check_exact(screen, rules, calendar, case, now + timedelta(days=days, hours=3))


def test_the_screen_evaluates_as_the_engine_on_the_demo_cases(
    rules: RuleSet, calendar: WorkCalendar, tmp_path: Path
) -> None:
    from tests.conftest import demo_cases

    demo = demo_cases(tmp_path, NOW)
    screen = Screen(rules, calendar)
    memoised = 0
    for case in demo:
        for days in (-3, 0, 1, 5, 20):
            memoised += check_exact(screen, rules, calendar, case, NOW + timedelta(days=days))
    assert memoised > len(demo) * 4


def test_cases_of_one_shape_share_one_memo_and_get_their_own_times(
    rules: RuleSet, calendar: WorkCalendar
) -> None:
    screen = Screen(rules, calendar)
    item = ITEMS[0]
    clocks = []
    for n, start in enumerate((bj("2026-11-19 09:00"), bj("2026-10-20 15:30"))):
        steps = [
            ("received", start),
            ("accepted", start + timedelta(hours=2)),
            ("reviewed", start + timedelta(days=1)),
        ]
        events = tuple(Event(i, f"e{n}{i}", f"C{n}", k, t) for i, (k, t) in enumerate(steps))
        case = Case(f"C{n}", item.item_code, item.department, Applicant(), {}, item, events)
        assert check_exact(screen, rules, calendar, case, NOW)
        clocks.append(screen.evaluate(case, NOW))
    assert screen.shapes == 1
    [memo] = screen._memos.values()
    assert memo.answers and memo.matches  # the second case was answered from the first's
    young, old = clocks
    assert not young.findings and {f.level.value for f in old.findings} == {"red"}  # its own times


def test_a_condition_that_fails_on_the_shape_fails_for_each_of_its_cases(
    calendar: WorkCalendar, tmp_path: Path
) -> None:
    """A time-free condition that cannot be applied (a missing attribute) is remembered as
    its error: every case of the shape gets its own data_quality finding, as without a memo."""
    (tmp_path / "fee.yaml").write_text(
        """
ruleset: fee
title: 收费
select: {item_types: [licensing]}
rules:
  - id: fee.waived_without_reason
    title: 减免收费无依据
    kind: check
    category: procedure
    level: yellow
    notify: [department]
    when: case.attributes.fee_waived && !has(case.attributes.waiver_basis)
""",
        encoding="utf-8",
    )
    rules = load_ruleset(tmp_path, ROUTES)
    screen = Screen(rules, calendar)
    for n in range(3):
        case = _timed_case(n, timedelta(hours=1), "received", "accepted")
        assert check_exact(screen, rules, calendar, case, NOW)
        [finding] = screen.evaluate(case, NOW).findings
        assert finding.rule_id == "data_quality.rule_not_applicable"
    assert screen.shapes == 1


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
    "source",
    [
        'events.exists(r, r.kind == "received" && events.exists(e, e.kind == "accepted" && e.at < r.at))',
        "case.first.delivered < case.first.decided",
        '"decided" in case.counts && case.first.decided >= case.first.received',
        "events.exists(e, e.at < now)",
        "case.first.decided < case.first",
    ],
)
def test_conditions_on_steps_times_are_not_decided_by_the_shape(source: str) -> None:
    assert not timeless(source)


def _timed_case(n: int, gap: timedelta, *kinds: str) -> Case:
    item = ITEMS[0]
    at = bj("2026-11-20 09:00")
    events = tuple(Event(i, f"e{n}{i}", f"C{n}", k, at + i * gap) for i, k in enumerate(kinds))
    return Case(f"C{n}", item.item_code, item.department, Applicant(), {}, item, events)


def test_a_check_on_the_order_of_steps_is_asked_for_each_case(calendar: WorkCalendar, tmp_path: Path) -> None:
    """A condition comparing steps' times reads times: never remembered for the shape."""
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
    in_order = _timed_case(1, timedelta(hours=1), "received", "accepted")
    backwards = replace(
        in_order,
        case_id="C2",
        events=tuple(replace(e, at=in_order.events[1 - i].at) for i, e in enumerate(in_order.events)),
    )
    backwards = replace(backwards, events=tuple(sorted(backwards.events, key=lambda e: e.at)))
    assert check_exact(screen, rules, calendar, in_order, NOW)
    assert check_exact(screen, rules, calendar, backwards, NOW)
    assert not screen.evaluate(in_order, NOW).findings
    assert screen.evaluate(backwards, NOW).findings


def test_the_reader_s_rows_evaluate_as_the_cases_built_from_them(
    rules: RuleSet, calendar: WorkCalendar, tmp_path: Path
) -> None:
    """On PostgreSQL a pass reads each case's shape off the reader's rows (their JSON text):
    the same evaluations as from the cases."""
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
            by_rows = Screen(rules, calendar)
            rows_of = reader.load_rows(ids)
            assert rows_of is not None
            for raw in rows_of:
                case = next(iter(reader.load_cases([raw.case_id])))
                for days in (0, 3, 20):
                    at = NOW + timedelta(days=days)
                    built, got = by_rows.evaluate_rows(raw, at)
                    assert built == case
                    assert seen(got) == seen(evaluate(case, rules, calendar, at)), raw.case_id
            assert 0 < by_rows.shapes < 400
        finally:
            h.app.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_pass_leaves_the_same_alerts_and_states_with_the_screen_as_without(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo data through whole passes (first start, then two days later), once as the
    daemon runs and once with the screen keeping no memo: every alert and every case state
    (next check, counted days, fingerprint) the same."""
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
                    select(
                        alerts.c.case_id, alerts.c.rule_id, alerts.c.level, alerts.c.state, alerts.c.message
                    ).order_by(alerts.c.case_id, alerts.c.rule_id)
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
    monkeypatch.setattr(Screen, "_memo", lambda self, case: None)
    monkeypatch.setattr(Screen, "_new_memo", lambda self: None)
    with url_for("evaluated") as url:
        evaluated = run(tmp_path / "evaluated", url)
    assert len(screened[0]) > 50 and len(screened[1]) == 400
    assert screened == evaluated
