"""When a channel may speak: its quiet hours (`notify.quiet_hours`).

By default SMS is quiet from 22:00 to 07:00 — for reds too, unless the channel's `red: true`
lets a red through at night. A channel with `rest_days: true` is quiet all day on a rest day
(a weekend or holiday by the working calendar) and speaks again at `end` of the next working
day: a reminder that falls due on a holiday goes on the next working day. A notice claimed
in quiet hours is handed back due at the end of them (`alerts.sender`), so every kind of
notice (a first notice, a reminder, a ladder rung, a digest) keeps the same hours.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.notifyconfig import NotifyConfig, QuietHours


def level_of(row: Any) -> str:
    """The level a notice is about, from its context ("" when it has none)."""
    if not row.context:
        return ""
    try:
        return str(json.loads(row.context).get("level", ""))
    except (ValueError, AttributeError):
        return ""


def _quiet_at(q: QuietHours, t: dt.time) -> bool:
    if q.start == q.end:
        return False
    if q.start < q.end:
        return q.start <= t < q.end
    return t >= q.start or t < q.end  # across midnight


def quiet_until(
    cfg: NotifyConfig,
    channel: str,
    level: str,
    now: dt.datetime,
    tz: ZoneInfo,
    calendar: WorkCalendar | None = None,
) -> dt.datetime | None:
    """None when `channel` may speak at `now`; else the instant its quiet hours end."""
    q = cfg.quiet_hours.get(channel)
    if q is None or (level == "red" and q.red):
        return None
    local = now.astimezone(tz)
    day, t = local.date(), local.time()
    if q.rest_days and calendar is not None and not calendar.is_workday(day):
        nxt = calendar.add_working_days(day, 1)
        return dt.datetime.combine(nxt, q.end, tzinfo=tz)
    if not _quiet_at(q, t):
        return None
    end_day = day if (q.start < q.end or t < q.end) else day + dt.timedelta(days=1)
    end = dt.datetime.combine(end_day, q.end, tzinfo=tz)
    if q.rest_days and calendar is not None and not calendar.is_workday(end_day):
        end = dt.datetime.combine(calendar.add_working_days(end_day, 1), q.end, tzinfo=tz)
    return end
