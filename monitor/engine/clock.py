"""The statutory clock: one machinery for every time rule.

A clock starts at an instant, may be paused (行政许可法 art. 45 special procedures, waiting for
corrected documents) and extended (art. 42), and stops at an instant. Day-based limits do not
count the start day (民法典 art. 201) and end at 24:00 Beijing time on their last day; a
natural-day limit whose last day is a rest day may roll over to the next working day (art.
203). The clock also says when its level will next change, so the poller can leave the case
alone until then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import cache, lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.model import Level, LimitUnit
from monitor.timeutil import DEFAULT_TZ, days, end_of_day, local_date, start_of_day, to_utc


@dataclass(frozen=True, slots=True)
class Pause:
    start: datetime
    end: datetime | None  # None while the pause is still running
    reason: str


# The clock's own value types are named tuples, not frozen dataclasses: every evaluation
# builds three to seven of them, and a tuple is built in one step where a frozen dataclass
# sets its fields one `object.__setattr__` at a time (a third of the count's own cost).
class ClockSpec(NamedTuple):
    amount: int
    unit: LimitUnit
    roll_over_holidays: bool = False
    yellow_share: float | None = None  # yellow once this share of the limit is used
    yellow_left: int | None = None  # yellow once at most this many units are left (today counts)


class ClockResult(NamedTuple):
    due: datetime | None  # None while paused with no end in sight
    due_day: date | None
    yellow_at: datetime | None
    level: Level | None
    next_change: datetime | None
    used: float  # units counted up to now (or to the stop)
    limit: int  # the limit with any extension
    paused_units: int
    skipped_rest_days: int
    provisional: bool
    overdue_units: float  # how far past the deadline, in the clock's unit (0 when not late)


def run_clock(
    spec: ClockSpec,
    start: datetime,
    stop: datetime | None,
    pauses: tuple[Pause, ...],
    extension: int,
    calendar: WorkCalendar,
    now: datetime,
    tz: ZoneInfo = DEFAULT_TZ,
) -> ClockResult:
    """Run one clock from `start` as of `now`. Pure: same inputs, same answer.

    Instants must be timezone-aware (a naive one raises ValueError); the instants returned are
    in `tz`."""
    limit = spec.amount + extension
    if not pauses and spec.unit is not LimitUnit.HOURS:
        return _run_plain(spec, limit, to_utc(start), stop and to_utc(stop), calendar, to_utc(now), tz)
    # Work on UTC instants: datetimes that share a tzinfo compare and subtract by wall time,
    # which is wrong across a DST change, and a naive one would be read in the server's zone.
    start, now = to_utc(start), to_utc(now)
    stop = to_utc(stop) if stop is not None else None
    spans = _normalize_pauses(pauses, start)
    if spec.unit is LimitUnit.HOURS:
        result = _run_hours(spec, limit, start, stop, spans, now)
    else:
        result = _run_days(spec, limit, start, stop, spans, calendar, now, tz)

    r = result
    # Built directly: dataclasses.replace costs more than the whole count.
    return ClockResult(
        r.due.astimezone(tz) if r.due is not None else None,
        r.due_day,
        r.yellow_at.astimezone(tz) if r.yellow_at is not None else None,
        r.level,
        r.next_change.astimezone(tz) if r.next_change is not None else None,
        r.used,
        r.limit,
        r.paused_units,
        r.skipped_rest_days,
        r.provisional,
        r.overdue_units,
    )


def _normalize_pauses(pauses: tuple[Pause, ...], start: datetime) -> list[Pause]:
    """The pauses in UTC, in order, clipped to the clock's start and merged where they overlap,
    so that no stretch of time is excluded twice."""
    out: list[Pause] = []
    for pause in sorted(pauses, key=lambda p: to_utc(p.start)):
        begin = max(to_utc(pause.start), start)
        end = None if pause.end is None else max(to_utc(pause.end), begin)
        last = out[-1] if out else None
        if last is not None and (last.end is None or begin <= last.end):
            if last.end is not None:
                merged = None if end is None else max(end, last.end)
                out[-1] = Pause(last.start, merged, last.reason)
            continue
        out.append(Pause(begin, end, pause.reason))
    return out


def _level(
    due: datetime, yellow_at: datetime | None, stop: datetime | None, now: datetime
) -> tuple[Level | None, datetime | None]:
    """The level now and the next instant it can change (None when it cannot)."""
    end = stop if stop is not None and stop <= now else None
    at = end if end is not None else now
    if at >= due:
        return Level.RED, None
    if end is not None:
        return None, None  # finished in time: nothing can change any more
    if yellow_at is not None and now >= yellow_at:
        return Level.YELLOW, due
    return None, yellow_at if yellow_at is not None and yellow_at < due else due


def _run_days(
    spec: ClockSpec,
    limit: int,
    start: datetime,
    stop: datetime | None,
    pauses: list[Pause],
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> ClockResult:
    working = spec.unit is LimitUnit.WORKING_DAYS
    rolls = not working and spec.roll_over_holidays
    start_day = local_date(start, tz)

    def add(day: date, n: int) -> date:
        return cal.add_working_days(day, n) if working else day + days(n)

    def between(a: date, b: date) -> int:
        return cal.working_days_between(a, b) if working else (b - a).days

    def roll(day: date) -> date:
        return cal.next_workday(day) if rolls else day

    def provisional(last_counted: date, due: date) -> bool:
        # Whether a notice not yet published may move a day the count looked at: every day
        # after the start for working days, the days the roll-over stepped through for natural
        # days (a natural-day count without roll-over never asks the calendar).
        if working:
            return cal.provisional_between(start_day, due)
        return rolls and cal.provisional_between(last_counted - days(1), due)

    due_day = add(start_day, limit)
    paused_units = 0
    for pause in pauses:
        # The deadline a pause must beat is the rolled-over one (民法典 art. 203).
        if pause.start >= end_of_day(roll(due_day), tz):
            break  # a pause that starts after the deadline cannot save it
        pause_day = local_date(pause.start, tz)
        if pause.end is None:
            # The clock stands still; only a resume (or a new event) can move it again.
            used = float(max(0, between(start_day, min(pause_day, due_day)) - paused_units))
            return ClockResult(
                None,
                None,
                None,
                None,
                None,
                used,
                limit,
                paused_units,
                0,
                provisional(due_day, roll(due_day)),
                0.0,
            )
        resume_day = local_date(pause.end, tz)
        skipped = max(0, between(pause_day, resume_day))
        paused_units += skipped
        due_day = add(due_day, skipped)
    last_counted_day = due_day
    due_day = roll(due_day)
    due = end_of_day(due_day, tz)

    yellow_at = None
    left = _yellow_left(spec, limit)
    if left is not None and limit > 0:
        if working:
            yellow_day = cal.working_days_before(due_day, left - 1) if left > 0 else due_day
        else:
            yellow_day = due_day - days(max(left - 1, 0))
        yellow_at = max(start_of_day(yellow_day, tz), start)

    level, next_change = _level(due, yellow_at, stop, now)
    at = min(now, stop) if stop is not None else now
    at_day = local_date(at, tz)
    used = float(max(0, between(start_day, at_day) - paused_units))
    # Whole days past the last day, the day of `at` counting once begun: working days for a
    # working-day limit, so a deadline passed over a weekend is 0 days late until Monday (the
    # sentence then says how many hours, monitor.engine.messages.overdue_text).
    overdue = float(max(0, between(due_day, at_day))) if level is Level.RED else 0.0
    if working:
        # Paused working days are working days: they are not among the rest days.
        rest = (due_day - start_day).days - cal.working_days_between(start_day, due_day)
    else:
        rest = (due_day - last_counted_day).days  # the rest days the roll-over stepped over
    return ClockResult(
        due,
        due_day,
        yellow_at,
        level,
        next_change,
        used,
        limit,
        paused_units,
        max(0, rest),
        provisional(last_counted_day, due_day),
        overdue,
    )


class _Span(NamedTuple):
    """What a day-based clock without pauses owes to its start day alone."""

    start_day: date
    due_day: date
    due: datetime  # in `tz`
    yellow_from: datetime | None  # the start of the yellow day, before the start clips it
    rest: int
    provisional: bool


@lru_cache(maxsize=65_536)
def _span(spec: ClockSpec, limit: int, start_day: date, cal: WorkCalendar, tz: ZoneInfo) -> _Span:
    """`_run_days`'s count for a clock without pauses, from the start day: cases that start
    on one day share it (a first start asks for a few hundred days, not a million)."""
    working = spec.unit is LimitUnit.WORKING_DAYS
    rolls = not working and spec.roll_over_holidays
    last_counted = cal.add_working_days(start_day, limit) if working else start_day + days(limit)
    due_day = cal.next_workday(last_counted) if rolls else last_counted
    yellow_from = None
    left = _yellow_left(spec, limit)
    if left is not None and limit > 0:
        if working:
            yellow_day = cal.working_days_before(due_day, left - 1) if left > 0 else due_day
        else:
            yellow_day = due_day - days(max(left - 1, 0))
        yellow_from = start_of_day(yellow_day, tz)
    if working:
        rest = (due_day - start_day).days - cal.working_days_between(start_day, due_day)
        provisional = cal.provisional_between(start_day, due_day)
    else:
        rest = (due_day - last_counted).days
        provisional = rolls and cal.provisional_between(last_counted - days(1), due_day)
    return _Span(start_day, due_day, end_of_day(due_day, tz), yellow_from, max(0, rest), provisional)


def _run_plain(
    spec: ClockSpec,
    limit: int,
    start: datetime,
    stop: datetime | None,
    cal: WorkCalendar,
    now: datetime,
    tz: ZoneInfo,
) -> ClockResult:
    """`_run_days` for a clock without pauses (most clocks), on the start day's `_span`;
    tests/test_clock.py holds the two to the same answers."""
    span = _span(spec, limit, local_date(start, tz), cal, tz)
    due = span.due
    yellow_at = None if span.yellow_from is None else max(span.yellow_from, start).astimezone(tz)
    level, next_change = _level(due, yellow_at, stop, now)
    at = min(now, stop) if stop is not None else now
    at_day = local_date(at, tz)
    working = spec.unit is LimitUnit.WORKING_DAYS
    between = cal.working_days_between if working else _natural_between
    used = float(max(0, between(span.start_day, at_day)))
    overdue = float(max(0, between(span.due_day, at_day))) if level is Level.RED else 0.0
    return ClockResult(
        due,
        span.due_day,
        yellow_at,
        level,
        next_change.astimezone(tz) if next_change is not None else None,
        used,
        limit,
        0,
        span.rest,
        span.provisional,
        overdue,
    )


def _natural_between(a: date, b: date) -> int:
    return (b - a).days


def _yellow_left(spec: ClockSpec, limit: int) -> int | None:
    """How many units left (today included) turn the clock yellow."""
    if spec.yellow_left is not None:
        return spec.yellow_left
    if spec.yellow_share is not None:
        # The share as the decimal the rule author wrote: in floats 0.14 * 50 is
        # 7.000000000000001, whose ceiling would turn the clock yellow a day late.
        return _left_for_share(spec.yellow_share, limit)
    return None


@cache
def _left_for_share(share: float, limit: int) -> int:
    return limit - math.ceil(Fraction(repr(share)) * limit) + 1


def _run_hours(
    spec: ClockSpec,
    limit: int,
    start: datetime,
    stop: datetime | None,
    pauses: list[Pause],
    now: datetime,
) -> ClockResult:
    due = start + timedelta(hours=limit)
    paused = timedelta()
    for pause in pauses:
        if pause.start >= due:
            break
        if pause.end is None:
            used = (pause.start - start - paused) / timedelta(hours=1)
            paused_units = round(paused / timedelta(hours=1))
            return ClockResult(None, None, None, None, None, used, limit, paused_units, 0, False, 0.0)
        paused += pause.end - pause.start
        due += pause.end - pause.start
    yellow_at = None
    if limit > 0 and spec.yellow_left is not None:
        yellow_at = max(due - timedelta(hours=spec.yellow_left), start)
    elif limit > 0 and spec.yellow_share is not None:
        # Hours have no "today counts": yellow once exactly this share of the hours is used.
        left_us = (1 - Fraction(repr(spec.yellow_share))) * limit * 3_600_000_000
        yellow_at = max(due - timedelta(microseconds=round(left_us)), start)
    level, next_change = _level(due, yellow_at, stop, now)
    at = min(now, stop) if stop is not None else now
    used = max(0.0, (at - start - paused) / timedelta(hours=1))
    overdue = max(0.0, (at - due) / timedelta(hours=1)) if level is Level.RED else 0.0
    return ClockResult(
        due,
        None,
        yellow_at,
        level,
        next_change,
        used,
        limit,
        round(paused / timedelta(hours=1)),
        0,
        False,
        overdue,
    )
