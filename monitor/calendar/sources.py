"""Every source's answer for the days of a year, side by side (`sunlight calendar show`, `check`).

The calendar counts with one answer per day (workdays.py: overlay > notice in chinese-calendar
> the law > weekend rule). This module puts the other sources beside it, so that a rule author
sees where they disagree, and checks the law's own accounting: for each holiday a year's
calendar must give the 补假 that art. 6 owes (a day off on a working day for each holiday day on
a weekend), and 调休 (art. 7) only moves days, so across the days around the holiday the rest
weekdays beyond the statutory days, less the weekends worked, are exactly that many.

python-holidays is read here as a second transcription of the notices and of the law, never for
counting. Its "(observed)" days are its own guesses at 补假, not law; its "Day off (substituted
from …)" days and weekend working days are a notice's 调休. When it carries the notice of a year
that chinese-calendar lacks, the report says so and a rule author adds that notice as an overlay
after checking it against the published text: a deadline does not move because a library that
nobody reviewed for this purpose was upgraded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib.metadata import version
from typing import Any

from holidays.countries.china import China

from monitor.calendar.statutory import FIRST_YEAR, LAW, HolidayPeriod, day_names, holiday_periods
from monitor.calendar.workdays import (
    INDEX_LAST,
    MADE_UP_SOURCE,
    DayOverride,
    WorkCalendar,
    law_source,
    package_known_from,
    package_known_until,
    package_overrides,
    package_source,
)

_DAY = timedelta(days=1)
HOLIDAYS_SOURCE = f"holidays {version('holidays')}"


@dataclass(frozen=True, slots=True)
class Opinion:
    source: str
    workday: bool
    name: str


@dataclass(frozen=True, slots=True)
class DayReport:
    """One day as the calendar counts it, and what the other sources say about it."""

    day: date
    workday: bool
    name: str
    source: str
    provisional: bool
    others: tuple[Opinion, ...]

    @property
    def disagree(self) -> tuple[Opinion, ...]:
        return tuple(o for o in self.others if o.workday != self.workday)


@dataclass(frozen=True, slots=True)
class YearReport:
    year: int
    notice: str | None  # what settles the year: the notice's source; None: the law alone
    days: tuple[DayReport, ...]  # every day some source lists, in order
    provisional: tuple[tuple[date, date], ...]  # runs of provisional days within the year
    law_problems: tuple[str, ...]  # holidays whose 补假 the calendar does not give as art. 6 owes
    holidays_note: str | None  # python-holidays carries a notice the calendar lacks


@cache
def _holidays(year: int) -> tuple[dict[date, str], set[date], set[date], set[date]]:
    """python-holidays for `year`: its days off (Chinese names), its notice's 调休 rest days,
    its own guesses at 补假, and its notice's weekend working days."""
    english, chinese = _china(year, None), _china(year, "zh_CN")
    substituted = {d for d, n in english.items() if "substituted" in n.lower()}
    observed = {d for d, n in english.items() if "observed" in n.lower()}
    worked = {d for d in english.weekend_workdays if d.year == year}
    return {d: chinese.get(d, n) for d, n in english.items()}, substituted, observed, worked


def _china(year: int, language: str | None) -> Any:
    return China(years=year, language=language)  # type: ignore[no-untyped-call]  # an untyped __init__


def holidays_note(year: int) -> str | None:
    """What to do when python-holidays carries the notice of a year the calendar has none for:
    its 调休 days, not only the law and its own guesses."""
    _, substituted, _, worked = _holidays(year)
    if not (substituted or worked):
        return None
    return (
        f"{HOLIDAYS_SOURCE} carries the {year} notice's 调休, which chinese-calendar lacks; it is "
        f"not used for counting: check it against the published notice and add the notice as an "
        f"overlay (rules/calendar/{year}.yaml)"
    )


def _holidays_opinion(day: date) -> Opinion:
    listed, _, observed, worked = _holidays(day.year)
    if day in worked:
        return Opinion(HOLIDAYS_SOURCE, True, "调休上班")
    if day in listed:
        guess = "（其自行推算）" if day in observed else ""
        return Opinion(HOLIDAYS_SOURCE, False, listed[day] + guess)
    weekend = day.weekday() >= 5
    return Opinion(HOLIDAYS_SOURCE, not weekend, "周末" if weekend else "工作日")


def _groups(periods: tuple[HolidayPeriod, ...]) -> list[list[HolidayPeriod]]:
    """Holidays whose unsettled days overlap (中秋节 and 国庆节 often), which one notice
    arranges together."""
    out: list[list[HolidayPeriod]] = []
    for period in sorted(periods, key=lambda p: p.unsettled[0]):
        if out and period.unsettled[0] <= max(p.unsettled[1] for p in out[-1]):
            out[-1].append(period)
        else:
            out.append([period])
    return out


def law_problems(calendar: WorkCalendar, year: int) -> list[str]:
    """The holidays of `year` whose 补假 the calendar does not give as the law owes it."""
    if year < FIRST_YEAR:
        return []
    problems = []
    periods = holiday_periods(year)
    statutory = {d for p in periods for d in p.statutory}
    for group in _groups(periods):
        owed = sum(p.owed for p in group)
        first, last = min(p.unsettled[0] for p in group), max(p.unsettled[1] for p in group)
        given = 0
        day = first
        while day <= last:
            weekend, working = day.weekday() >= 5, calendar.is_workday(day)
            if not weekend and not working and day not in statutory:
                given += 1
            elif weekend and working:
                given -= 1
            day += _DAY
        names = "、".join(p.name for p in group)
        for p in group:
            rested = [d for d in p.statutory if calendar.is_workday(d)]
            if rested:
                listed = ", ".join(d.isoformat() for d in rested)
                problems.append(f"{year} {p.name}: statutory holiday counted as a working day: {listed}")
        if given != owed:
            problems.append(
                f"{year} {names}: art. 6 owes {owed} day(s) of 补假, the calendar gives {given} "
                f"(rest weekdays beyond the statutory days less weekends worked, {first}..{last})"
            )
    return problems


def year_report(
    calendar: WorkCalendar, overlays: Mapping[date, DayOverride], covered: Mapping[int, str], year: int
) -> YearReport:
    """Each listed day of `year` with its source and the other sources' answers."""
    notice_days = {o.day: o for o in package_overrides()}
    in_package = package_known_from().year <= year <= package_known_until().year
    settled = year <= calendar.known_until.year and year >= calendar.known_from.year
    law_days: dict[date, tuple[str, bool]] = {}  # day -> (name, a 补假 of Sunlight's)
    if year >= FIRST_YEAR:
        law_days = {d: (name, False) for d, name in day_names(year).items()}
        for period in holiday_periods(year):
            if not settled:
                for d in period.made_up:
                    law_days.setdefault(d, (f"{period.name}补假", True))
    listed_by_holidays, _, _, worked = _holidays(year)
    days = sorted(
        {o.day for o in calendar.overrides_in(year)}
        | {d for d in overlays if d.year == year}
        | set(listed_by_holidays)
        | worked
    )
    reports = []
    for day in days:
        winner = calendar.describe(day)
        opinions: list[Opinion] = []
        if day in overlays:
            o = overlays[day]
            opinions.append(Opinion(o.source, o.workday, o.name))
        if in_package:
            # The notice settles its whole year: a day it does not list follows the weekend rule.
            listed = notice_days.get(day)
            if listed is not None:
                opinions.append(Opinion(listed.source, listed.workday, listed.name))
            else:
                weekday = day.weekday() < 5
                opinions.append(Opinion(package_source(), weekday, "工作日" if weekday else "周末"))
        if day in law_days:
            name, made_up = law_days[day]
            opinions.append(Opinion(MADE_UP_SOURCE if made_up else law_source(), False, name))
        opinions.append(_holidays_opinion(day))
        others = tuple(o for o in opinions if o.source != winner.source)
        reports.append(
            DayReport(day, winner.workday, winner.name, winner.source, calendar.is_provisional(day), others)
        )
    notice = package_source() if in_package else None
    if year in covered and settled:
        notice = covered[year]
    note = None if settled else holidays_note(year)
    spans = tuple(calendar.provisional_spans(date(year, 1, 1), date(year, 12, 31)))
    return YearReport(year, notice, tuple(reports), spans, tuple(law_problems(calendar, year)), note)


def check_lines(
    calendar: WorkCalendar, overlays: Mapping[date, DayOverride], covered: Mapping[int, str], today: date
) -> tuple[str, list[str]]:
    """What `sunlight check` says about the calendar: one line, and warnings."""
    ahead = calendar.next_provisional(today)
    provisional = "no provisional days ahead"
    if ahead is not None:
        provisional = f"调休 around holidays without a notice provisional from {ahead}"
    line = (
        f"calendar: notice known until {calendar.known_until}; statutory holidays computed to "
        f"{INDEX_LAST} ({LAW}); {provisional}"
    )
    years = {d.year for d in overlays} | set(covered)
    years |= set(range(max(FIRST_YEAR, package_known_from().year), package_known_until().year + 1))
    warnings = [f"warning: calendar: {p}" for y in sorted(years) for p in law_problems(calendar, y)]
    for year in (calendar.known_until.year + 1, calendar.known_until.year + 2):
        note = holidays_note(year) if year <= INDEX_LAST.year else None
        if note is not None:
            warnings.append(f"warning: calendar: {note}")
    return line, warnings
