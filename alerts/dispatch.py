"""One unit of notice work: due digests, reminders, the alerts of unanswered 督办 and the
escalation ladder's due rungs are queued, then the outbox drained."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerts.digest import build_digests
from alerts.flood import collapse_floods
from alerts.ladder import Reach, climb, nobody
from alerts.notify.base import Notifier
from alerts.outlets import Outlets
from alerts.reminders import send_reminders
from alerts.sender import DrainResult, drain
from alerts.supervision.loop import raise_overdue
from alerts.supervision.model import Settings
from monitor.calendar import WorkCalendar
from monitor.config import NotifyConfig


def deliver(
    engine: Engine,
    notifier: Notifier | Outlets,
    cfg: NotifyConfig,
    calendar: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
    *,
    limit: int = 100,
    console_url: str | None = None,
    reach: Reach = nobody,
    skip_email: bool = False,
) -> DrainResult:
    """Digests, reminders, overdue 督办 and due ladder rungs queued, then one batch sent;
    `console_url` (web.base_url): the overdue alert's notices link to the console's case
    page; `reach`: who holds a role (monitor.people), for the ladder; `skip_email`: send
    only the other channels (the daemon, while it waits for the mail server)."""
    build_digests(engine, cfg, now, tz)
    send_reminders(engine, cfg, calendar, now, tz)
    # With the reminders, as often as the sender runs: a 督办's deadline is an instant, and
    # its alert should go out in the same send.
    raise_overdue(engine, Settings(calendar, tz, cfg, console_url=console_url), now)
    climb(engine, cfg, calendar, now, tz, reach, console_url=console_url)
    # Once a send, after everything that queues: the batches after it send what it left.
    collapse_floods(engine, cfg, now)
    return drain(engine, notifier, cfg, now, limit=limit, tz=tz, calendar=calendar, skip_email=skip_email)


def deliver_all(
    engine: Engine,
    notifier: Notifier | Outlets,
    cfg: NotifyConfig,
    calendar: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
    *,
    batch: int = 100,
    limit: int = 10_000,
    console_url: str | None = None,
    reach: Reach = nobody,
) -> DrainResult:
    """`deliver`, then batch after batch while the last one got somewhere (sent or gave up),
    up to `limit` notices tried: for `run --once`, with one batch of built messages in memory
    at a time however long the queue a first start leaves. A batch that only has to retry
    (the server is down) ends it: the rest would wait for the same server."""
    last = total = deliver(
        engine,
        notifier,
        cfg,
        calendar,
        now,
        tz,
        limit=min(batch, limit),
        console_url=console_url,
        reach=reach,
    )
    while (last.sent or last.failed) and _tried(total) < limit:
        last = drain(
            engine, notifier, cfg, now, limit=min(batch, limit - _tried(total)), tz=tz, calendar=calendar
        )
        total = _sum(total, last)
    return total


def _sum(a: DrainResult, b: DrainResult) -> DrainResult:
    counts: Counter[tuple[str, str]] = Counter()
    for channel, outcome, n in a.by_channel + b.by_channel:
        counts[(channel, outcome)] += n
    return DrainResult(
        a.sent + b.sent,
        a.failed + b.failed,
        a.retrying + b.retrying,
        a.lapsed + b.lapsed,
        a.set_aside + b.set_aside,
        tuple(sorted((c, o, n) for (c, o), n in counts.items())),
    )


def _tried(result: DrainResult) -> int:
    return result.sent + result.failed + result.retrying
