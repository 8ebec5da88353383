"""What the 督办 tests share: an alert to supervise, the actors, the settings."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Engine, select

from alerts.supervision import Settings, settings_for
from monitor.access import Actor
from monitor.calendar import WorkCalendar, load_calendar
from monitor.state.schema import alerts
from tests.conftest import RULES, Harness, bj, case, event, item

OFFICE = Actor("王监察", "office")
DEPT = Actor("李科员", "department", "市市场监督管理局")
OTHER = Actor("赵科员", "department", "市公安局")
OPERATOR = Actor("运维小张", "operator")
RAISED_AT = bj("2026-11-13 10:00")


def settings_of(h: Harness, max_reply_days: int = 30) -> Settings:
    return settings_for(h.config, max_reply_days=max_reply_days, calendar=_calendar())


@cache
def _calendar() -> WorkCalendar:
    return load_calendar(RULES / "calendar")


def red_alert(
    h: Harness, case_id: str = "OPEN1", now: datetime = RAISED_AT, accepted: str = "2026-11-02 09:00"
) -> int:
    """An open red on one case: the promise of 5 working days from `accepted` has passed."""
    h.load(item(), case(case_id), event(case_id, "accepted", accepted))
    h.poll(now)
    with h.app.state.connect() as conn:
        row = conn.execute(select(alerts).where(alerts.c.case_id == case_id, alerts.c.level == "red")).one()
    return int(row.id)


def alert(engine: Engine, alert_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(alerts).where(alerts.c.id == alert_id)).one()
