"""Benchmark: deadline computations per second on one core (not part of the test suite).

    .venv/bin/python bench/deadlines.py [--n 200000]

Reports three figures:
- `due date`: N working days counted from a start date over the day index, as an instant
  (24:00 Beijing time of the last day) — what `sunlight calendar due` computes;
- `working days between`: the count between two dates;
- `full clock`: `run_clock` with a yellow threshold, the level as of now and the next change.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from monitor.calendar import WorkCalendar
from monitor.engine.clock import ClockSpec, run_clock
from monitor.model import LimitUnit
from monitor.timeutil import end_of_day

TZ = ZoneInfo("Asia/Shanghai")


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>12,.0f} /s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    args = parser.parse_args()
    n = args.n
    os.sched_setaffinity(0, {0})  # one core
    cal = WorkCalendar.default()
    base = datetime(2024, 1, 2, 9, 30, tzinfo=TZ)
    starts = [base + timedelta(days=i % 1000, minutes=i % 480) for i in range(n)]
    days = [s.date() for s in starts]
    amounts = [5 + i % 25 for i in range(n)]
    now = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)

    t = time.perf_counter()
    for d, a in zip(days, amounts, strict=True):
        end_of_day(cal.add_working_days(d, a), TZ)
    due_s = time.perf_counter() - t

    t = time.perf_counter()
    for d in days:
        cal.working_days_between(d, now.date())
    between_s = time.perf_counter() - t

    specs = [ClockSpec(a, LimitUnit.WORKING_DAYS, yellow_share=0.8) for a in range(5, 30)]
    t = time.perf_counter()
    for s, a in zip(starts, amounts, strict=True):
        run_clock(specs[a - 5], s, None, (), 0, cal, now, TZ)
    clock_s = time.perf_counter() - t

    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, one core"
    )
    print(f"{n:,} computations each")
    print(f"due date (start + N working days):  {rate(n, due_s)}")
    print(f"working days between two dates:     {rate(n, between_s)}")
    print(f"full clock (level and next change): {rate(n, clock_s)}")


if __name__ == "__main__":
    main()
