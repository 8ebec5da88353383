"""The working-day calendar (工作日历) as a precomputed day index.

Working days follow the State Council's yearly holiday notice, including the weekend days it
moves to work (调休). Each day's status comes from the first source that has it:

1. rule authors' YAML overlays (`rules/calendar/`, see overlay.py);
2. the notice as the chinese-calendar package records it;
3. the law (全国年节及纪念日放假办法, see statutory.py): its statutory holidays from 2025 on,
   and for a year without a notice the 补假 Sunlight places until the notice does;
4. the weekend rule.

A day is provisional when a notice not yet published may still change it: the days around
each holiday of a year without a notice (not the statutory days themselves), and every day
before the first notice the data holds (the package starts in 2004, the index in 1990).

Counting is O(1): `_cum[i]` is the number of working days among days 0..i of the index and
`_nth_day[k]` the k-th working day, so "N working days after D" and "working days
between A and B" are two array look-ups each; `_pcum[i]` counts the provisional days the same
way, so "is any day of this span provisional" is two more.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.metadata import version

import chinese_calendar

from monitor.calendar.statutory import FIRST_YEAR, LAW, day_names, holiday_periods
from monitor.timeutil import days

INDEX_FIRST = date(1990, 1, 1)
INDEX_LAST = date(2100, 12, 31)


@dataclass(frozen=True, slots=True)
class DayOverride:
    """A day whose status a source sets (a notice, an overlay, the law), and which source."""

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
        provisional: Iterable[date],
    ) -> None:
        """`known_until`: the last day of the newest notice (overlays included); `provisional`:
        the days a notice not yet published may still change (`build_calendar` works them
        out); the days before `known_from` are provisional as well."""
        self.known_until = known_until
        # Days before the first notice in the data are weekend-only guesses.
        self.known_from = known_from
        self._overrides: dict[date, DayOverride] = {o.day: o for o in overrides}
        unsettled = set(provisional)
        span = (INDEX_LAST - INDEX_FIRST).days + 1
        cum = array("l", [0]) * span
        pcum = array("l", [0]) * span
        nth = array("l", [0])  # nth[0] is unused so that nth[k] is the k-th working day
        running = guessed = 0
        for i in range(span):
            day = INDEX_FIRST + timedelta(days=i)
            if self._is_workday_uncached(day):
                running += 1
                nth.append(i)
            if day < known_from or day in unsettled:
                guessed += 1
            cum[i] = running
            pcum[i] = guessed
        self._cum = cum
        self._pcum = pcum
        # The k-th working day as a date (nth[0] unused), so counting makes no new objects.
        self._nth_day = [INDEX_FIRST + timedelta(days=i) for i in nth]
        body = sorted((o.day.isoformat(), o.workday) for o in self._overrides.values())
        head = repr((body, known_until.isoformat())).encode()
        self.digest = hashlib.sha256(head + pcum.tobytes()).hexdigest()[:16]

    @classmethod
    def default(cls) -> WorkCalendar:
        """The chinese-calendar package and the law, without overlays."""
        return build_calendar({}, ())

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
        """True when a notice not yet published may still change `day`'s status."""
        i = self._index(day)
        return self._pcum[i] - (self._pcum[i - 1] if i else 0) == 1

    def provisional_between(self, start: date, end: date) -> bool:
        """Whether any day of the half-open span (start, end] is provisional: the days a count
        from `start` to `end` looks at (False when end <= start)."""
        return self._pcum[self._index(end)] - self._pcum[self._index(start)] > 0

    def next_provisional(self, day: date) -> date | None:
        """The first provisional day on or after `day`; None when there is none."""
        i = self._index(day)
        # _pcum only grows: the first index where it passes its value before `day`.
        found = bisect_right(self._pcum, self._pcum[i - 1] if i else 0, lo=i)
        return INDEX_FIRST + timedelta(days=found) if found < len(self._pcum) else None

    def provisional_spans(self, first: date, last: date) -> list[tuple[date, date]]:
        """The runs of consecutive provisional days between `first` and `last` (inclusive)."""
        spans: list[tuple[date, date]] = []
        one_day = timedelta(days=1)
        day = first
        while day <= last:
            if self.is_provisional(day):
                if spans and spans[-1][1] == day - one_day:
                    spans[-1] = (spans[-1][0], day)
                else:
                    spans.append((day, day))
            day += one_day
        return spans

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
        a working day in one and not in the other, or one that is provisional in one and
        settled in the other (answers that touched it said so). None when they agree."""
        if self._cum == other._cum and self._pcum == other._pcum:
            return None
        first: int | None = None
        last = 0
        pairs = ((self._cum, other._cum), (self._pcum, other._pcum))
        for i in range(len(self._cum)):
            for mine, theirs in pairs:
                if mine[i] - (mine[i - 1] if i else 0) != theirs[i] - (theirs[i - 1] if i else 0):
                    first = i if first is None else first
                    last = i
        if first is None:
            return None
        return INDEX_FIRST + timedelta(days=first), INDEX_FIRST + timedelta(days=last)


def package_source() -> str:
    return f"chinese-calendar {chinese_calendar.__version__} (国务院办公厅节假日安排通知)"


def package_overrides() -> list[DayOverride]:
    """Holidays and make-up working days as the chinese-calendar package records them."""
    source = package_source()
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


def law_source() -> str:
    return f"{LAW} art. 2 + lunar_python {version('lunar_python')}"


MADE_UP_SOURCE = f"{LAW} art. 6 补假, on the next working day until the notice places it (provisional)"


def law_overrides(settled_until: int) -> tuple[dict[date, DayOverride], set[date]]:
    """The law's layer: its statutory holidays of every year it governs, and for the years
    after `settled_until` (the last year with a notice) Sunlight's 补假 and the provisional
    days around each holiday. Returns the overrides and the provisional days."""
    source = law_source()
    out: dict[date, DayOverride] = {}
    unsettled: set[date] = set()
    statutory: set[date] = set()
    for year in range(settled_until + 1, FIRST_YEAR):
        # A year without a notice that the 2024 revision does not govern: weekends only.
        first = date(year, 1, 1)
        unsettled.update(first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days))
    for year in range(FIRST_YEAR, INDEX_LAST.year + 1):
        names = day_names(year)
        statutory.update(names)
        for day, name in names.items():
            out[day] = DayOverride(day, False, name, source)
        if year <= settled_until:
            continue  # the notice placed the 补假 and settled the days around the holidays
        for period in holiday_periods(year):
            for day in period.made_up:
                out[day] = DayOverride(day, False, f"{period.name}补假", MADE_UP_SOURCE)
            low, high = period.unsettled
            unsettled.update(low + timedelta(days=i) for i in range((high - low).days + 1))
    return out, unsettled - statutory


def build_calendar(overlays: Mapping[date, DayOverride], covered: Iterable[int]) -> WorkCalendar:
    """The calendar from every source: `overlays` win over the notice in chinese-calendar,
    which wins over the law, which wins over the weekend rule. `covered`: the years an overlay
    settles (`covers:`), which extend the known range only without gaps."""
    known_from, known_until = package_known_from(), package_known_until()
    years = set(covered)
    while known_until.year + 1 in years:
        known_until = date(known_until.year + 1, 12, 31)
    while known_from.year - 1 in years:
        known_from = date(known_from.year - 1, 1, 1)
    law, provisional = law_overrides(known_until.year)
    merged = {**law, **{o.day: o for o in package_overrides()}, **overlays}
    return WorkCalendar(merged.values(), known_until, known_from=known_from, provisional=provisional)


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
