"""`sunlight calendar …`: the working-day calendar, a due date, a year's rest and working days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import typer

from monitor.cli_common import current_config, print_json
from monitor.errors import ConfigError

calendar_app = typer.Typer(help="The working-day calendar.", no_args_is_help=True)


@calendar_app.command("due")
def calendar_due(
    start: str,
    amount: int,
    unit: Annotated[str, typer.Option("--unit", help="working_days or natural_days")] = "working_days",
    roll_over_holidays: Annotated[bool, typer.Option("--roll-over-holidays")] = False,
) -> None:
    """The last day of AMOUNT days counted from START (the start day is not counted)."""
    from monitor.calendar import load_calendar

    cfg = current_config()
    try:
        day = date.fromisoformat(start)
    except ValueError as exc:
        raise ConfigError(f"START {start!r} is not a date (YYYY-MM-DD)") from exc
    if unit not in ("working_days", "natural_days"):
        raise ConfigError(f"--unit must be working_days or natural_days, not {unit!r}")
    if amount < 0:
        raise ConfigError("AMOUNT must not be negative")
    cal = load_calendar(cfg.path(cfg.rules.calendar))
    if unit == "working_days":
        due = cal.add_working_days(day, amount)
        # As the clock asks: may a notice not yet published move a day the count looked at?
        provisional = cal.provisional_between(day, due)
    else:
        plain = day + timedelta(days=amount)
        due = cal.add_natural_days(day, amount, roll_over_holidays=roll_over_holidays)
        provisional = roll_over_holidays and cal.provisional_between(plain - timedelta(days=1), due)
    span = (due - day).days
    print_json(
        {
            "due": due.isoformat(),
            "provisional": provisional,
            "ends_at": f"{due.isoformat()}T24:00 {cfg.timezone}",
            "start": day.isoformat(),
            "amount": amount,
            "unit": unit,
            # Working days: the rest days inside the period; natural days: those the roll-over
            # stepped over at its end.
            "rest_days_skipped": span - cal.working_days_between(day, due)
            if unit == "working_days"
            else span - amount,
            "calendar_known_until": cal.known_until.isoformat(),
        }
    )


@calendar_app.command("show")
def calendar_show(year: int) -> None:
    """The year's holidays, rest weekdays and make-up working days: each with its source,
    whether a notice may still change it (provisional), and what the other sources say."""
    from monitor.calendar.overlay import read_overlays
    from monitor.calendar.sources import DayReport, year_report
    from monitor.calendar.workdays import INDEX_FIRST, INDEX_LAST, build_calendar

    cfg = current_config()
    if not INDEX_FIRST.year <= year <= INDEX_LAST.year:
        raise ConfigError(f"YEAR {year} is outside the calendar ({INDEX_FIRST.year}..{INDEX_LAST.year})")
    overlays, covered = read_overlays(cfg.path(cfg.rules.calendar))
    cal = build_calendar(overlays, covered)
    report = year_report(cal, overlays, covered, year)

    def entry(r: DayReport) -> dict[str, Any]:
        out: dict[str, Any] = {
            "date": r.day.isoformat(),
            "weekday": "一二三四五六日"[r.day.weekday()],
            "name": r.name,
            "source": r.source,
            "provisional": r.provisional,
            "also": [{"source": o.source, "workday": o.workday, "name": o.name} for o in r.others],
        }
        if r.disagree:
            out["disagree"] = [f"{o.source}: {_status(o.workday, o.name)}" for o in r.disagree]
        return out

    body: dict[str, Any] = {
        "year": year,
        # What settles the year; without a notice, the law's holidays and Sunlight's 补假.
        "notice": report.notice or "none: statutory holidays from 全国年节及纪念日放假办法, 调休 unknown",
        "provisional": bool(report.provisional),
        "provisional_days": [f"{a}..{b}" for a, b in report.provisional],
        "known_until": cal.known_until.isoformat(),
        "rest_days": [entry(r) for r in report.days if not r.workday],
        "working_days": [entry(r) for r in report.days if r.workday],
        "disagreements": sum(1 for r in report.days if r.disagree),
        "law_check": list(report.law_problems),
    }
    if report.holidays_note:
        body["note"] = report.holidays_note
    print_json(body)


def _status(workday: bool, name: str) -> str:
    status = "工作日" if workday else "休息"
    return status if name in ("工作日", "周末") else f"{status}（{name}）"
