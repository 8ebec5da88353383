"""The statutory clock: deadlines, pauses, extensions, warning levels and time zones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.calendar import WorkCalendar
from monitor.engine.clock import ClockResult, ClockSpec, Pause, _run_days, run_clock
from monitor.engine.deadline import _span_end
from monitor.model import Level, LimitUnit
from tests.properties import examples

BEIJING = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
US = timedelta(microseconds=1)
WORKING, NATURAL, HOURS = LimitUnit.WORKING_DAYS, LimitUnit.NATURAL_DAYS, LimitUnit.HOURS


@cache
def cal() -> WorkCalendar:
    return WorkCalendar.default()


def bj(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """An instant in Beijing time."""
    return datetime(y, m, d, h, mi, tzinfo=BEIJING)


def midnight_after(day: date) -> datetime:
    """24:00 Beijing time of `day`: the instant a day-based limit ending that day runs out."""
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=BEIJING)


def run(
    spec: ClockSpec,
    start: datetime,
    now: datetime,
    *,
    stop: datetime | None = None,
    pauses: tuple[Pause, ...] = (),
    extension: int = 0,
) -> ClockResult:
    return run_clock(spec, start, stop, pauses, extension, cal(), now)


def pause(start: datetime, end: datetime | None) -> Pause:
    return Pause(start, end, "检验检测")


# -- day-based deadlines ---------------------------------------------------------------------


def test_working_days_skip_the_start_day_and_end_at_midnight_beijing() -> None:
    # accepted Thu 2026-02-12: 2-13, 2-14 (Sat, 调休上班), then the Spring Festival, then 2-24
    spec = ClockSpec(3, WORKING)
    start = bj(2026, 2, 12, 10)
    res = run(spec, start, bj(2026, 2, 13, 9))
    assert res.due_day == date(2026, 2, 24)
    assert res.due == bj(2026, 2, 25)
    assert res.due.utcoffset() == timedelta(hours=8)
    assert res.skipped_rest_days == 9  # 2-15..2-23
    assert not res.provisional
    assert res.level is None
    assert res.next_change == res.due


def test_one_microsecond_before_the_deadline_is_not_late_and_the_deadline_is_red() -> None:
    spec = ClockSpec(3, WORKING)
    start = bj(2026, 2, 12, 10)
    due = bj(2026, 2, 25)
    before = run(spec, start, due - US)
    assert before.level is None
    assert before.overdue_units == 0.0
    assert before.used == 3.0
    at = run(spec, start, due)
    assert at.level is Level.RED
    assert at.overdue_units == 1.0
    assert at.next_change is None


def test_the_start_day_is_not_counted_whatever_the_hour() -> None:
    spec = ClockSpec(1, WORKING)
    for start in (bj(2026, 3, 2, 0, 0), bj(2026, 3, 2, 23, 59)):  # Monday
        assert run(spec, start, start).due == bj(2026, 3, 4)  # end of Tuesday
    # a case received late on Sunday counts from Monday
    assert run(spec, bj(2026, 3, 1, 23, 59), bj(2026, 3, 2)).due_day == date(2026, 3, 2)


def test_overdue_units_are_counted_in_working_days() -> None:
    spec = ClockSpec(1, WORKING)
    # due Wed 2026-09-30; by Fri 10-09 only 10-08 and 10-09 have passed as working days
    res = run(spec, bj(2026, 9, 29, 10), bj(2026, 10, 9, 12))
    assert res.due_day == date(2026, 9, 30)
    assert res.level is Level.RED
    assert res.overdue_units == 2.0


def test_used_counts_working_days_up_to_now() -> None:
    spec = ClockSpec(10, WORKING)
    res = run(spec, bj(2026, 3, 2, 10), bj(2026, 3, 9, 8))  # Mon to the next Mon
    assert res.used == 5.0


def test_natural_days_count_holidays() -> None:
    spec = ClockSpec(10, NATURAL)
    res = run(spec, bj(2026, 9, 21, 15), bj(2026, 9, 22))
    assert res.due_day == date(2026, 10, 1)
    assert res.due == bj(2026, 10, 2)
    assert res.skipped_rest_days == 0
    assert not res.provisional


def test_natural_days_with_roll_over_move_a_holiday_last_day_to_the_next_working_day() -> None:
    spec = ClockSpec(10, NATURAL, roll_over_holidays=True)
    res = run(spec, bj(2026, 9, 21, 15), bj(2026, 9, 22))
    assert res.due_day == date(2026, 10, 8)
    assert res.due == bj(2026, 10, 9)
    assert res.skipped_rest_days == 7  # 10-01..10-07
    # a last day that is a make-up working Saturday does not roll
    saturday = run(spec, bj(2026, 2, 4, 9), bj(2026, 2, 5))
    assert saturday.due_day == date(2026, 2, 14)
    assert saturday.skipped_rest_days == 0


def test_natural_days_into_an_unknown_year_are_not_provisional_unless_they_roll() -> None:
    # 90 natural days (行政处罚法) never look at the holiday calendar
    plain = run(ClockSpec(90, NATURAL), bj(2026, 11, 2, 9), bj(2026, 11, 3))
    assert plain.due_day == date(2027, 1, 31)
    assert not plain.provisional
    rolled = run(ClockSpec(90, NATURAL, roll_over_holidays=True), bj(2026, 11, 2, 9), bj(2026, 11, 3))
    assert rolled.due_day == date(2027, 2, 1)  # 1-31 is a Sunday
    assert rolled.provisional


def test_working_days_into_2027_rest_on_new_year_s_day_and_are_provisional_around_it() -> None:
    # 12-29, 12-30, 12-31, then 1-1 (元旦, from the law) rests, 1-4, 1-5
    res = run(ClockSpec(5, WORKING), bj(2026, 12, 28, 9), bj(2026, 12, 28, 10))
    assert res.due_day == date(2027, 1, 5)
    assert res.skipped_rest_days == 3  # 1-1 and the weekend
    assert res.provisional  # the 2027 notice may still move days around 元旦
    assert not run(ClockSpec(3, WORKING), bj(2026, 12, 14, 9), bj(2026, 12, 15)).provisional


def test_the_clock_is_provisional_when_any_counted_day_is_not_only_the_last() -> None:
    # 20 working days from 2027-01-28 end in March, after 春节: the last day is final, the
    # span crosses the days the 2027 notice may still move
    res = run(ClockSpec(20, WORKING), bj(2027, 1, 28, 9), bj(2027, 1, 28, 10))
    assert res.due_day == date(2027, 3, 3)
    assert not cal().is_provisional(res.due_day)
    assert res.provisional
    # a deadline counted through March 2027 that crosses no holiday period is final
    march = run(ClockSpec(15, WORKING), bj(2027, 2, 24, 9), bj(2027, 2, 24, 10))
    assert march.due_day == date(2027, 3, 17)
    assert not march.provisional


def test_a_pause_that_moves_the_deadline_into_a_holiday_period_makes_it_provisional() -> None:
    spec = ClockSpec(10, WORKING)
    start = bj(2027, 3, 1, 9)
    plain = run(spec, start, bj(2027, 3, 2))
    assert plain.due_day == date(2027, 3, 15) and not plain.provisional
    paused = run(spec, start, bj(2027, 4, 20), pauses=(pause(bj(2027, 3, 3, 9), bj(2027, 3, 31, 9)),))
    assert paused.due_day > date(2027, 4, 5)
    assert paused.provisional
    still = run(spec, start, bj(2027, 3, 20), pauses=(pause(bj(2027, 3, 3, 9), None),))
    assert still.due is None
    assert not still.provisional  # the count so far ends 3-15, before the 清明 days


def test_natural_days_roll_over_is_provisional_only_where_the_roll_over_looks() -> None:
    rolls = ClockSpec(10, NATURAL, roll_over_holidays=True)
    # 10 days from 2027-01-26 end on 2-5 (除夕): rolled over the law's 春节 and 补假 to 2-11
    res = run(rolls, bj(2027, 1, 26, 9), bj(2027, 1, 27))
    assert res.due_day == date(2027, 2, 11)
    assert res.provisional
    # 10 days from 2027-03-01 end on Thursday 3-11: nothing to roll over, nothing provisional,
    # even though 春节 lay in between
    assert not run(rolls, bj(2027, 3, 1, 9), bj(2027, 3, 2)).provisional
    # 10 days from 2027-01-31 end on 2-10, a 补假 the notice may yet move: rolled to 2-11
    guess = run(rolls, bj(2027, 1, 31, 9), bj(2027, 2, 1))
    assert (guess.due_day, guess.provisional) == (date(2027, 2, 11), True)


def test_hours_ignore_the_calendar_and_end_on_the_instant() -> None:
    spec = ClockSpec(24, HOURS)
    start = bj(2026, 10, 1, 10)
    res = run(spec, start, start)
    assert res.due == bj(2026, 10, 2, 10)
    assert res.due_day is None
    assert not res.provisional
    assert run(spec, start, res.due - US).level is None
    late = run(spec, start, res.due + timedelta(hours=3))
    assert late.level is Level.RED
    assert late.overdue_units == pytest.approx(3.0)
    assert late.used == pytest.approx(27.0)


def test_hours_with_two_pauses_give_every_figure_of_the_result() -> None:
    # 8 hours from 10:00, paused 11-13 and 15-16: due at 21:00, yellow two hours before
    start = bj(2026, 3, 2, 10)
    pauses = (pause(bj(2026, 3, 2, 11), bj(2026, 3, 2, 13)), pause(bj(2026, 3, 2, 15), bj(2026, 3, 2, 16)))
    spec = ClockSpec(8, HOURS, yellow_left=2)
    due, yellow = bj(2026, 3, 2, 21), bj(2026, 3, 2, 19)
    res = run(spec, start, bj(2026, 3, 2, 20), pauses=pauses)
    assert res == ClockResult(due, None, yellow, Level.YELLOW, due, 7.0, 8, 3, 0, False, 0.0)
    late = run(spec, start, bj(2026, 3, 2, 22, 30), pauses=pauses)
    assert late == ClockResult(due, None, yellow, Level.RED, None, 9.5, 8, 3, 0, False, 1.5)
    fresh = run(spec, start, start, pauses=pauses)
    assert (fresh.used, fresh.level, fresh.next_change) == (0.0, None, yellow)


@pytest.mark.parametrize(
    ("amount", "yellow_share", "yellow_left", "yellow_after"),
    [
        (0, None, 1, None),  # no time at all: no yellow before the red
        (0, 0.5, None, None),
        (1, None, 1, timedelta(0)),  # one hour, yellow with one left: from the start
        (1, 0.5, None, timedelta(minutes=30)),
        (2, None, 1, timedelta(hours=1)),
    ],
)
def test_hours_yellow_on_short_limits(
    amount: int, yellow_share: float | None, yellow_left: int | None, yellow_after: timedelta | None
) -> None:
    start = bj(2026, 3, 2, 10)
    res = run(ClockSpec(amount, HOURS, yellow_share=yellow_share, yellow_left=yellow_left), start, start)
    assert res.yellow_at == (None if yellow_after is None else start + yellow_after)
    assert res.due == start + timedelta(hours=amount)


def test_hours_are_elapsed_time_even_across_a_daylight_saving_change() -> None:
    # 2026-03-08 02:00 America/New_York jumps to 03:00: 24 h after Saturday noon is Sunday 13:00
    start = datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK)
    res = run(ClockSpec(24, HOURS), start, start)
    assert res.due == start.astimezone(UTC) + timedelta(hours=24)
    assert res.due == datetime(2026, 3, 8, 13, 0, tzinfo=NEW_YORK)


def test_zero_limit_is_due_at_the_end_of_the_start_day() -> None:
    res = run(ClockSpec(0, WORKING), bj(2026, 10, 3, 9), bj(2026, 10, 3, 10))
    assert res.due_day == date(2026, 10, 3)
    assert res.due == bj(2026, 10, 4)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        run(ClockSpec(3, WORKING), datetime(2026, 3, 2, 9), bj(2026, 3, 2, 10))
    with pytest.raises(ValueError, match="naive"):
        run(ClockSpec(3, HOURS), bj(2026, 3, 2, 9), datetime(2026, 3, 2, 10))


# -- pauses ----------------------------------------------------------------------------------


def test_a_pause_excludes_the_working_days_after_its_start_day_up_to_its_resume_day() -> None:
    spec = ClockSpec(5, WORKING)
    start = bj(2026, 3, 2, 10)  # Monday; due Monday 3-09 without a pause
    assert run(spec, start, start).due_day == date(2026, 3, 9)
    stopped = pause(bj(2026, 3, 3, 10), bj(2026, 3, 5, 15))  # excludes 3-04 and 3-05
    res = run(spec, start, bj(2026, 3, 6), pauses=(stopped,))
    assert res.paused_units == 2
    assert res.due_day == date(2026, 3, 11)
    assert res.due == bj(2026, 3, 12)
    assert res.used == 2.0  # 3-03 and 3-06; 3-04 and 3-05 were paused
    # the weekend 3-07/3-08 is still a rest day stepped over; paused days are not rest days
    assert res.skipped_rest_days == 2


def test_a_pause_that_resumes_the_same_day_excludes_nothing() -> None:
    spec = ClockSpec(5, WORKING)
    start = bj(2026, 3, 2, 10)
    res = run(spec, start, start, pauses=(pause(bj(2026, 3, 3, 9), bj(2026, 3, 3, 17)),))
    assert res.paused_units == 0
    assert res.due_day == date(2026, 3, 9)


def test_a_pause_over_a_holiday_excludes_only_its_working_days() -> None:
    spec = ClockSpec(5, WORKING)
    start = bj(2026, 9, 28, 10)  # due 10-10 without a pause: 9-29, 9-30, 10-8, 10-9, 10-10
    assert run(spec, start, start).due_day == date(2026, 10, 10)
    over = pause(bj(2026, 9, 30, 10), bj(2026, 10, 9, 10))  # excludes 10-08 and 10-09
    res = run(spec, start, start, pauses=(over,))
    assert res.paused_units == 2
    assert res.due_day == date(2026, 10, 13)


def test_natural_days_pause_excludes_calendar_days() -> None:
    spec = ClockSpec(10, NATURAL)
    start = bj(2026, 3, 2, 10)
    res = run(spec, start, start, pauses=(pause(bj(2026, 3, 4, 10), bj(2026, 3, 7, 10)),))
    assert res.paused_units == 3
    assert res.due_day == date(2026, 3, 15)


def test_an_open_pause_has_no_deadline() -> None:
    spec = ClockSpec(5, WORKING, yellow_left=2)
    start = bj(2026, 3, 2, 10)
    res = run(spec, start, bj(2026, 3, 20), pauses=(pause(bj(2026, 3, 4, 10), None),))
    assert res.due is None
    assert res.due_day is None
    assert res.yellow_at is None
    assert res.level is None
    assert res.next_change is None
    assert res.used == 2.0  # 3-03 and 3-04, the day the pause began


def test_an_open_pause_on_an_hours_clock_has_no_deadline() -> None:
    start = bj(2026, 3, 2, 10)
    res = run(ClockSpec(8, HOURS), start, bj(2026, 3, 3), pauses=(pause(bj(2026, 3, 2, 13), None),))
    assert (res.due, res.level, res.next_change) == (None, None, None)
    assert res.used == pytest.approx(3.0)


def test_an_open_pause_after_a_closed_one_reports_the_count_so_far() -> None:
    # 8 hours (+1 extension) from 10:00; paused 11:00-13:00, then again from 14:00: two hours
    # used, two paused, no deadline while the pause runs
    start = bj(2026, 3, 2, 10)
    closed = pause(bj(2026, 3, 2, 11), bj(2026, 3, 2, 13))
    running = pause(bj(2026, 3, 2, 14), None)
    hours = run(
        ClockSpec(8, HOURS, yellow_left=1), start, bj(2026, 3, 2, 20), pauses=(closed, running), extension=1
    )
    assert hours == ClockResult(None, None, None, None, None, 2.0, 9, 2, 0, False, 0.0)
    # 5 working days (+1) from Mon 3-02; 3-04 and 3-05 paused, then paused again from Fri 3-06:
    # 3-03 and 3-06 used
    closed = pause(bj(2026, 3, 3, 10), bj(2026, 3, 5, 15))
    running = pause(bj(2026, 3, 6, 10), None)
    spec = ClockSpec(5, WORKING, yellow_left=2)
    days = run(spec, start, bj(2026, 3, 20), pauses=(closed, running), extension=1)
    assert days == ClockResult(None, None, None, None, None, 2.0, 6, 2, 0, False, 0.0)


def test_a_pause_is_counted_in_the_clock_s_zone() -> None:
    # Mon 3-02 10:00 in New York, 5 working days: paused from Tue 20:00 to Thu 15:00 there
    # (already Wednesday in Beijing): 3-04 and 3-05 do not count
    spec = ClockSpec(5, WORKING)
    start = datetime(2026, 3, 2, 10, tzinfo=NEW_YORK)
    stopped = pause(datetime(2026, 3, 3, 20, tzinfo=NEW_YORK), datetime(2026, 3, 5, 15, tzinfo=NEW_YORK))
    res = run_clock(spec, start, None, (stopped,), 0, cal(), start, NEW_YORK)
    assert (res.paused_units, res.due_day) == (2, date(2026, 3, 11))
    # a pause from noon of the last day in New York (after midnight in Beijing) still helps
    late = pause(datetime(2026, 3, 9, 12, tzinfo=NEW_YORK), datetime(2026, 3, 10, 12, tzinfo=NEW_YORK))
    res = run_clock(spec, start, None, (late,), 0, cal(), start, NEW_YORK)
    assert (res.paused_units, res.due_day) == (1, date(2026, 3, 10))


def test_an_open_pause_from_the_start_day_has_used_nothing() -> None:
    start = bj(2026, 3, 2, 10)
    res = run(ClockSpec(5, WORKING), start, bj(2026, 3, 9), pauses=(pause(bj(2026, 3, 2, 15), None),))
    assert (res.due, res.used) == (None, 0.0)


def test_a_natural_day_roll_over_is_provisional_only_from_the_day_before_the_last() -> None:
    # 10 natural days from 2027-02-15 end on Thursday 2-25, a working day: nothing rolls; the
    # 2027 notice may still move 2-23, which the count never asks about
    res = run(ClockSpec(10, NATURAL, roll_over_holidays=True), bj(2027, 2, 15, 9), bj(2027, 2, 16))
    assert res.due_day == date(2027, 2, 25)
    assert not res.provisional
    assert cal().provisional_between(date(2027, 2, 23), date(2027, 2, 25))


def test_two_pauses_add_their_days() -> None:
    spec = ClockSpec(5, WORKING)
    start = bj(2026, 3, 2, 10)
    first = pause(bj(2026, 3, 3, 10), bj(2026, 3, 5, 15))  # 3-04 and 3-05
    second = pause(bj(2026, 3, 9, 10), bj(2026, 3, 10, 15))  # 3-10
    res = run(spec, start, bj(2026, 3, 11), pauses=(first, second))
    assert (res.paused_units, res.due_day) == (3, date(2026, 3, 12))


def test_a_zero_day_limit_has_no_yellow_before_its_red() -> None:
    start = bj(2026, 3, 2, 10)
    res = run(ClockSpec(0, WORKING, yellow_left=1), start, start)
    assert (res.yellow_at, res.level, res.next_change) == (None, None, bj(2026, 3, 3))
    natural = run(ClockSpec(0, NATURAL, yellow_share=0.5), start, start)
    assert (natural.yellow_at, natural.level) == (None, None)


def test_yellow_and_the_days_used_are_counted_in_the_clock_s_zone() -> None:
    # 5 working days from Mon 3-02 in New York end on Mon 3-09 there; yellow with 2 left
    spec = ClockSpec(5, WORKING, yellow_left=2)
    start = datetime(2026, 3, 2, 10, tzinfo=NEW_YORK)
    now = datetime(2026, 3, 5, 20, tzinfo=NEW_YORK)  # already Friday in Beijing
    res = run_clock(spec, start, None, (), 0, cal(), now, NEW_YORK)
    assert res.yellow_at == datetime(2026, 3, 6, tzinfo=NEW_YORK)
    assert (res.level, res.used) == (None, 3.0)


def test_a_running_pause_inside_a_closed_one_keeps_the_clock_paused() -> None:
    start = bj(2026, 3, 2, 10)
    closed = pause(bj(2026, 3, 3, 10), bj(2026, 3, 5, 10))
    running = pause(bj(2026, 3, 4, 10), None)
    res = run(ClockSpec(5, WORKING), start, bj(2026, 3, 20), pauses=(closed, running))
    assert (res.due, res.level) == (None, None)


def test_a_pause_after_two_overlapping_ones_still_counts() -> None:
    start = bj(2026, 3, 2, 10)
    a = pause(bj(2026, 3, 3, 10), bj(2026, 3, 4, 10))  # 3-04
    b = pause(bj(2026, 3, 3, 12), bj(2026, 3, 4, 12))  # inside a's days
    c = pause(bj(2026, 3, 9, 10), bj(2026, 3, 10, 10))  # 3-10
    res = run(ClockSpec(5, WORKING), start, start, pauses=(a, b, c))
    assert (res.paused_units, res.due_day) == (2, date(2026, 3, 11))


def test_instants_come_back_in_the_clock_s_zone() -> None:
    start = datetime(2026, 3, 2, 2, tzinfo=UTC)  # 10:00 in Beijing
    res = run(ClockSpec(5, WORKING, yellow_left=2), start, start)
    assert res.yellow_at is not None and res.next_change is not None and res.due is not None
    assert {t.utcoffset() for t in (res.due, res.yellow_at, res.next_change)} == {timedelta(hours=8)}


def test_a_pause_starting_after_the_deadline_does_not_help() -> None:
    spec = ClockSpec(3, WORKING)
    start = bj(2026, 2, 12, 10)
    late = pause(bj(2026, 2, 25), bj(2026, 3, 5))  # at 24:00 of the due day
    res = run(spec, start, bj(2026, 3, 6), pauses=(late,))
    assert res.due == bj(2026, 2, 25)
    assert res.paused_units == 0
    assert res.level is Level.RED
    still_open = run(spec, start, bj(2026, 3, 6), pauses=(pause(bj(2026, 2, 25), None),))
    assert still_open.due == bj(2026, 2, 25)
    assert still_open.level is Level.RED


def test_a_pause_starting_just_before_the_deadline_helps() -> None:
    spec = ClockSpec(3, WORKING)
    start = bj(2026, 2, 12, 10)
    just = pause(bj(2026, 2, 25) - US, bj(2026, 2, 26, 10))  # excludes 2-25 and 2-26
    res = run(spec, start, bj(2026, 2, 26, 12), pauses=(just,))
    assert res.paused_units == 2
    assert res.due_day == date(2026, 2, 26)
    assert res.level is None


def test_overlapping_pauses_exclude_each_day_once() -> None:
    spec = ClockSpec(5, WORKING)
    start = bj(2026, 3, 2, 10)
    a = pause(bj(2026, 3, 3, 10), bj(2026, 3, 5, 10))
    b = pause(bj(2026, 3, 4, 10), bj(2026, 3, 6, 10))
    union = pause(bj(2026, 3, 3, 10), bj(2026, 3, 6, 10))
    both = run(spec, start, start, pauses=(b, a))
    assert both.paused_units == 3  # 3-04, 3-05, 3-06
    assert both.due == run(spec, start, start, pauses=(union,)).due
    hours = ClockSpec(10, HOURS)
    h1 = pause(bj(2026, 3, 2, 11), bj(2026, 3, 2, 13))
    h2 = pause(bj(2026, 3, 2, 12), bj(2026, 3, 2, 14))
    assert run(hours, start, start, pauses=(h1, h2)).due == bj(2026, 3, 2, 23)


def test_a_pause_before_the_start_counts_only_from_the_start() -> None:
    spec = ClockSpec(5, WORKING)
    start = bj(2026, 3, 4, 10)
    early = pause(bj(2026, 3, 2, 10), bj(2026, 3, 5, 10))  # only 3-05 is after the start day
    res = run(spec, start, start, pauses=(early,))
    assert res.paused_units == 1
    assert res.due_day == cal().add_working_days(date(2026, 3, 4), 6)
    hours = run(ClockSpec(4, HOURS), start, start, pauses=(pause(bj(2026, 3, 4, 8), start),))
    assert hours.due == bj(2026, 3, 4, 14)


def test_a_pause_before_a_rolled_over_deadline_counts() -> None:
    # 10 natural days from Wed 2-25 end on Sat 3-07, which rolls to Mon 3-09 (民法典 art. 203)
    spec = ClockSpec(10, NATURAL, roll_over_holidays=True)
    start = bj(2026, 2, 25, 10)
    assert run(spec, start, start).due_day == date(2026, 3, 9)
    sunday = pause(bj(2026, 3, 8, 10), bj(2026, 3, 11, 10))  # before the Monday deadline
    res = run(spec, start, start, pauses=(sunday,))
    assert res.paused_units == 3
    assert res.due_day == date(2026, 3, 10)


# -- extension -------------------------------------------------------------------------------


def test_an_extension_adds_days_to_the_limit() -> None:
    start = bj(2026, 3, 2, 10)
    base = run(ClockSpec(20, WORKING), start, start)
    extended = run(ClockSpec(20, WORKING), start, start, extension=10)
    assert extended.limit == 30
    assert extended.due_day == cal().add_working_days(date(2026, 3, 2), 30)
    assert extended.due == run(ClockSpec(30, WORKING), start, start).due
    assert extended.due > base.due
    natural = run(ClockSpec(20, NATURAL), start, start, extension=10)
    assert natural.due_day == date(2026, 4, 1)


# -- levels and next_change ------------------------------------------------------------------


def test_yellow_by_share_then_red() -> None:
    # 10 working days from Mon 3-02 end on Mon 3-16; 80% used counting today is Thu 3-12
    spec = ClockSpec(10, WORKING, yellow_share=0.8)
    start = bj(2026, 3, 2, 10)
    quiet = run(spec, start, bj(2026, 3, 11, 23, 59))
    assert quiet.yellow_at == bj(2026, 3, 12)
    assert quiet.level is None
    assert quiet.next_change == quiet.yellow_at
    yellow = run(spec, start, bj(2026, 3, 12))
    assert yellow.level is Level.YELLOW
    assert yellow.used == 8.0
    assert yellow.next_change == yellow.due == bj(2026, 3, 17)
    red = run(spec, start, bj(2026, 3, 17))
    assert red.level is Level.RED
    assert red.next_change is None


def test_yellow_share_is_read_as_the_decimal_written() -> None:
    # 0.14 * 50 is 7.000000000000001 in floats; 14% of 50 working days is 7, not 8
    spec = ClockSpec(50, WORKING, yellow_share=0.14)
    start = bj(2026, 3, 2, 10)
    res = run(spec, start, start)
    seventh = cal().add_working_days(date(2026, 3, 2), 7)
    assert res.yellow_at == datetime.combine(seventh, datetime.min.time(), tzinfo=BEIJING)


def test_yellow_by_units_left() -> None:
    # 5 working days from Mon 3-02 end on Mon 3-09; 2 left counting today: Fri 3-06
    spec = ClockSpec(5, WORKING, yellow_left=2)
    start = bj(2026, 3, 2, 10)
    res = run(spec, start, bj(2026, 3, 5, 12))
    assert res.yellow_at == bj(2026, 3, 6)
    assert res.next_change == bj(2026, 3, 6)
    assert run(spec, start, bj(2026, 3, 7, 12)).level is Level.YELLOW
    natural = run(ClockSpec(10, NATURAL, yellow_left=3), start, start)
    assert natural.due_day == date(2026, 3, 12)
    assert natural.yellow_at == bj(2026, 3, 10)


def test_yellow_never_comes_before_the_start() -> None:
    spec = ClockSpec(1, WORKING, yellow_left=5)
    start = bj(2026, 3, 2, 10)
    res = run(spec, start, start)
    assert res.yellow_at == start
    assert res.level is Level.YELLOW


def test_hours_yellow_by_share_and_by_left() -> None:
    start = bj(2026, 3, 2, 10)
    by_share = run(ClockSpec(24, HOURS, yellow_share=0.5), start, start)
    assert by_share.yellow_at == start + timedelta(hours=12)
    assert by_share.next_change == by_share.yellow_at
    by_left = run(ClockSpec(24, HOURS, yellow_left=4), start, start + timedelta(hours=21))
    assert by_left.yellow_at == start + timedelta(hours=20)
    assert by_left.level is Level.YELLOW
    assert by_left.next_change == start + timedelta(hours=24)


def test_without_a_yellow_rule_the_next_change_is_the_deadline() -> None:
    res = run(ClockSpec(3, WORKING), bj(2026, 2, 12, 10), bj(2026, 2, 13))
    assert res.yellow_at is None
    assert res.next_change == bj(2026, 2, 25)


def test_stopped_after_the_deadline_is_red() -> None:
    spec = ClockSpec(3, WORKING, yellow_left=1)
    start = bj(2026, 2, 12, 10)
    res = run(spec, start, bj(2026, 3, 10), stop=bj(2026, 2, 25, 9))
    assert res.level is Level.RED
    assert res.next_change is None
    assert res.overdue_units == 1.0
    assert run(spec, start, bj(2026, 3, 10), stop=bj(2026, 2, 25)).level is Level.RED


def test_stopped_in_time_has_no_level_and_nothing_left_to_change() -> None:
    spec = ClockSpec(3, WORKING, yellow_left=1)
    start = bj(2026, 2, 12, 10)
    for stop in (bj(2026, 2, 25) - US, bj(2026, 2, 13, 9)):  # inside and before the yellow
        res = run(spec, start, bj(2026, 3, 10), stop=stop)
        assert res.level is None
        assert res.next_change is None
        assert res.overdue_units == 0.0
    used = run(spec, start, bj(2026, 3, 10), stop=bj(2026, 2, 24, 16))
    assert used.used == 3.0


def test_a_stop_after_now_is_not_yet_a_stop() -> None:
    spec = ClockSpec(3, WORKING)
    start = bj(2026, 2, 12, 10)
    res = run(spec, start, bj(2026, 2, 13), stop=bj(2026, 2, 20))
    assert res.level is None
    assert res.next_change == bj(2026, 2, 25)


# -- properties ------------------------------------------------------------------------------

FAST = settings(max_examples=examples(200), deadline=None)
INSTANTS = st.datetimes(
    min_value=datetime(2004, 1, 1), max_value=datetime(2029, 12, 31), timezones=st.just(UTC)
)
# Beijing midnight, where a day-based count changes day, and a microsecond either side.
MIDNIGHTS = st.builds(
    lambda day, shift: datetime.combine(day, clock_time(), tzinfo=BEIJING) + shift,
    st.dates(min_value=date(2004, 1, 2), max_value=date(2029, 12, 30)),
    st.sampled_from([-US, timedelta(0), US]),
)
STARTS = st.one_of(INSTANTS, MIDNIGHTS)
SPECS = st.builds(
    ClockSpec,
    amount=st.integers(min_value=0, max_value=60),
    unit=st.sampled_from([WORKING, NATURAL, HOURS]),
    roll_over_holidays=st.booleans(),
    yellow_share=st.one_of(st.none(), st.sampled_from([0.5, 0.7, 0.8, 0.14, 0.9, 1.0])),
    yellow_left=st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
)
# Offsets of `now`, a pause or a stop: anything up to four months, and on purpose none at all
# (two steps at one instant), a microsecond, and whole days (the same hour on a later day).
OFFSETS = st.one_of(
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)),
    st.sampled_from([timedelta(0), US, timedelta(days=1), timedelta(days=7)]),
)
SHIFTS = st.sampled_from([-US, timedelta(0), US])


def level_at(res: ClockResult, now: datetime) -> Level | None:
    """What a reader of the deadline expects of an unstopped clock: red from the deadline on,
    yellow from the yellow instant on, nothing before."""
    assert res.due is not None
    if now >= res.due:
        return Level.RED
    if res.yellow_at is not None and now >= res.yellow_at:
        return Level.YELLOW
    return None


@FAST
@given(SPECS, STARTS, st.sampled_from(["due", "yellow"]), SHIFTS)
def test_the_level_turns_exactly_on_the_deadline_and_on_the_yellow_instant(
    spec: ClockSpec, start: datetime, which: str, shift: timedelta
) -> None:
    probe = run(spec, start, start)
    assert probe.due is not None
    edge = probe.due if which == "due" or probe.yellow_at is None else probe.yellow_at
    now = max(edge + shift, start)
    res = run(spec, start, now)
    assert (res.due, res.yellow_at) == (probe.due, probe.yellow_at)  # `now` moves no deadline
    assert res.level is level_at(probe, now)
    if res.level is Level.RED:
        assert res.next_change is None
        assert res.overdue_units >= 0.0
    elif res.level is Level.YELLOW:
        assert res.next_change == probe.due
    else:
        assert res.overdue_units == 0.0
        waits_for = (
            probe.yellow_at if probe.yellow_at is not None and probe.yellow_at < probe.due else probe.due
        )
        assert res.next_change == waits_for


@FAST
@given(SPECS, STARTS, st.sampled_from(["due", "yellow", "start"]), SHIFTS, OFFSETS)
def test_a_stop_on_the_deadline_is_late_and_a_microsecond_before_is_in_time(
    spec: ClockSpec, start: datetime, which: str, shift: timedelta, after: timedelta
) -> None:
    probe = run(spec, start, start)
    assert probe.due is not None
    edge = {"due": probe.due, "yellow": probe.yellow_at or probe.due, "start": start}[which]
    stop = max(edge + shift, start)
    now = stop + after
    res = run(spec, start, now, stop=stop)
    assert res.due == probe.due
    assert res.level is (Level.RED if stop >= probe.due else None)
    assert res.next_change is None  # a stopped clock changes no more
    if res.level is Level.RED and spec.unit is HOURS:
        assert res.overdue_units == pytest.approx((stop - probe.due) / timedelta(hours=1))
    # the count stops with the clock: as of the stop, whatever `now` is
    assert res.used == run(spec, start, stop, stop=stop).used
    if stop < probe.due:
        assert res.overdue_units == 0.0


@FAST
@given(SPECS, STARTS, SHIFTS, OFFSETS)
def test_a_pause_beginning_on_the_deadline_does_not_move_it(
    spec: ClockSpec, start: datetime, shift: timedelta, length: timedelta
) -> None:
    plain = run(spec, start, start)
    assert plain.due is not None
    begin = max(plain.due + shift, start)
    end = begin + length
    paused = run(spec, start, end + timedelta(days=1), pauses=(pause(begin, end),))
    assert paused.due is not None
    if begin >= plain.due:
        assert paused.due == plain.due
        assert paused.paused_units == 0
    elif spec.unit is HOURS:
        assert paused.due == plain.due + (end - begin)  # elapsed time: every microsecond counts
    else:
        assert paused.due >= plain.due


@FAST
@given(SPECS, STARTS, OFFSETS, OFFSETS, OFFSETS, OFFSETS)
def test_pauses_count_the_same_in_any_order_and_an_equal_pair_counts_once(
    spec: ClockSpec, start: datetime, a: timedelta, la: timedelta, b: timedelta, lb: timedelta
) -> None:
    now = start + a + la + b + lb + timedelta(days=1)
    first = pause(start + a, start + a + la)
    second = pause(start + b, start + b + lb)
    forward = run(spec, start, now, pauses=(first, second))
    assert forward == run(spec, start, now, pauses=(second, first))
    assert run(spec, start, now, pauses=(first, first)) == run(spec, start, now, pauses=(first,))


@FAST
@given(SPECS, STARTS, OFFSETS, OFFSETS, OFFSETS)
def test_a_pause_never_makes_the_deadline_earlier(
    spec: ClockSpec, start: datetime, into: timedelta, length: timedelta, later: timedelta
) -> None:
    now = start + into + length + later
    plain = run(spec, start, now)
    paused = run(spec, start, now, pauses=(pause(start + into, start + into + length),))
    assert plain.due is not None and paused.due is not None
    assert paused.due >= plain.due
    assert paused.paused_units >= 0


@FAST
@given(SPECS, STARTS, st.integers(min_value=1, max_value=30), OFFSETS)
def test_an_extension_never_makes_the_deadline_earlier(
    spec: ClockSpec, start: datetime, extension: int, into: timedelta
) -> None:
    plain = run(spec, start, start + into)
    extended = run(spec, start, start + into, extension=extension)
    assert plain.due is not None and extended.due is not None
    assert extended.due >= plain.due
    if spec.unit is not NATURAL or not spec.roll_over_holidays:
        assert extended.due > plain.due  # rolling over may merge two last days into one


@FAST
@given(SPECS, STARTS, OFFSETS, OFFSETS, st.booleans())
def test_the_answer_does_not_depend_on_the_time_zone_of_the_inputs(
    spec: ClockSpec, start: datetime, into: timedelta, length: timedelta, stopped: bool
) -> None:
    now = start + into + length + timedelta(days=3)
    stop = now - timedelta(days=1) if stopped else None

    def in_zone(tz: ZoneInfo) -> ClockResult:
        pauses = (pause((start + into).astimezone(tz), (start + into + length).astimezone(tz)),)
        return run_clock(
            spec,
            start.astimezone(tz),
            stop.astimezone(tz) if stop else None,
            pauses,
            0,
            cal(),
            now.astimezone(tz),
        )

    utc = in_zone(ZoneInfo("UTC"))
    assert utc == in_zone(BEIJING)
    assert utc == in_zone(NEW_YORK)


@FAST
@given(SPECS, STARTS, OFFSETS)
def test_the_level_holds_until_next_change_and_changes_there(
    spec: ClockSpec, start: datetime, into: timedelta
) -> None:
    now = start + into
    res = run(spec, start, now)
    if res.next_change is None:
        assert res.level is Level.RED
        return
    assert res.next_change > now
    assert run(spec, start, res.next_change - US).level is res.level
    assert run(spec, start, res.next_change).level is not res.level


def _general(spec: ClockSpec, start: datetime, stop: datetime | None, now: datetime) -> ClockResult:
    """`run_clock` through the general count (`_run_days`), not its branch for clocks
    without pauses, with the same conversions."""
    r = _run_days(
        spec,
        spec.amount,
        start.astimezone(UTC),
        stop and stop.astimezone(UTC),
        [],
        cal(),
        now.astimezone(UTC),
        BEIJING,
    )
    local = [t.astimezone(BEIJING) if t is not None else None for t in (r.due, r.yellow_at, r.next_change)]
    return r._replace(due=local[0], yellow_at=local[1], next_change=local[2])


@settings(max_examples=400, deadline=None)
@given(
    SPECS.filter(lambda s: s.unit is not HOURS),
    INSTANTS,
    OFFSETS,
    st.one_of(st.none(), OFFSETS),
    st.sampled_from(["free", "due", "yellow", "stop_at_due", "midnight"]),
)
def test_the_branch_for_clocks_without_pauses_counts_as_the_general_count(
    spec: ClockSpec, start: datetime, into: timedelta, stop_after: timedelta | None, boundary: str
) -> None:
    """Drawn on purpose at the instants where a verdict changes: now at the deadline or at
    the start of the yellow warning (and a microsecond either side), a stop exactly at the
    deadline, a start at local midnight."""
    if boundary == "midnight":
        start = datetime.combine(start.astimezone(BEIJING).date(), datetime.min.time(), tzinfo=BEIJING)
    now = start + into
    stop = start + stop_after if stop_after is not None else None
    edge = _general(spec, start, None, now)
    if boundary == "due" and edge.due is not None:
        now = edge.due
    elif boundary == "yellow" and edge.yellow_at is not None:
        now = edge.yellow_at
    elif boundary == "stop_at_due" and edge.due is not None:
        stop, now = edge.due, edge.due + timedelta(days=1)
    for at in (now - US, now, now + US):
        fast = run_clock(spec, start, stop, (), 0, cal(), at)
        assert fast == _general(spec, start, stop, at), (spec, start, stop, at)


# -- a server in UTC -------------------------------------------------------------------------


@pytest.fixture
def server_in_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("server_in_utc")
def test_a_server_in_utc_counts_beijing_days() -> None:
    assert time.localtime(0).tm_hour == 0  # the process really is on UTC now
    spec = ClockSpec(3, WORKING)
    # 2026-02-12 02:00 UTC is 10:00 in Beijing: the same licence as above
    start = datetime(2026, 2, 12, 2, tzinfo=UTC)
    res = run(spec, start, datetime(2026, 2, 13, tzinfo=UTC))
    assert res.due_day == date(2026, 2, 24)
    assert res.due == datetime(2026, 2, 24, 16, tzinfo=UTC)
    due_utc = datetime(2026, 2, 24, 16, tzinfo=UTC)
    assert run(spec, start, due_utc - US).level is None
    assert run(spec, start, due_utc).level is Level.RED
    # 2026-02-13 17:00 UTC is already Saturday 2-14 in Beijing (a make-up working day), so the
    # first working day counted is 2-24, after the Spring Festival
    late = run(
        ClockSpec(1, WORKING), datetime(2026, 2, 13, 17, tzinfo=UTC), datetime(2026, 2, 14, tzinfo=UTC)
    )
    assert late.due_day == date(2026, 2, 24)


@pytest.mark.usefixtures("server_in_utc")
def test_a_server_in_utc_gives_the_same_answers_as_one_in_beijing() -> None:
    cases = [
        (ClockSpec(3, WORKING, yellow_left=1), bj(2026, 2, 12, 10), bj(2026, 2, 24, 12)),
        (
            ClockSpec(10, NATURAL, roll_over_holidays=True, yellow_left=1),
            bj(2026, 9, 21, 1),
            bj(2026, 10, 8, 23),
        ),
        (ClockSpec(5, WORKING, yellow_share=0.6), bj(2026, 12, 28, 7), bj(2027, 1, 2, 7)),
        (ClockSpec(8, HOURS, yellow_share=0.75), bj(2026, 10, 1, 7), bj(2026, 10, 1, 14)),
    ]
    expected = {
        0: (date(2026, 2, 24), Level.YELLOW),
        1: (date(2026, 10, 8), Level.YELLOW),
        2: (date(2027, 1, 5), Level.YELLOW),
        3: (None, Level.YELLOW),
    }
    for i, (spec, start, now) in enumerate(cases):
        in_utc = run(spec, start.astimezone(UTC), now.astimezone(UTC))
        in_beijing = run(spec, start, now)
        assert in_utc == in_beijing
        assert (in_utc.due_day, in_utc.level) == expected[i]


@FAST
@given(
    st.integers(min_value=0, max_value=60),
    st.sampled_from([WORKING, NATURAL, HOURS]),
    STARTS,
    st.sampled_from([BEIJING, NEW_YORK, ZoneInfo("UTC")]),
)
def test_a_span_ends_where_a_clock_of_that_length_runs_out(
    amount: int, unit: LimitUnit, start: datetime, tz: ZoneInfo
) -> None:
    # The deemed-start window and the pause maximum are counted without a clock (deadline.py).
    clock = run_clock(ClockSpec(amount, unit), start.astimezone(tz), None, (), 0, cal(), start, tz)
    end = _span_end(start.astimezone(tz), amount, unit, cal(), tz)
    assert clock.due is not None and end == clock.due
    assert end.utcoffset() == clock.due.utcoffset()  # the same instant, shown in the same zone


def test_days_from_the_table_equal_timedelta() -> None:
    from monitor.timeutil import days

    assert all(days(n) == timedelta(days=n) for n in range(-5, 5000))
