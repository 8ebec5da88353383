"""Time helpers. Every instant inside Sunlight is timezone-aware; days are local days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")
# Day counts as timedeltas, made once: `timedelta(days=n)` parses its keywords on every call,
# and the deadline arithmetic of a first start makes millions of them.
_DAYS = tuple(timedelta(days=i) for i in range(4096))


def days(n: int) -> timedelta:
    """`timedelta(days=n)`, from a table for the counts time limits use."""
    if 0 <= n < 4096:
        return _DAYS[n]
    return timedelta(days=n)


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_instant(text: str, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """Parse ISO 8601; a value without an offset is read in the deployment's time zone."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def local_date(at: datetime, tz: ZoneInfo = DEFAULT_TZ) -> date:
    return at.astimezone(tz).date()


def start_of_day(day: date, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def end_of_day(day: date, tz: ZoneInfo = DEFAULT_TZ) -> datetime:
    """24:00 of `day`, i.e. the first instant of the next day: a day-based deadline's end."""
    return start_of_day(day + _DAYS[1], tz)


def to_utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()} where an aware one is required")
    return at.astimezone(UTC)
