"""A case whose evaluation fails alone is set aside; the rest of its batch is evaluated and
committed. On SQLite, PostgreSQL and MariaDB.

The poison is an exception raised while the case is evaluated (what `evaluate` itself would
turn into a data_quality finding cannot be one), injected for one case id.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import monitor.daemon.stages as stages
from alerts.history import ChainConflictError
from monitor.config import load_config
from monitor.daemon.setaside import SET_ASIDE_FOR
from monitor.state.schema import case_state
from tests.conftest import Harness, bj, case, event, item, write_config

T0 = bj("2026-11-23 10:00")
ROUTES = {
    "discipline_office": {"recipients": ["jjjc@example.gov.cn"], "levels": ["red"]},
    "department": {"recipients": ["dept@example.gov.cn"], "levels": ["yellow", "red"]},
    "operators": {"recipients": ["ops@example.gov.cn"]},
}
CASES = ["C1", "C2", "C3", "P1", "C4", "C5"]


@pytest.fixture
def h(tmp_path: Path, any_db_url: str) -> Iterator[Harness]:
    harness = Harness(load_config(write_config(tmp_path, any_db_url, notify={"routes": ROUTES}), environ={}))
    records: list[dict[str, Any]] = [item()]
    for cid in CASES:  # accepted 11-03, undecided on 11-23: red, so every one is evaluated in full
        records += [case(cid), event(cid, "accepted", "2026-11-03 09:00")]
    harness.load(*records)
    yield harness
    harness.app.dispose()


class Poison:
    """`evaluate`, failing for the listed cases with `error` (each time, or `times` times)."""

    def __init__(self, error: Exception, *case_ids: str, times: int | None = None) -> None:
        self.real = stages.evaluate
        self.error, self.case_ids, self.times = error, set(case_ids), times
        self.seen: list[str] = []

    def __call__(self, case: Any, *args: Any, **kwargs: Any) -> Any:
        self.seen.append(case.case_id)
        if case.case_id in self.case_ids and (self.times is None or self.times > 0):
            if self.times is not None:
                self.times -= 1
            raise self.error
        return self.real(case, *args, **kwargs)


def next_checks(h: Harness) -> dict[str, Any]:
    with h.app.state.connect() as conn:
        return dict(conn.execute(select(case_state.c.case_id, case_state.c.next_check_at)).all())


def test_a_poison_case_in_a_batch_is_set_aside_and_the_others_evaluated(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    poison = Poison(RuntimeError("cannot render the timeline"), "P1")
    monkeypatch.setattr(stages, "evaluate", poison)
    result = h.poll(T0)  # no exception: the pass goes on
    assert result.cases_evaluated == 5
    assert sorted(a.case_id for a in h.alerts()) == ["C1", "C2", "C3", "C4", "C5"]
    checks = next_checks(h)
    assert checks["P1"] == T0 + SET_ASIDE_FOR
    assert all(checks[c] > T0 for c in CASES)
    assert h.app.metrics.registry.get_sample_value("sunlight_cases_set_aside_total") == 1
    ops = [n for n in h.notices() if n.kind == "operations"]
    assert len(ops) == 1 and ops[0].recipient == "ops@example.gov.cn"
    assert "P1" in ops[0].body_text and "RuntimeError: cannot render the timeline" in ops[0].body_text
    assert len([n for n in h.notices() if n.kind == "raised"]) == 10  # the others' notices, queued

    poison.seen.clear()
    h.poll(T0 + SET_ASIDE_FOR - timedelta(minutes=1))
    assert "P1" not in poison.seen  # not at the head of the queue any more
    again = h.poll(T0 + SET_ASIDE_FOR)  # still failing: set aside again, one notice only
    assert again.cases_evaluated == 0
    assert next_checks(h)["P1"] == T0 + 2 * SET_ASIDE_FOR
    assert len([n for n in h.notices() if n.kind == "operations"]) == 1

    monkeypatch.setattr(stages, "evaluate", poison.real)  # the record is fixed
    fixed = h.poll(T0 + 2 * SET_ASIDE_FOR)
    assert fixed.cases_evaluated == 1
    assert "P1" in {a.case_id for a in h.alerts()}


def test_two_poison_cases_are_both_set_aside(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stages, "evaluate", Poison(ValueError("bad"), "C2", "P1"))
    result = h.poll(T0)
    assert result.cases_evaluated == 4
    checks = next_checks(h)
    assert checks["C2"] == checks["P1"] == T0 + SET_ASIDE_FOR
    assert h.app.metrics.registry.get_sample_value("sunlight_cases_set_aside_total") == 2


def test_a_fault_every_case_meets_fails_the_pass_and_sets_nothing_aside(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stages, "evaluate", Poison(RuntimeError("the code is broken"), *CASES))
    with pytest.raises(RuntimeError, match="the code is broken"):
        h.poll(T0)
    assert all(at <= T0 for at in next_checks(h).values())  # all still due, none pushed back
    assert not h.alerts() and not h.notices()
    assert not h.app.metrics.registry.get_sample_value("sunlight_cases_set_aside_total")


def test_a_conflict_keeps_its_retry_of_the_whole_batch(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stages, "evaluate", Poison(ChainConflictError("moved"), "P1", times=1))
    result = h.poll(T0)
    assert result.cases_evaluated == 6
    assert sorted(a.case_id for a in h.alerts()) == sorted(CASES)
    assert not h.app.metrics.registry.get_sample_value("sunlight_cases_set_aside_total")
    assert not [n for n in h.notices() if n.kind == "operations"]
