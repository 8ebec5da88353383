"""Chinese sentences for findings and explanations, in one place so notices read alike.

Every date in them is written as official documents write it (2026年3月2日24时) and every
figure is one the clock computed: tests/test_messages.py reads the figures back out of the
sentences and compares them with the clock's own result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine.clock import ClockResult
from monitor.model import Level, LimitUnit
from monitor.timeutil import DEFAULT_TZ, days, local_date

_UNITS = {
    LimitUnit.WORKING_DAYS: "个工作日",
    LimitUnit.NATURAL_DAYS: "日",
    LimitUnit.HOURS: "小时",
}


def unit_label(unit: LimitUnit) -> str:
    return _UNITS[unit]


def fmt_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def fmt_instant(at: datetime | None, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """2026年3月2日9时30分 (9时 on the hour)."""
    if at is None:
        return "—"
    local = at.astimezone(tz)
    minutes = f"{local.minute}分" if local.minute else ""
    return f"{fmt_date(local.date())}{local.hour}时{minutes}"


def fmt_deadline(at: datetime | None, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """A deadline that ends at midnight reads as 24时 of its last day, as the law counts."""
    if at is None:
        return "—"
    local = at.astimezone(tz)
    if local.hour == 0 and local.minute == 0 and local.second == 0 and local.microsecond == 0:
        return f"{fmt_date(local.date() - days(1))}24时"
    return fmt_instant(local, tz)


def fmt_amount(value: float) -> str:
    """A count or an amount without a needless decimal: 3, 2.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def fmt_duration(span: timedelta) -> str:
    """38小时, 2小时15分, 25分钟 (whole minutes, rounded down)."""
    minutes = max(0, int(span.total_seconds() // 60))
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest}分钟"
    return f"{hours}小时{rest}分" if rest else f"{hours}小时"


def quoted(names: Sequence[str], joiner: str = "或") -> str:
    """“作出决定”或“不予受理”; “作出决定”“不予受理”或“办结”."""
    unique = [f"“{n}”" for n in dict.fromkeys(names)]
    if len(unique) > 2 and joiner == "或":
        return "".join(unique[:-1]) + "或" + unique[-1]
    return joiner.join(unique)


@dataclass(frozen=True, slots=True)
class ClockStory:
    """What a clock's sentence speaks of, besides the counted result."""

    unit: LimitUnit
    amount: int  # the limit before any extension
    extension: int  # the days of valid extensions, in the clock's unit
    start_name: str
    start_at: datetime
    awaited: str  # the stop steps, quoted and joined: what the case still needs
    stop_name: str | None  # the step that stopped the clock, if it did
    stop_at: datetime | None
    rolls: bool  # natural days whose last day moves to the next working day
    pause_note: str  # a running pause: its reason and start, for the paused sentence


def clock_sentence(
    res: ClockResult, story: ClockStory, now: datetime, cal: WorkCalendar, tz: ZoneInfo
) -> str:
    """Where a clock stands, in one sentence: its start, limit, deadline and state."""
    u = unit_label(story.unit)
    if story.amount == 0 and not story.extension and story.unit is not LimitUnit.HOURS:
        limit = "当日内"  # 当场交付: the day of the start step itself
    else:
        limit = f"{story.amount}{u}"
        if story.extension:
            limit += f"（另经批准延长{story.extension}{u}）"
    head = f"自{story.start_name}（{fmt_instant(story.start_at, tz)}）起{limit}"
    if res.due is None:
        return f"{head}；{story.pause_note}，计时暂停中，此前已用{fmt_amount(res.used)}{u}。"
    due = f"，期限至{fmt_deadline(res.due, tz)}届满{_roll_note(res, story)}"
    note = "（期间含放假安排尚未公布的节假日前后日期，按法定节假日推算，结果暂定）" if res.provisional else ""
    stopped = story.stop_at is not None
    if res.level is Level.RED:
        at = story.stop_at if stopped and story.stop_at is not None else now
        late = overdue_text(res, story.unit, at)
        if stopped:
            done = f"{story.stop_name}于{fmt_instant(story.stop_at, tz)}，已超过期限{late}"
        else:
            done = f"至今没有{story.awaited}的记录，已超过期限{late}"
        return f"{head}{due}；{done}。{note}"
    if res.level is Level.YELLOW:
        left = remaining_text(res, story.unit, now, cal, tz)
        return f"{head}{due}；至今没有{story.awaited}的记录，已用{fmt_amount(res.used)}{u}，{left}。{note}"
    if stopped:
        return (
            f"{head}{due}；{story.stop_name}于{fmt_instant(story.stop_at, tz)}，"
            f"用时{fmt_amount(res.used)}{u}，按时完成。"
        )
    return f"{head}{due}；已用{fmt_amount(res.used)}{u}。{note}"


def _roll_note(res: ClockResult, story: ClockStory) -> str:
    if not story.rolls or not res.skipped_rest_days or res.due_day is None:
        return ""
    last = res.due_day - days(res.skipped_rest_days)
    return f"（期限届满日{fmt_date(last)}为休息日，顺延至{fmt_date(res.due_day)}）"


def overdue_text(res: ClockResult, unit: LimitUnit, at: datetime) -> str:
    """How late `at` is, as the statute counts: whole days past the last day (the day of
    `at` counts once begun), working days for a working-day limit; hours and minutes when
    no working day has passed since the deadline."""
    assert res.due is not None
    if unit is LimitUnit.HOURS:
        return fmt_duration(at - res.due)
    n = int(res.overdue_units)
    if unit is LimitUnit.WORKING_DAYS:
        if n == 0:
            return f"{fmt_duration(at - res.due)}（期限届满后均为休息日，尚未经过工作日）"
        return f"{n}个工作日"
    return f"{n}日"


def remaining_text(res: ClockResult, unit: LimitUnit, now: datetime, cal: WorkCalendar, tz: ZoneInfo) -> str:
    """How much is left of a running clock: 今日24时届满, 除今日外尚余3个工作日…"""
    assert res.due is not None
    if unit is LimitUnit.HOURS:
        return f"尚余{fmt_duration(res.due - now)}"
    assert res.due_day is not None
    today = local_date(now, tz)
    if today == res.due_day:
        return "今日24时届满"
    if unit is LimitUnit.WORKING_DAYS:
        n = cal.working_days_between(today, res.due_day)
        return f"除今日外尚余{n}个工作日" if cal.is_workday(today) else f"尚余{n}个工作日"
    n = (res.due_day - today).days
    return "明日24时届满" if n == 1 else f"除今日外尚余{n}日"
