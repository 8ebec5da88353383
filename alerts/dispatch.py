"""One unit of notice work: due digests, reminders and the alerts of unanswered 督办 are
queued, then the outbox drained."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerts.digest import build_digests
from alerts.notify.base import Notifier
from alerts.reminders import send_reminders
from alerts.sender import DrainResult, drain
from alerts.supervision.loop import raise_overdue
from alerts.supervision.model import Settings
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
    console_url: str | None = None,
) -> DrainResult:
    """Digests, reminders and overdue 督办 queued, then one batch sent; `console_url`
    (web.base_url): the overdue alert's notices link to the console's case page."""
    build_digests(engine, cfg, now, tz)
    send_reminders(engine, cfg, calendar, now, tz)
    # With the reminders, as often as the sender runs: a 督办's deadline is an instant, and
    # its alert should go out in the same send.
    raise_overdue(engine, Settings(calendar, tz, cfg, console_url=console_url), now)
    return drain(engine, notifier, cfg, now, limit=limit)


def deliver_all(
    engine: Engine,
    notifier: Notifier,
    cfg: NotifyConfig,
    calendar: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
    *,
    batch: int = 100,
    limit: int = 10_000,
    console_url: str | None = None,
) -> DrainResult:
    """`deliver`, then batch after batch while the last one got somewhere (sent or gave up),
    up to `limit` notices tried: for `run --once`, with one batch of built messages in memory
    at a time however long the queue a first start leaves. A batch that only has to retry
    (the server is down) ends it: the rest would wait for the same server."""
    last = total = deliver(
        engine, notifier, cfg, calendar, now, tz, limit=min(batch, limit), console_url=console_url
    )
    while (last.sent or last.failed) and _tried(total) < limit:
        last = drain(engine, notifier, cfg, now, limit=min(batch, limit - _tried(total)))
        total = DrainResult(
            total.sent + last.sent,
            total.failed + last.failed,
            total.retrying + last.retrying,
            total.lapsed + last.lapsed,
            total.set_aside + last.set_aside,
        )
    return total


def _tried(result: DrainResult) -> int:
    return result.sent + result.failed + result.retrying
