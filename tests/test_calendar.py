"""The working-day calendar: official notices, legal examples, overlays and invariants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import chinese_calendar
import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.calendar import CalendarRangeError, WorkCalendar, load_calendar
from monitor.calendar.sources import holidays_note, law_problems, year_report
from monitor.calendar.statutory import FIRST_YEAR, day_names, holiday_periods, qingming
from monitor.calendar.workdays import INDEX_FIRST, INDEX_LAST
from monitor.errors import ConfigError

PROJECT = Path(__file__).resolve().parents[1]


@cache
def cal() -> WorkCalendar:
    """The package calendar, built once (the index covers 1990–2100)."""
    return WorkCalendar.default()


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> list[date]:
    a, b = d(first), d(last)
    return [a + timedelta(days=i) for i in range((b - a).days + 1)]


# -- the State Council notices (国务院办公厅关于…年部分节假日安排的通知), written out ----------


@dataclass(frozen=True)
class Notice:
    year: int
    rest: dict[str, tuple[str, str]]  # holiday -> (first, last) day off, weekends included
    work: dict[str, tuple[str, ...]]  # holiday -> the weekend days moved to work (调休上班)

    def rest_days(self) -> set[date]:
        return {day for first, last in self.rest.values() for day in days(first, last)}

    def work_days(self) -> set[date]:
        return {d(text) for texts in self.work.values() for text in texts}


NOTICES = {
    # 国务院办公厅关于2024年部分节假日安排的通知 (published 2023-10-25)
    2024: Notice(
        2024,
        rest={
            "元旦": ("2023-12-30", "2024-01-01"),  # 1月1日放假，与周末连休
            "春节": ("2024-02-10", "2024-02-17"),
            "清明节": ("2024-04-04", "2024-04-06"),
            "劳动节": ("2024-05-01", "2024-05-05"),
            "端午节": ("2024-06-08", "2024-06-10"),  # 6月10日放假，与周末连休
            "中秋节": ("2024-09-15", "2024-09-17"),
            "国庆节": ("2024-10-01", "2024-10-07"),
        },
        work={
            "春节": ("2024-02-04", "2024-02-18"),
            "清明节": ("2024-04-07",),
            "劳动节": ("2024-04-28", "2024-05-11"),
            "中秋节": ("2024-09-14",),
            "国庆节": ("2024-09-29", "2024-10-12"),
        },
    ),
    # 国务院办公厅关于2025年部分节假日安排的通知 (published 2024-11-12, the first under the
    # revised 全国年节及纪念日放假办法: 除夕 and 5月2日 became holidays)
    2025: Notice(
        2025,
        rest={
            "元旦": ("2025-01-01", "2025-01-01"),  # 放假1天，不调休
            "春节": ("2025-01-28", "2025-02-04"),  # 除夕 to 正月初七
            "清明节": ("2025-04-04", "2025-04-06"),
            "劳动节": ("2025-05-01", "2025-05-05"),
            "端午节": ("2025-05-31", "2025-06-02"),
            "国庆节、中秋节": ("2025-10-01", "2025-10-08"),
        },
        work={
            "春节": ("2025-01-26", "2025-02-08"),
            "劳动节": ("2025-04-27",),
            "国庆节、中秋节": ("2025-09-28", "2025-10-11"),
        },
    ),
    # 国务院办公厅关于2026年部分节假日安排的通知 (published 2025-11-04)
    2026: Notice(
        2026,
        rest={
            "元旦": ("2026-01-01", "2026-01-03"),
            "春节": ("2026-02-15", "2026-02-23"),  # 腊月二十八 to 正月初七, 9 days
            "清明节": ("2026-04-04", "2026-04-06"),
            "劳动节": ("2026-05-01", "2026-05-05"),
            "端午节": ("2026-06-19", "2026-06-21"),
            "中秋节": ("2026-09-25", "2026-09-27"),
            "国庆节": ("2026-10-01", "2026-10-07"),
        },
        work={
            "元旦": ("2026-01-04",),
            "春节": ("2026-02-14", "2026-02-28"),
            "劳动节": ("2026-05-09",),
            "国庆节": ("2026-09-20", "2026-10-10"),
        },
    ),
}


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_every_holiday_of_the_notice_is_a_rest_day(year: int) -> None:
    notice = NOTICES[year]
    working = sorted(day for day in notice.rest_days() if cal().is_workday(day))
    assert working == []


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_every_make_up_day_of_the_notice_is_a_working_weekend_day(year: int) -> None:
    notice = NOTICES[year]
    # the literal data itself: 调休 only ever moves work onto Saturdays and Sundays
    assert all(day.weekday() >= 5 for day in notice.work_days())
    resting = sorted(day for day in notice.work_days() if not cal().is_workday(day))
    assert resting == []


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_the_notice_is_the_whole_story_of_its_year(year: int) -> None:
    """No day of the year differs from "weekdays work, weekends rest" unless the notice says so."""
    notice = NOTICES[year]
    rest, work = notice.rest_days(), notice.work_days()
    wrong = []
    for day in days(f"{year}-01-01", f"{year}-12-31"):
        expected = day in work or (day.weekday() < 5 and day not in rest)
        if cal().is_workday(day) != expected:
            wrong.append(day)
    assert wrong == []


@pytest.mark.parametrize("year", sorted(NOTICES))
def test_working_day_total_of_the_year_matches_the_notice(year: int) -> None:
    notice = NOTICES[year]
    weekdays = sum(1 for day in days(f"{year}-01-01", f"{year}-12-31") if day.weekday() < 5)
    weekday_holidays = sum(1 for day in notice.rest_days() if day.year == year and day.weekday() < 5)
    expected = weekdays - weekday_holidays + len(notice.work_days())
    got = cal().working_days_between(date(year - 1, 12, 31), date(year, 12, 31))
    assert got == expected


def test_the_index_agrees_with_the_chinese_calendar_package_day_by_day() -> None:
    disagree = [
        day
        for day in days("2004-01-01", "2026-12-31")
        if cal().is_workday(day) != chinese_calendar.is_workday(day)
    ]
    assert disagree == []


def test_describe_names_the_holiday_and_its_source() -> None:
    national = cal().describe(d("2026-10-01"))
    assert (national.workday, national.name) == (False, "国庆节")
    assert "chinese-calendar" in national.source
    make_up = cal().describe(d("2026-02-14"))
    assert (make_up.workday, make_up.name) == (True, "春节调休上班")
    mid_autumn = cal().describe(d("2025-10-06"))
    assert (mid_autumn.workday, mid_autumn.name) == (False, "中秋节")
    sunday = cal().describe(d("2026-03-08"))
    assert (sunday.workday, sunday.name, sunday.source) == (False, "周末", "weekend rule")
    monday = cal().describe(d("2026-03-09"))
    assert (monday.workday, monday.name, monday.source) == (True, "工作日", "weekend rule")


def test_overrides_in_lists_the_days_of_one_year_in_order() -> None:
    listed = cal().overrides_in(2026)
    assert [o.day for o in listed] == sorted(o.day for o in listed)
    assert {o.day for o in listed if o.workday} == NOTICES[2026].work_days()
    assert {o.day for o in listed if not o.workday} >= {
        day for day in NOTICES[2026].rest_days() if day.weekday() < 5
    }


# -- legal examples --------------------------------------------------------------------------


def test_licence_accepted_before_spring_festival_2026_counts_the_make_up_saturday() -> None:
    # 2-13 Fri is day 1, 2-14 Sat (调休上班) day 2, 2-15..23 holiday, 2-24 Tue day 3
    assert cal().add_working_days(d("2026-02-12"), 3) == d("2026-02-24")
    assert cal().add_working_days(d("2026-02-12"), 2) == d("2026-02-14")
    assert cal().working_days_between(d("2026-02-12"), d("2026-02-24")) == 3


def test_counting_across_national_day_2026() -> None:
    # 9-30 day 1; 10-1..7 holiday; 10-8, 10-9, 10-10 (Sat, 调休上班), 10-12 Mon
    assert cal().add_working_days(d("2026-09-29"), 5) == d("2026-10-12")
    assert cal().working_days_between(d("2026-09-30"), d("2026-10-12")) == 4
    # 9-20 (Sun) is a working day: a case accepted on Saturday 9-19 has it as its first day
    assert cal().add_working_days(d("2026-09-19"), 1) == d("2026-09-20")


def test_double_publicity_within_seven_working_days_across_national_day_2025() -> None:
    # 双公示: a decision of 2025-09-30 is published by the 7th working day after it
    assert cal().add_working_days(d("2025-09-30"), 7) == d("2025-10-16")
    # 9-27 Sat rests, 9-28 Sun is 调休上班
    assert cal().add_working_days(d("2025-09-26"), 3) == d("2025-09-30")


def test_twenty_working_days_over_spring_festival_2025() -> None:
    # accepted Mon 2025-01-20: 1-21..24 are days 1-4, 1-26 (Sun, 调休上班) day 5, 1-27 day 6,
    # 1-28..2-4 rest, 2-5..7 days 7-9, 2-8 (Sat, 调休上班) day 10, then ten weekdays to 2-21
    due = cal().add_working_days(d("2025-01-20"), 20)
    assert due == d("2025-02-21")
    assert cal().add_working_days(d("2025-01-20"), 10) == d("2025-02-08")
    assert cal().working_days_between(d("2025-01-20"), due) == 20


# -- a year without a notice: the law (全国年节及纪念日放假办法, 2024 revision) ----------------


def test_new_year_2027_is_a_rest_day_from_the_law_although_no_notice_covers_2027() -> None:
    assert cal().known_until == d("2026-12-31")
    new_year = cal().describe(d("2027-01-01"))  # a Friday
    assert (new_year.workday, new_year.name) == (False, "元旦")
    assert "全国年节及纪念日放假办法" in new_year.source and "lunar_python" in new_year.source
    # the holiday is fixed by the law: no notice can move it
    assert not cal().is_provisional(d("2027-01-01"))
    # 12-30 Wed is day 1, 12-31 Thu day 2, 1-1 rests, Mon 1-4 is day 3
    assert cal().add_working_days(d("2026-12-29"), 3) == d("2027-01-04")


LAW_2027 = {
    "元旦": ["2027-01-01"],
    "春节": ["2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"],  # 除夕 Fri to 初三 Mon
    "清明节": ["2027-04-05"],
    "劳动节": ["2027-05-01", "2027-05-02"],
    "端午节": ["2027-06-09"],
    "中秋节": ["2027-09-15"],
    "国庆节": ["2027-10-01", "2027-10-02", "2027-10-03"],
}


@pytest.mark.parametrize("holiday", sorted(LAW_2027))
def test_the_statutory_holidays_of_2027_are_rest_days(holiday: str) -> None:
    for text in LAW_2027[holiday]:
        described = cal().describe(d(text))
        assert (described.workday, described.name) == (False, holiday), text
        assert not cal().is_provisional(d(text))
    [period] = [p for p in holiday_periods(2027) if p.name == holiday]
    assert [day.isoformat() for day in period.statutory] == LAW_2027[holiday]


def test_the_statutory_holidays_of_2027_are_those_python_holidays_computes() -> None:
    china = holidays.China(years=2027)
    theirs = {day for day, name in china.items() if "observed" not in name and "substituted" not in name}
    assert theirs == set(day_names(2027)) == {d(t) for texts in LAW_2027.values() for t in texts}


def test_the_law_agrees_with_python_holidays_for_every_year_to_2099() -> None:
    """Two independent computations of lunar dates and the 清明 solar term."""
    for year in range(FIRST_YEAR, 2100):
        china = holidays.China(years=year)
        theirs = {day for day, name in china.items() if "observed" not in name and "substituted" not in name}
        assert set(day_names(year)) == theirs, year
    # 2100: the 清明 term falls 43 minutes after midnight on 4-5 (lunar_python); other ephemerides
    # put it before midnight. The day lies inside provisional days either way.
    theirs_2100 = {day for day, name in holidays.China(years=2100).items() if name == "Tomb-Sweeping Day"}
    assert qingming(2100) == d("2100-04-05") and theirs_2100 == {d("2100-04-04")}


def test_qingming_is_the_solar_term_chinese_calendar_computes() -> None:
    terms = chinese_calendar.get_solar_terms(d("2025-01-01"), d("2099-12-31"))
    assert [qingming(y) for y in range(2025, 2100)] == [day for day, term in terms if term == "清明"]


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_law_s_holidays_are_rest_days_in_the_real_notices(year: int) -> None:
    """A cross-check against notices made under the revised law: every statutory day is a
    rest day (the yearly notice only adds to them), straight from chinese-calendar."""
    assert all(chinese_calendar.is_holiday(day) for day in day_names(year))
    assert set(day_names(year)) <= NOTICES[year].rest_days()


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_real_notices_give_the_make_up_days_the_law_owes(year: int) -> None:
    """art. 6 补假 and art. 7 调休 in the notices' own numbers: around each holiday, rest weekdays
    beyond the statutory days less the weekends worked are the weekend holiday days."""
    assert law_problems(cal(), year) == []


def test_a_notice_in_python_holidays_is_pointed_out_only_for_a_year_without_one() -> None:
    # python-holidays carries the 2026 notice (its "substituted" days) as chinese-calendar does
    note = holidays_note(2026)
    assert note is not None and "rules/calendar/2026.yaml" in note
    assert year_report(cal(), {}, {}, 2026).holidays_note is None  # chinese-calendar has it
    assert holidays_note(2030) is None  # only the law and the package's own guesses
    report = year_report(cal(), {}, {}, 2026)
    assert report.notice is not None and report.notice.startswith("chinese-calendar")
    assert [r.day for r in report.days if r.disagree] == []


def test_every_day_a_notice_moved_since_2008_is_among_the_days_called_provisional() -> None:
    """What a missing notice may change, checked against what the notices did change: every
    day of 2008–2026 that differs from the weekend rule lies around a holiday the revised law
    has (the older laws had fewer holiday days, which only makes the windows look wider)."""
    around = {
        day
        for year in range(2008, 2028)
        for p in holiday_periods(year)
        for day in days(p.unsettled[0].isoformat(), p.unsettled[1].isoformat())
    }
    moved = {
        day
        for day in days("2008-01-01", "2026-12-31")
        if chinese_calendar.is_workday(day) != (day.weekday() < 5)
    }
    extraordinary = set(days("2015-09-03", "2015-09-06"))  # 抗战胜利70周年纪念日, decided that year
    assert sorted(moved - around - extraordinary) == []


def test_make_up_days_for_weekend_holidays_follow_the_holiday_and_are_provisional() -> None:
    # art. 6: 春节 2-6/2-7, 劳动节 5-1/5-2 and 国庆节 10-2/10-3 fall on weekends in 2027
    made_up = {p.name: [day.isoformat() for day in p.made_up] for p in holiday_periods(2027)}
    assert made_up == {
        "元旦": [],
        "春节": ["2027-02-09", "2027-02-10"],
        "清明节": [],
        "劳动节": ["2027-05-03", "2027-05-04"],
        "端午节": [],
        "中秋节": [],
        "国庆节": ["2027-10-04", "2027-10-05"],
    }
    for texts in made_up.values():
        for text in texts:
            described = cal().describe(d(text))
            assert not described.workday and described.name.endswith("补假")
            assert "provisional" in described.source
            assert cal().is_provisional(d(text))
    # python-holidays guesses the same days ("(observed)", its own reading of art. 6)
    observed = {day for day, name in holidays.China(years=2027).items() if "observed" in name}
    assert observed == {d(t) for texts in made_up.values() for t in texts}


def test_a_holiday_on_a_day_another_holiday_has_is_owed_a_day_too() -> None:
    # 2028: 中秋节 is 10-3, a 国庆节 day, and 10-1 is a Sunday: two days owed, as the 2020
    # notice gave 8 days for 中秋节 on 10-1. python-holidays owes only the Sunday.
    assert day_names(2028)[d("2028-10-03")] == "中秋节、国庆节"
    [national] = [p for p in holiday_periods(2028) if p.name == "国庆节"]
    assert national.made_up == (d("2028-10-04"), d("2028-10-05"))
    assert not cal().is_workday(d("2028-10-05"))


def test_new_year_2028_on_a_saturday_is_made_up_on_monday() -> None:
    assert cal().describe(d("2028-01-03")).name == "元旦补假"
    assert cal().add_working_days(d("2027-12-31"), 1) == d("2028-01-04")


def test_only_the_days_around_holidays_of_2027_are_provisional() -> None:
    # a spring deadline that crosses no holiday is final; one across 春节 or 清明 is not
    assert not cal().provisional_between(d("2027-02-24"), cal().add_working_days(d("2027-02-24"), 15))
    assert cal().add_working_days(d("2027-02-24"), 15) == d("2027-03-17")
    assert cal().provisional_between(d("2027-01-25"), cal().add_working_days(d("2027-01-25"), 15))
    assert cal().provisional_between(d("2027-03-15"), cal().add_working_days(d("2027-03-15"), 20))
    assert not cal().is_provisional(d("2027-03-01"))
    assert not cal().is_provisional(d("2027-07-15"))
    # around 春节: a weekday that the notice may make a bridging day, a weekend it may make worked
    assert cal().is_provisional(d("2027-02-11")) and cal().is_workday(d("2027-02-11"))
    assert cal().is_provisional(d("2027-02-20")) and not cal().is_workday(d("2027-02-20"))
    assert "provisional" in cal().describe(d("2027-02-11")).source
    assert cal().provisional_spans(d("2027-02-01"), d("2027-03-31")) == [
        (d("2027-02-01"), d("2027-02-04")),
        (d("2027-02-09"), d("2027-02-24")),
        (d("2027-03-29"), d("2027-03-31")),
    ]


def test_the_next_notice_may_still_move_the_last_days_of_december() -> None:
    # The 2019 notice made Saturday 2018-12-29 a working day and Monday 12-31 a rest day: the
    # days before 元旦 belong to the next year's notice, so they stay provisional until it is out.
    assert not chinese_calendar.is_workday(d("2018-12-31"))
    assert chinese_calendar.is_workday(d("2018-12-29"))
    assert not cal().is_provisional(d("2026-12-24"))
    assert cal().is_provisional(d("2026-12-25")) and cal().is_provisional(d("2026-12-31"))
    assert cal().next_provisional(d("2026-12-03")) == d("2026-12-25")
    assert not cal().provisional_between(d("2026-12-03"), d("2026-12-24"))


def test_provisional_between_is_half_open_like_counting() -> None:
    # (start, end]: the start day itself is not counted, so its status does not matter
    assert not cal().provisional_between(d("2027-02-24"), d("2027-02-25"))
    assert cal().provisional_between(d("2027-02-23"), d("2027-02-24"))
    assert not cal().provisional_between(d("2027-02-24"), d("2027-02-01"))  # backwards: nothing


def test_days_before_the_first_notice_in_the_data_are_provisional() -> None:
    # the package starts with 2004; 2003's National Day is not in it
    assert not cal().is_provisional(d("2004-01-01"))
    assert cal().is_provisional(d("2003-10-01"))
    assert "provisional" in cal().describe(d("2003-10-04")).source


# -- the counting API ------------------------------------------------------------------------


def test_zero_working_days_is_the_start_itself_even_on_a_rest_day() -> None:
    assert cal().add_working_days(d("2026-10-03"), 0) == d("2026-10-03")


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        cal().add_working_days(d("2026-03-02"), -1)
    with pytest.raises(ValueError, match="negative"):
        cal().working_days_before(d("2026-03-02"), -1)


def test_working_days_before_needs_a_working_day() -> None:
    with pytest.raises(ValueError, match="not a working day"):
        cal().working_days_before(d("2026-10-01"), 1)
    assert cal().working_days_before(d("2026-10-08"), 1) == d("2026-09-30")
    assert cal().working_days_before(d("2026-02-24"), 1) == d("2026-02-14")


def test_working_days_between_is_negative_backwards_and_zero_over_a_holiday() -> None:
    assert cal().working_days_between(d("2026-10-12"), d("2026-09-30")) == -4
    assert cal().working_days_between(d("2026-09-30"), d("2026-10-07")) == 0
    assert cal().working_days_between(d("2026-03-02"), d("2026-03-02")) == 0


def test_next_workday() -> None:
    assert cal().next_workday(d("2026-10-01")) == d("2026-10-08")
    assert cal().next_workday(d("2026-02-14")) == d("2026-02-14")
    assert cal().next_workday(d("2026-03-07")) == d("2026-03-09")


def test_natural_days_with_and_without_roll_over() -> None:
    assert cal().add_natural_days(d("2026-09-21"), 10) == d("2026-10-01")
    rolled = cal().add_natural_days(d("2026-09-21"), 10, roll_over_holidays=True)
    assert rolled == d("2026-10-08")
    # a last day that is a make-up working Saturday does not roll
    saturday = cal().add_natural_days(d("2026-02-04"), 10, roll_over_holidays=True)
    assert saturday == d("2026-02-14")
    plain = cal().add_natural_days(d("2026-03-02"), 3, roll_over_holidays=True)
    assert plain == d("2026-03-05")


def test_dates_outside_the_index_raise_a_range_error() -> None:
    assert issubclass(CalendarRangeError, ValueError)
    with pytest.raises(CalendarRangeError, match="outside"):
        cal().is_workday(INDEX_FIRST - timedelta(days=1))
    with pytest.raises(CalendarRangeError, match="outside"):
        cal().working_days_between(d("2026-01-01"), INDEX_LAST + timedelta(days=1))
    with pytest.raises(CalendarRangeError, match="past"):
        cal().add_working_days(d("2100-12-01"), 100)
    with pytest.raises(CalendarRangeError, match="before"):
        cal().working_days_before(d("1990-01-03"), 10)


# -- overlays --------------------------------------------------------------------------------

OVERLAY_2027 = """\
notice: 国务院办公厅关于2027年部分节假日安排的通知
covers: 2027
rest_days:
  - {date: 2027-01-01, name: 元旦}
  - {from: 2027-02-05, to: 2027-02-12, name: 春节}
working_days:
  - {date: 2027-02-20, name: 春节调休上班}
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_overlay_adds_2027_holidays_and_covers_makes_2027_final(tmp_path: Path) -> None:
    write(tmp_path, "2027.yaml", OVERLAY_2027)
    calendar = load_calendar(tmp_path)
    assert not calendar.is_workday(d("2027-01-01"))
    assert all(not calendar.is_workday(day) for day in days("2027-02-05", "2027-02-12"))
    assert calendar.is_workday(d("2027-02-20"))  # a Saturday
    assert calendar.known_until == d("2027-12-31")
    assert not calendar.is_provisional(d("2027-06-30"))
    assert not calendar.is_provisional(d("2027-02-11"))  # provisional without the notice
    assert calendar.is_provisional(d("2028-01-03"))  # 2028 has no notice: 元旦's 补假
    # the notice (this one is made up) settles its year: no 补假 of Sunlight's, the law's holidays stay
    assert calendar.is_workday(d("2027-05-04"))
    assert not calendar.is_workday(d("2027-04-05"))
    described = calendar.describe(d("2027-02-08"))
    assert described.name == "春节"
    assert "2027.yaml" in described.source
    # 2026-12-31 Thu is day 1; 1-1 rests; 1-4 Mon is day 2
    assert calendar.add_working_days(d("2026-12-30"), 2) == d("2027-01-04")


def test_overlay_without_covers_leaves_the_year_provisional(tmp_path: Path) -> None:
    write(tmp_path, "2027.yaml", OVERLAY_2027.replace("covers: 2027\n", ""))
    calendar = load_calendar(tmp_path)
    assert not calendar.is_workday(d("2027-02-12"))
    assert calendar.is_provisional(d("2027-02-12"))
    assert calendar.is_workday(d("2027-02-20"))
    assert calendar.is_provisional(d("2027-02-20"))
    assert calendar.is_provisional(d("2027-05-04"))  # the law's 补假 of a year without a notice


def test_covers_does_not_jump_over_a_year_without_a_notice(tmp_path: Path) -> None:
    write(tmp_path, "2028.yaml", "notice: 2028年通知\ncovers: 2028\n")
    calendar = load_calendar(tmp_path)
    assert calendar.known_until == d("2026-12-31")
    assert calendar.is_provisional(d("2027-05-04"))
    assert calendar.is_provisional(d("2028-05-03"))
    write(tmp_path, "2027.yaml", OVERLAY_2027)
    both = load_calendar(tmp_path)
    assert both.known_until == d("2028-12-31")
    assert not both.is_provisional(d("2028-05-03"))


def test_overlay_wins_over_the_package(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2026-change.yaml",
        """\
notice: 某市关于2026年国庆调整的通知
rest_days:
  - {date: 2026-10-08, name: 国庆节}
  - {date: 2026-10-10, name: 休息}
working_days:
  - {date: 2026-10-03, name: 值班}
""",
    )
    calendar = load_calendar(tmp_path)
    assert cal().is_workday(d("2026-10-08"))
    assert not calendar.is_workday(d("2026-10-08"))
    assert not calendar.is_workday(d("2026-10-10"))  # a package make-up day, now a rest day
    assert calendar.is_workday(d("2026-10-03"))
    assert "2026-change.yaml" in calendar.describe(d("2026-10-10")).source
    assert calendar.add_working_days(d("2026-09-30"), 1) == d("2026-10-03")


def test_overlay_wins_over_the_law_in_a_year_without_a_notice(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2027-spring.yaml",
        """\
notice: 国务院办公厅关于2027年部分节假日安排的通知（春节部分）
rest_days:
  - {from: 2027-02-11, to: 2027-02-12, name: 春节}
working_days:
  - {date: 2027-02-09, name: 春节调休上班}
  - {date: 2027-04-05, name: 值班}
""",
    )
    calendar = load_calendar(tmp_path)
    assert cal().is_workday(d("2027-02-11")) and not cal().is_workday(d("2027-02-09"))
    assert not calendar.is_workday(d("2027-02-11"))
    assert calendar.is_workday(d("2027-02-09"))  # the law's 补假 guess gives way
    assert calendar.is_workday(d("2027-04-05"))  # even a statutory day, when an overlay says so
    assert "2027-spring.yaml" in calendar.describe(d("2027-02-09")).source
    assert not calendar.is_workday(d("2027-02-10"))  # a guess no overlay replaced stays
    # without `covers` the year is still open: the days around 春节 stay provisional
    assert calendar.is_provisional(d("2027-02-11"))


def test_later_overlay_file_wins_over_an_earlier_one(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "notice: a\nrest_days:\n  - {date: 2027-01-04, name: a}\n")
    write(tmp_path, "b.yaml", "notice: b\nworking_days:\n  - {date: 2027-01-04, name: b}\n")
    calendar = load_calendar(tmp_path)
    assert calendar.is_workday(d("2027-01-04"))
    assert calendar.describe(d("2027-01-04")).name == "b"


def test_no_folder_or_no_overlays_gives_the_package_calendar(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "not an overlay")
    for calendar in (
        load_calendar(None),
        load_calendar(tmp_path / "missing"),
        load_calendar(tmp_path),
    ):
        assert calendar.known_until == cal().known_until
        assert calendar.overrides_in(2026) == cal().overrides_in(2026)


BAD_OVERLAYS = {
    "unknown-key": ("notice: x\nrest_day:\n  - {date: 2027-01-01, name: 元旦}\n", "rest_day"),
    "no-notice": ("covers: 2027\n", "notice"),
    "empty": ("", "notice"),
    "bad-date": ("notice: x\nrest_days:\n  - {date: 2027-02-30, name: 元旦}\n", "date"),
    "to-before-from": (
        "notice: x\nrest_days:\n  - {from: 2027-02-12, to: 2027-02-05, name: 春节}\n",
        "before",
    ),
    "from-without-to": (
        "notice: x\nrest_days:\n  - {from: 2027-02-05, name: 春节}\n",
        "either",
    ),
    "date-and-from": (
        "notice: x\nrest_days:\n  - {date: 2027-02-05, from: 2027-02-06, name: 春节}\n",
        "either",
    ),
    "no-name": ("notice: x\nrest_days:\n  - {date: 2027-01-01}\n", "name"),
    "rest-and-work": (
        "notice: x\nrest_days:\n  - {date: 2027-01-01, name: a}\n"
        "working_days:\n  - {date: 2027-01-01, name: b}\n",
        "both",
    ),
    "outside-index": ("notice: x\nrest_days:\n  - {date: 2207-01-01, name: 元旦}\n", "outside"),
    "covers-outside": ("notice: x\ncovers: 20270\n", "outside"),
    "yaml-syntax": ("notice: x\nrest_days: [\n", "invalid calendar overlay"),
    "not-a-mapping": ("- 2027-01-01\n", "invalid calendar overlay"),
}


@pytest.mark.parametrize("case", sorted(BAD_OVERLAYS))
def test_invalid_overlay_is_refused_with_the_file_named(tmp_path: Path, case: str) -> None:
    text, hint = BAD_OVERLAYS[case]
    path = write(tmp_path, f"{case}.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_calendar(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert hint in message
    assert caught.value.exit_code == 2


def test_overlay_that_is_not_utf8_is_refused_with_the_file_named(tmp_path: Path) -> None:
    path = tmp_path / "gbk.yaml"
    content = "notice: 春节\n".encode("gbk")  # 春 in GBK starts with 0xB4, never valid UTF-8
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load_calendar(tmp_path)
    assert str(path) in str(caught.value)


# -- properties ------------------------------------------------------------------------------

DATES = st.dates(min_value=date(2004, 1, 1), max_value=date(2030, 12, 31))
COUNTS = st.integers(min_value=0, max_value=400)
FAST = settings(max_examples=200, deadline=None)


@FAST
@given(DATES, COUNTS)
def test_forward_n_then_counting_back_gives_n(start: date, n: int) -> None:
    assert cal().working_days_between(start, cal().add_working_days(start, n)) == n


@FAST
@given(DATES, st.integers(min_value=1, max_value=400))
def test_the_nth_working_day_is_a_working_day_after_the_start(start: date, n: int) -> None:
    due = cal().add_working_days(start, n)
    assert cal().is_workday(due)
    assert due > start
    # and it is the first day at which n working days have passed
    assert cal().working_days_between(start, due - timedelta(days=1)) == n - 1


@FAST
@given(DATES, COUNTS)
def test_add_working_days_is_strictly_increasing_in_n(start: date, n: int) -> None:
    assert cal().add_working_days(start, n) < cal().add_working_days(start, n + 1)


@FAST
@given(DATES, DATES, COUNTS)
def test_add_working_days_is_monotonic_in_the_start(a: date, b: date, n: int) -> None:
    early, late = min(a, b), max(a, b)
    assert cal().add_working_days(early, n) <= cal().add_working_days(late, n)


@FAST
@given(DATES, st.integers(min_value=1, max_value=400))
def test_working_days_before_undoes_add_working_days(start: date, n: int) -> None:
    back = cal().working_days_before(cal().add_working_days(start, n), n)
    if cal().is_workday(start):
        assert back == start
    else:  # a rest-day start goes back to the last working day before it
        assert back < start
        assert cal().is_workday(back)
        assert cal().working_days_between(back, start) == 0


@FAST
@given(DATES)
def test_one_day_step_counts_the_day_itself(day: date) -> None:
    assert cal().working_days_between(day - timedelta(days=1), day) == int(cal().is_workday(day))


@FAST
@given(DATES, st.integers(min_value=0, max_value=400))
def test_natural_roll_over_lands_on_the_first_working_day_not_before(start: date, n: int) -> None:
    plain = cal().add_natural_days(start, n)
    rolled = cal().add_natural_days(start, n, roll_over_holidays=True)
    assert cal().is_workday(rolled)
    assert rolled >= plain
    assert cal().working_days_between(plain - timedelta(days=1), rolled - timedelta(days=1)) == 0


# -- cross-check with python-holidays ---------------------------------------------------------

CROSS_YEARS = range(2020, 2027)


def test_every_weekday_public_holiday_in_python_holidays_is_a_rest_day() -> None:
    """holidays.China lists the public holidays, and (in recent versions) the weekdays given off
    in exchange for weekend work as "Day off (substituted from …)". It does not list the
    weekend days of a holiday period that were rest days anyway, so the relation that must hold
    is one-way on weekdays: each weekday it names is a rest day here."""
    china = holidays.China(years=CROSS_YEARS)
    working = sorted(day for day in china if day.weekday() < 5 and cal().is_workday(day))
    assert working == []


def test_python_holidays_and_the_index_agree_on_weekday_rest_and_weekend_work() -> None:
    """Two independent transcriptions of the same notices: on weekdays the rest days are the
    same set, and the weekend days moved to work (`weekend_workdays`) are the same set."""
    china = holidays.China(years=CROSS_YEARS)
    in_years = days("2020-01-01", "2026-12-31")
    ours_rest = {day for day in in_years if day.weekday() < 5 and not cal().is_workday(day)}
    theirs_rest = {day for day in china if day.weekday() < 5}
    assert ours_rest == theirs_rest
    ours_work = {day for day in in_years if day.weekday() >= 5 and cal().is_workday(day)}
    theirs_work = {day for day in china.weekend_workdays if day.year in CROSS_YEARS}
    assert ours_work == theirs_work


# -- time zone independence ------------------------------------------------------------------

PROBE = """
import json
from datetime import date, datetime, timedelta, timezone
from monitor.calendar import WorkCalendar
from monitor.engine.clock import ClockSpec, run_clock
from monitor.model import LimitUnit

cal = WorkCalendar.default()
starts = [date(2026, 2, 12), date(2026, 9, 29), date(2025, 1, 20), date(2026, 12, 28)]
out = {
    "add": [cal.add_working_days(s, n).isoformat() for s in starts for n in (1, 3, 7, 20)],
    "workday": [cal.is_workday(date(2026, 2, 1) + timedelta(days=i)) for i in range(60)],
    "before": cal.working_days_before(date(2026, 2, 24), 3).isoformat(),
    "provisional": cal.is_provisional(date(2027, 1, 4)),
}
# 2026-02-13 17:00 UTC is 2026-02-14 01:00 in Beijing: a make-up working Saturday
start = datetime(2026, 2, 13, 17, 0, tzinfo=timezone.utc)
now = datetime(2026, 2, 20, 0, 0, tzinfo=timezone.utc)
res = run_clock(ClockSpec(1, LimitUnit.WORKING_DAYS), start, None, (), 0, cal, now)
out["clock"] = [res.due.isoformat(), res.due_day.isoformat(), res.used]
print(json.dumps(out))
"""


def probe(tz: str) -> dict[str, object]:
    env = {**os.environ, "TZ": tz}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_answers_do_not_depend_on_the_server_time_zone() -> None:
    answers = {tz: probe(tz) for tz in ("UTC", "America/New_York", "Asia/Shanghai")}
    assert answers["UTC"] == answers["America/New_York"] == answers["Asia/Shanghai"]
    clock = answers["UTC"]["clock"]
    # start day 2-14 in Beijing (2-13 in UTC): its first working day is 2-24, after the holiday;
    # at 2-20 08:00 Beijing no working day has been used yet
    assert clock == ["2026-02-25T00:00:00+08:00", "2026-02-24", 0.0]


@pytest.fixture
def server_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_tz")
@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_calendar_answers_are_the_same_after_changing_the_process_time_zone(
    monkeypatch: pytest.MonkeyPatch, tz: str
) -> None:
    expected = [cal().add_working_days(d("2026-02-12"), n) for n in range(1, 15)]
    monkeypatch.setenv("TZ", tz)
    time.tzset()
    assert time.localtime(0).tm_hour == (0 if tz == "UTC" else 19)  # the change took effect
    fresh = WorkCalendar.default()
    assert [fresh.add_working_days(d("2026-02-12"), n) for n in range(1, 15)] == expected
    assert fresh.add_working_days(d("2026-02-12"), 3) == d("2026-02-24")


def test_difference_names_the_days_two_calendars_count_differently(tmp_path: Path) -> None:
    base = load_calendar(tmp_path)
    assert base.difference(load_calendar(tmp_path)) is None
    write(tmp_path, "2027.yaml", OVERLAY_2027)
    with_2027 = load_calendar(tmp_path)
    # The days that change: from the first provisional day before 元旦 2027 (now settled) to
    # the last one after 国庆节 2027; the days in between that nothing could move stay as they were.
    assert base.difference(with_2027) == (d("2026-12-25"), d("2027-10-19"))
    assert with_2027.difference(base) == (d("2026-12-25"), d("2027-10-19"))
    write(tmp_path, "local.yaml", "notice: 自治县通知\nrest_days:\n  - {date: 2026-11-20, name: 县庆}\n")
    assert with_2027.difference(load_calendar(tmp_path)) == (d("2026-11-20"), d("2026-11-20"))
