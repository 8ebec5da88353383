"""The 总览: open yellow and red alerts by department and category, today's new ones, and
the alerts raised per day over the last weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, func, select

from alerts.lifecycle import OPEN_STATES
from monitor.access import Actor, ForbiddenError
from monitor.console.alerts import visible
from monitor.state.schema import alerts, supervisions
from monitor.timeutil import local_date, start_of_day

TREND_DAYS = 14


@dataclass(frozen=True, slots=True)
class OpenCount:
    department: str
    category: str
    yellow: int
    red: int


@dataclass(frozen=True, slots=True)
class DayCount:
    day: date
    yellow: int
    red: int


@dataclass(frozen=True, slots=True)
class Overview:
    open_counts: tuple[OpenCount, ...]
    open_yellow: int
    open_red: int
    today_yellow: int
    today_red: int
    trend: tuple[DayCount, ...]
    open_supervisions: int = 0  # 督办 not yet ruled on for good
    overdue_supervisions: int = 0  # of those, past their reply deadline unanswered


def _by_level(conn: Connection, actor: Actor, start: datetime, end: datetime) -> dict[str, int]:
    a = alerts.c
    rows = conn.execute(
        select(a.level, func.count())
        .where(visible(actor), a.raised_at >= start, a.raised_at < end)
        .group_by(a.level)
    )
    return {str(level): int(n) for level, n in rows}


def overview(conn: Connection, actor: Actor, now: datetime, tz: ZoneInfo) -> Overview:
    if not actor.sees_cases:
        raise ForbiddenError("运维人员不能查看预警和办件内容")
    a = alerts.c
    grouped: dict[tuple[str, str], dict[str, int]] = {}
    for department, category, level, n in conn.execute(
        select(a.department, a.category, a.level, func.count())
        .where(visible(actor), a.state.in_(OPEN_STATES))
        .group_by(a.department, a.category, a.level)
    ):
        grouped.setdefault((department, category), {})[level] = int(n)
    counts = tuple(
        OpenCount(d, c, by.get("yellow", 0), by.get("red", 0))
        for (d, c), by in sorted(grouped.items(), key=lambda kv: (-kv[1].get("red", 0), kv[0]))
    )
    today = local_date(now, tz)
    trend = []
    for back in range(TREND_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        by = _by_level(conn, actor, start_of_day(day, tz), start_of_day(day + timedelta(days=1), tz))
        trend.append(DayCount(day, by.get("yellow", 0), by.get("red", 0)))
    return Overview(
        counts,
        sum(c.yellow for c in counts),
        sum(c.red for c in counts),
        trend[-1].yellow,
        trend[-1].red,
        tuple(trend),
        *_supervisions(conn, actor, now),
    )


def _supervisions(conn: Connection, actor: Actor, now: datetime) -> tuple[int, int]:
    """Open 督办 and the overdue among them, of the departments the actor may see."""
    s = supervisions.c
    query = select(func.count(), func.count().filter(s.state == "issued", s.reply_due <= now)).where(
        s.state.in_(("issued", "replied"))
    )
    if actor.role != "office":
        query = query.where(s.department == actor.department)
    opened, overdue = conn.execute(query).one()
    return int(opened), int(overdue)
