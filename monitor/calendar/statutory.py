"""The statutory holidays (法定节假日) of a year, from the law alone, for years without a notice.

全国年节及纪念日放假办法 (as revised in 2024, in force from 2025) fixes the holidays in art. 2:
元旦 1 day (1 January), 春节 4 (除夕 and 正月初一至初三), 清明节 1 (the day of the 清明 solar
term), 劳动节 2 (1–2 May), 端午节 1 (lunar 5/5), 中秋节 1 (lunar 8/15), 国庆节 3 (1–3 October).
Lunar dates and the solar term come from lunar_python (6tail), which computes them
astronomically in Beijing time; the tests hold them to python-holidays and chinese-calendar.

What the law leaves to the State Council's yearly notice:
- 补假 (art. 6): a holiday that falls on a Saturday or Sunday is made up on a working day, and
  only the notice says which. Until it does, Sunlight rests on the first working days after
  the holiday: where past notices put it most often, and a choice that keeps the number of rest
  days right for any span that covers the whole holiday. A holiday on a day another holiday
  already takes (中秋节 on 1–3 October, as in 2028) is owed a day too, as the 2020 notice gave.
- 调休 (art. 7): bridging days and the weekends worked in exchange. Nothing predicts them, so
  the days around each holiday are provisional (`HolidayPeriod.unsettled`): a week either side
  of a one-day holiday, two weeks around 春节, 劳动节 and 国庆节. In the notices of 2008–2026
  every day a notice moved lay within 11 days of its holiday (tests/test_calendar.py checks
  this against chinese-calendar). The statutory days themselves are never provisional.
Extraordinary holidays (the 2015 抗战胜利70周年纪念日) cannot be foreseen at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar

LAW = "全国年节及纪念日放假办法"
FIRST_YEAR = 2025  # the 2024 revision is in force from 1 January 2025

_DAY = timedelta(days=1)
_WEEK = 7


@dataclass(frozen=True, slots=True)
class HolidayPeriod:
    """One holiday of a year as the law fixes it, with the days its notice may still move."""

    name: str
    statutory: tuple[date, ...]  # art. 2: always rest days
    made_up: tuple[date, ...]  # art. 6 补假, on the next working days until the notice places it
    unsettled: tuple[date, date]  # first and last day a notice may still change (inclusive)

    @property
    def owed(self) -> int:
        """Working days the law owes this holiday (art. 6): the 补假 a notice must give."""
        return len(self.made_up)


def lunar_day(year: int, month: int, day: int) -> date:
    """The Gregorian date of a day of lunar year `year` (not a leap month)."""
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(int(solar.getYear()), int(solar.getMonth()), int(solar.getDay()))


def qingming(year: int) -> date:
    """The day of the 清明 solar term in `year`, Beijing time."""
    solar = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return date(int(solar.getYear()), int(solar.getMonth()), int(solar.getDay()))


def statutory_days(year: int) -> list[tuple[str, tuple[date, ...], int]]:
    """Art. 2's holidays of `year` in the law's order: (name, days, how far a notice reaches
    around them in days)."""
    new_year = lunar_day(year, 1, 1)
    return [
        ("元旦", (date(year, 1, 1),), _WEEK),
        ("春节", tuple(new_year + i * _DAY for i in range(-1, 3)), 2 * _WEEK),
        ("清明节", (qingming(year),), _WEEK),
        ("劳动节", (date(year, 5, 1), date(year, 5, 2)), 2 * _WEEK),
        ("端午节", (lunar_day(year, 5, 5),), _WEEK),
        ("中秋节", (lunar_day(year, 8, 15),), _WEEK),
        ("国庆节", tuple(date(year, 10, d) for d in (1, 2, 3)), 2 * _WEEK),
    ]


@cache
def holiday_periods(year: int) -> tuple[HolidayPeriod, ...]:
    """The holidays of `year` under the revised law, with Sunlight's 补假 and the unsettled days.

    The calendar asks only from FIRST_YEAR on; earlier years (fewer holiday days then) serve the
    tests that hold the unsettled days to what the old notices moved. Cached: the law is a
    function of the year alone, and the lunar computation is the slow part of a calendar."""
    holidays = statutory_days(year)
    taken: dict[date, str] = {}  # day -> the first holiday (in the law's order) that has it
    for name, days, _ in holidays:
        for day in days:
            taken.setdefault(day, name)
    periods = []
    for name, days, reach in holidays:
        owed = sum(1 for day in days if day.weekday() >= 5 or taken[day] != name)
        made_up: list[date] = []
        day = max(days)
        while len(made_up) < owed:
            day += _DAY
            if day.weekday() < 5 and day not in taken:
                made_up.append(day)
                taken[day] = name
        last = max((*days, *made_up))
        unsettled = (min(days) - reach * _DAY, last + reach * _DAY)
        periods.append(HolidayPeriod(name, days, tuple(made_up), unsettled))
    return tuple(periods)


def day_names(year: int) -> dict[date, str]:
    """The statutory days of `year` and their holidays' names ("中秋节、国庆节" when two share a
    day), without 补假."""
    out: dict[date, str] = {}
    for period in holiday_periods(year):
        for day in period.statutory:
            out[day] = f"{out[day]}、{period.name}" if day in out else period.name
    return out
