"""The working-day calendar (工作日历) as a precomputed day index.

Working days follow the State Council's yearly holiday notice, including the weekend days it
moves to work (调休). The base comes from the chinese-calendar package; rule authors' YAML
overlays (`rules/calendar/`) win over it. Days past the last known notice are counted with
weekends only, and every answer that touches them says `provisional`; so are days before the
first notice the data holds (the package starts in 2004, the index in 1990).

Counting is O(1): `_cum[i]` is the number of working days among days 0..i of the index and
`_nth_day[k]` the k-th working day, so "N working days after D" and "working days
between A and B" are two array look-ups each.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import chinese_calendar

from monitor.timeutil import days

INDEX_FIRST = date(1990, 1, 1)
INDEX_LAST = date(2100, 12, 31)


@dataclass(frozen=True, slots=True)
class DayOverride:
    """A day whose status an official notice sets, and where that notice came from."""

    day: date
    workday: bool
    name: str
    source: str


class CalendarRangeError(ValueError):
    """A date outside the calendar's index (1990–2100)."""


class WorkCalendar:
    """Working days with 调休, O(1) counting, and knowledge of where its data ends."""

    def __init__(
        self,
        overrides: Iterable[DayOverride],
        known_until: date,
        *,
        known_from: date = INDEX_FIRST,
    ) -> None:
        self.known_until = known_until
        # Days before the first notice in the data are weekend-only guesses as well.
        self.known_from = known_from
        self._overrides: dict[date, DayOverride] = {o.day: o for o in overrides}
        span = (INDEX_LAST - INDEX_FIRST).days + 1
        cum = array("l", [0]) * span
        nth = array("l", [0])  # nth[0] is unused so that nth[k] is the k-th working day
        running = 0
        for i in range(span):
            if self._is_workday_uncached(INDEX_FIRST + timedelta(days=i)):
                running += 1
                nth.append(i)
            cum[i] = running
        self._cum = cum
        # The k-th working day as a date (nth[0] unused), so counting makes no new objects.
        self._nth_day = [INDEX_FIRST + timedelta(days=i) for i in nth]
        body = sorted((o.day.isoformat(), o.workday) for o in self._overrides.values())
        self.digest = hashlib.sha256(repr((body, known_until.isoformat())).encode()).hexdigest()[:16]

    @classmethod
    def default(cls) -> WorkCalendar:
        """The chinese-calendar package alone, without overlays."""
        return cls(package_overrides(), package_known_until(), known_from=package_known_from())

    # -- single days -------------------------------------------------------------------

    def _is_workday_uncached(self, day: date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.workday
        return day.weekday() < 5

    def _index(self, day: date) -> int:
        i = (day - INDEX_FIRST).days
        if i < 0 or i >= len(self._cum):
            raise CalendarRangeError(
                f"date {day} is outside the calendar index ({INDEX_FIRST}..{INDEX_LAST})"
            )
        return i

    def is_workday(self, day: date) -> bool:
        i = self._index(day)
        return self._cum[i] - (self._cum[i - 1] if i else 0) == 1

    def is_provisional(self, day: date) -> bool:
        """True when no official notice covers `day`: its status is a weekend-only guess."""
        return day > self.known_until or day < self.known_from

    def describe(self, day: date) -> DayOverride:
        """The status of a day and where it comes from, for `calendar show` and `explain`."""
        override = self._overrides.get(day)
        if override is not None:
            return override
        weekend = day.weekday() >= 5
        source = "weekend rule (provisional)" if self.is_provisional(day) else "weekend rule"
        return DayOverride(day, not weekend, "周末" if weekend else "工作日", source)

    def overrides_in(self, year: int) -> list[DayOverride]:
        return sorted((o for o in self._overrides.values() if o.day.year == year), key=lambda o: o.day)

    # -- counting ----------------------------------------------------------------------

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (the start day is not counted; n=0 gives start)."""
        if n < 0:
            raise ValueError(f"cannot count a negative number of working days ({n})")
        if n == 0:
            return start
        target = self._cum[self._index(start)] + n
        if target >= len(self._nth_day):
            raise CalendarRangeError(f"{n} working days after {start} is past {INDEX_LAST}")
        return self._nth_day[target]

    def working_days_before(self, day: date, m: int) -> date:
        """The working day that lies m working days before the working day `day`."""
        if m < 0:
            raise ValueError(f"cannot count a negative number of working days ({m})")
        if not self.is_workday(day):
            raise ValueError(f"{day} is not a working day")
        k = self._cum[self._index(day)] - m
        if k < 1:
            raise CalendarRangeError(f"{m} working days before {day} is before {INDEX_FIRST}")
        return self._nth_day[k]

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open span (start, end]; negative when end < start."""
        return self._cum[self._index(end)] - self._cum[self._index(start)]

    def next_workday(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        if self.is_workday(day):
            return day
        return self.add_working_days(day, 1)

    def add_natural_days(self, start: date, n: int, *, roll_over_holidays: bool = False) -> date:
        """`start` + n days; with roll-over a last day that is a rest day moves to the next
        working day (民法典 art. 203)."""
        due = start + days(n)
        return self.next_workday(due) if roll_over_holidays else due

    def difference(self, other: WorkCalendar) -> tuple[date, date] | None:
        """The first and last day on which the two calendars count differently: a day that is
        a working day in one and not in the other, or one that one of them knows from a notice
        and the other only guesses (its answers were provisional). None when they agree."""
        differ: list[date] = []
        mine, theirs = self._cum, other._cum
        mine_before = theirs_before = 0
        for i in range(len(mine)):
            if mine[i] - mine_before != theirs[i] - theirs_before:
                differ.append(INDEX_FIRST + timedelta(days=i))
            mine_before, theirs_before = mine[i], theirs[i]
        one_day = timedelta(days=1)
        low, high = sorted((self.known_until, other.known_until))
        if low != high:
            differ += [low + one_day, high]
        low, high = sorted((self.known_from, other.known_from))
        if low != high:
            differ += [low, high - one_day]
        return (min(differ), max(differ)) if differ else None


def package_overrides() -> list[DayOverride]:
    """Holidays and make-up working days as the chinese-calendar package records them."""
    source = f"chinese-calendar {chinese_calendar.__version__} (国务院办公厅节假日安排通知)"
    out: list[DayOverride] = []
    holidays: Mapping[date, str] = chinese_calendar.holidays
    workdays: Mapping[date, str] = chinese_calendar.workdays
    for day, name in holidays.items():
        out.append(DayOverride(day, False, _holiday_name(name), source))
    for day, name in workdays.items():
        if day.weekday() >= 5:  # only weekend days moved to work (调休) need an override
            out.append(DayOverride(day, True, f"{_holiday_name(name)}调休上班", source))
    return out


def package_known_until() -> date:
    """The last day covered by the newest notice in the package (31 December of its year)."""
    last_year = max(d.year for d in chinese_calendar.holidays)
    return date(last_year, 12, 31)


def package_known_from() -> date:
    """The first day covered by the oldest notice in the package (1 January of its year)."""
    first_year = min(d.year for d in chinese_calendar.holidays)
    return date(first_year, 1, 1)


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _holiday_name(name: str | None) -> str:
    if not name:
        return "休息日"
    return _HOLIDAY_NAMES.get(name, name)
