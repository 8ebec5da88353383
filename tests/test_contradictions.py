"""Records that contradict themselves, through the whole pipeline on SQLite and PostgreSQL.

A step out of the flow chart's order is one data-quality finding naming the steps and their
times; no red rests on it, and a step timed in the future is judged once its time has come.
(PostgreSQL screens cases from the reader's rows: the screen must agree.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import load_config
from tests.conftest import Harness, bj, case, event, item, scratch_database, write_config


@pytest.fixture(params=["sqlite", "postgres"])
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sunlight.db'}"
        harness = Harness(load_config(write_config(tmp_path, url), environ={}))
        yield harness
        harness.app.dispose()
        return
    with scratch_database("postgres") as url:
        harness = Harness(load_config(write_config(tmp_path, url), environ={}))
        yield harness
        harness.app.dispose()


EXEMPT = {"disclosure_exempt": True, "disclosure_exempt_reason": "涉及个人隐私"}
PENALTY = {"procedure": "general", "party_type": "person", "fine_amount": 5000}


def _records() -> list[dict[str, object]]:
    return [
        item(),
        item("CF-1", item_type="penalty", promised=None, legal=90, unit="natural_days"),
        # D1: decided before it was accepted.
        case("D1", **EXEMPT),
        event("D1", "received", "2026-11-02 09:00"),
        event("D1", "decided", "2026-11-03 10:00", result="approved"),
        event("D1", "accepted", "2026-11-05 09:00"),
        event("D1", "delivered", "2026-11-06 09:00"),
        # D2: decided before it was received.
        case("D2", **EXEMPT),
        event("D2", "decided", "2026-11-03 10:00", result="approved"),
        event("D2", "received", "2026-11-05 09:00"),
        event("D2", "accepted", "2026-11-05 10:00"),
        event("D2", "delivered", "2026-11-06 09:00"),
        # S1: delivered before the decision; S2: published before it.
        case("S1", **EXEMPT),
        event("S1", "received", "2026-11-02 09:00"),
        event("S1", "accepted", "2026-11-02 10:00"),
        event("S1", "delivered", "2026-11-06 09:00"),
        event("S1", "decided", "2026-11-09 10:00", result="approved"),
        case("S2"),
        event("S2", "received", "2026-11-02 09:00"),
        event("S2", "accepted", "2026-11-02 10:00"),
        event("S2", "disclosed", "2026-11-06 09:00", what="decision"),
        event("S2", "decided", "2026-11-09 10:00", result="approved"),
        event("S2", "delivered", "2026-11-10 09:00"),
        # F1: a decision timed in the future (the promise, 11-09, has passed).
        case("F1", **EXEMPT),
        event("F1", "received", "2026-11-02 09:00"),
        event("F1", "accepted", "2026-11-02 10:00"),
        event("F1", "decided", "2026-11-25 10:00", result="approved"),
        # P1: a penalty filed after its decision.
        case("P1", "CF-1", **PENALTY),
        event("P1", "investigated", "2026-11-04 10:00", "李明", "王强"),
        event("P1", "pre_decision_notice", "2026-11-10 10:00", hearing_right=False),
        event("P1", "statement_heard", "2026-11-12 10:00"),
        event("P1", "decided", "2026-11-16 10:00", fine_amount=5000),
        event("P1", "filed", "2026-11-17 09:00", "李明"),
        event("P1", "delivered", "2026-11-17 10:00"),
        event("P1", "disclosed", "2026-11-18 10:00", what="decision"),
        # Q1: every step at one instant, listed backwards: in order (即办件).
        case("Q1", **EXEMPT),
        event("Q1", "delivered", "2026-11-02 09:00"),
        event("Q1", "decided", "2026-11-02 09:00", result="approved"),
        event("Q1", "accepted", "2026-11-02 09:00"),
        event("Q1", "received", "2026-11-02 09:00"),
    ]


def test_contradictory_records_are_one_data_quality_finding_and_never_a_red(h: Harness) -> None:
    h.load(*_records())
    h.poll(bj("2026-11-20 10:00"))
    got = sorted((a.case_id, a.rule_id, a.level) for a in h.alerts())
    assert got == [
        ("D1", "data_quality.step_order", "yellow"),
        ("D2", "data_quality.step_order", "yellow"),
        ("F1", "data_quality.future_event", "yellow"),
        ("P1", "data_quality.step_order", "yellow"),
        ("S1", "data_quality.step_order", "yellow"),
        ("S2", "data_quality.step_order", "yellow"),
    ]
    said = {a.case_id: a.message for a in h.alerts()}
    assert "“作出决定”（2026年11月3日10时）早于“受理”（2026年11月5日9时）" in said["D1"]
    assert "“作出决定”（2026年11月3日10时）早于“收件”（2026年11月5日9时）" in said["D2"]
    assert "“送达”（2026年11月6日9时）早于“作出决定”（2026年11月9日10时）" in said["S1"]
    assert "“决定公示”（2026年11月6日9时）早于“作出决定”（2026年11月9日10时）" in said["S2"]
    assert "“作出决定”（2026年11月16日10时）早于“立案”（2026年11月17日9时）" in said["P1"]
    # A data-quality finding goes to the department that keeps the records, not to the office.
    routes = {n.route for n in h.notices()}
    assert routes == {"department"}


def test_a_step_timed_in_the_future_is_judged_once_its_time_has_come(h: Harness) -> None:
    h.load(*_records())
    h.poll(bj("2026-11-20 10:00"))
    # The decision's time arrives: the record is consistent now, and the decision came 12
    # working days after the promise ran out (11-09 24:00 → 11-25: 11-10 … 11-25).
    h.poll(bj("2026-11-25 10:05"))
    f1 = {a.rule_id: a for a in h.alerts() if a.case_id == "F1"}
    assert f1["data_quality.future_event"].state == "resolved"
    red = f1["licensing.decide_within_promise"]
    assert (red.level, red.state) == ("red", "open")
    assert "作出决定于2026年11月25日10时，已超过期限12个工作日" in red.message
