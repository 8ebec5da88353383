"""Chinese sentences for findings and explanations, in one place so notices read alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.engine.clock import ClockResult
from monitor.model import Level, LimitUnit
from monitor.timeutil import DEFAULT_TZ

_UNITS = {
    LimitUnit.WORKING_DAYS: "个工作日",
    LimitUnit.NATURAL_DAYS: "日",
    LimitUnit.HOURS: "小时",
}


def unit_label(unit: LimitUnit) -> str:
    return _UNITS[unit]


def fmt_instant(at: datetime | None, tz: ZoneInfo = DEFAULT_TZ) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at else "—"


def fmt_deadline(at: datetime | None, tz: ZoneInfo = DEFAULT_TZ) -> str:
    """A deadline that ends at midnight reads as 24:00 of its last day, as the law counts."""
    if at is None:
        return "—"
    local = at.astimezone(tz)
    if local.hour == 0 and local.minute == 0 and local.second == 0 and local.microsecond == 0:
        return f"{(local - timedelta(days=1)):%Y-%m-%d} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def deadline_message(title: str, res: ClockResult, unit: LimitUnit, stopped: bool, tz: ZoneInfo) -> str:
    """The sentence for a clock: where it stands and, if late, by how much."""
    u = unit_label(unit)
    if res.due is None:
        return f"{title}：计时暂停中（已用{_amount(res.used)}{u}，时限{res.limit}{u}）。"
    due = _due_text(res, unit, tz)
    note = "（期间含放假安排尚未公布的节假日前后日期，按法定节假日推算，结果暂定）" if res.provisional else ""
    if res.level is Level.RED:
        late = f"超期{_amount(res.overdue_units)}{u}"
        verb = "已办结但" if stopped else "至今未完成，"
        return f"{title}：时限{res.limit}{u}，应于{due}前完成，{verb}{late}。{note}"
    if res.level is Level.YELLOW:
        left = max(res.limit - res.used, 0)
        used = _amount(res.used)
        return (
            f"{title}：时限{res.limit}{u}，已用{used}{u}，将于{due}到期（剩余约{_amount(left)}{u}）。{note}"
        )
    if stopped:
        return f"{title}：时限{res.limit}{u}，用时{_amount(res.used)}{u}，按时完成。"
    return f"{title}：时限{res.limit}{u}，已用{_amount(res.used)}{u}，{due}到期。{note}"


def _due_text(res: ClockResult, unit: LimitUnit, tz: ZoneInfo) -> str:
    return fmt_deadline(res.due, tz)
