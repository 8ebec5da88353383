"""One unit of notice work: due digests and reminders are queued, then the outbox drained."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerts.digest import build_digests
from alerts.notify.base import Notifier
from alerts.reminders import send_reminders
from alerts.sender import DrainResult, drain
from monitor.calendar import WorkCalendar
from monitor.config import NotifyConfig


def deliver(
    engine: Engine,
    notifier: Notifier,
    cfg: NotifyConfig,
    calendar: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
    *,
    limit: int = 100,
) -> DrainResult:
    build_digests(engine, cfg, now, tz)
    send_reminders(engine, cfg, calendar, now, tz)
    return drain(engine, notifier, cfg, now, limit=limit)
