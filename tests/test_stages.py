"""The stages of a batch (monitor.daemon.stages), each run alone on the rows the stage before
it would hand on."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import timedelta

import pytest

from alerts import history
from monitor.daemon.outcomes import limit_share, outcome
from monitor.daemon.stages import Context, evaluate_cases, reconcile_alerts, state_row
from monitor.engine.screen import Screen
from monitor.state import store
from tests.conftest import Harness, bj, case, event, item

NOW = bj("2026-11-24 10:00")


def _context(h: Harness) -> Context:
    rules, calendar = h.pipeline.rules(), h.pipeline.calendar()
    return Context.of(h.config, rules, calendar, "d" * 32, NOW)


def _quiet_case(h: Harness) -> None:
    h.load(
        item(),
        case("C1"),
        event("C1", "received", "2026-11-23 09:00"),
        event("C1", "accepted", "2026-11-23 09:30"),
    )


def test_the_context_is_frozen_and_its_floor_is_after_now(harness: Harness) -> None:
    ctx = _context(harness)
    assert ctx.floor > ctx.now
    with pytest.raises(FrozenInstanceError):
        ctx.now = NOW + timedelta(days=1)  # type: ignore[misc]


def test_a_quiet_case_becomes_its_state_row(harness: Harness) -> None:
    _quiet_case(harness)
    ctx = _context(harness)
    screen = Screen(ctx.rules, ctx.calendar, ctx.tz)
    out = evaluate_cases(ctx, screen, harness.pipeline.reader.load_rows(["C1"]))
    [judged] = out.judged
    assert judged.evaluation.findings == () and judged.fingerprint == store.QUIET
    row = state_row(ctx, judged)
    assert (row.case_id, row.open, row.fingerprint, row.ruleset_digest) == ("C1", True, store.QUIET, "d" * 32)
    assert row.next_check_at is not None and row.next_check_at >= ctx.floor
    assert row.clock_from == bj("2026-11-23 09:00")
    assert screen.shapes == 1  # evaluated through the memo of its shape
    with harness.app.state.begin() as conn:
        # It has no alert rows: nothing to reconcile, and no statement is needed for it.
        assert reconcile_alerts(conn, ctx, out.judged, {"C1": "a" * 32}, history.Journal()) == {}


def test_a_closed_case_state_row_says_how_it_ended(harness: Harness) -> None:
    harness.load(
        item(),
        case("C1"),
        event("C1", "received", "2026-11-02 09:00"),
        event("C1", "accepted", "2026-11-02 09:30"),
        event("C1", "decided", "2026-11-03 09:00"),
        event("C1", "closed", "2026-11-03 10:00"),
    )
    ctx = _context(harness)
    screen = Screen(ctx.rules, ctx.calendar, ctx.tz)
    out = evaluate_cases(ctx, screen, harness.pipeline.reader.load_rows(["C1"]))
    [judged] = out.judged
    row = state_row(ctx, judged)
    assert (row.open, row.closed_at) == (False, bj("2026-11-03 10:00"))
    assert row.outcome is not None and row.outcome == outcome(judged.case, judged.evaluation)
    assert row.limit_share == limit_share(judged.case, judged.evaluation)
