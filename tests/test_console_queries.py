"""The console's alert list reads its indexes: newest first, for the office and for one
department, without sorting the table (the plan at 100,000 alerts is in docs/performance.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from monitor.access import Actor
from monitor.console.alerts import visible
from monitor.state.schema import alerts
from tests.conftest import Harness

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _plan(h: Harness, actor: Actor) -> str:
    a = alerts.c
    query = select(alerts).where(visible(actor)).order_by(a.raised_at.desc(), a.id.desc()).limit(50)
    with h.app.state.connect() as conn:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        return " | ".join(str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))


def test_newest_first_reads_the_raised_index(harness: Harness) -> None:
    plan = _plan(harness, Actor("o", "office"))
    assert "ix_alerts_raised" in plan and "TEMP B-TREE" not in plan, plan


def test_a_departments_list_reads_its_index(harness: Harness) -> None:
    plan = _plan(harness, Actor("d", "department", "市税务局"))
    assert "ix_alerts_department_raised" in plan and "TEMP B-TREE" not in plan, plan
