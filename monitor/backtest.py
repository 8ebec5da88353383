"""`sunlight backtest`: what a proposed rule set would have raised over recorded history.

Each case with events in the window is replayed the way the daemon would have seen it: it
is evaluated at each of its events and at each instant a level could change, with only the
events recorded by then, so a yellow that was later cured counts as raised. The same replay
runs under the current and the proposed set. Nothing is written: no alert, no notice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from monitor.calendar import WorkCalendar
from monitor.engine import RuleSet, evaluate
from monitor.model import Case, Level
from monitor.source.reader import SourceReader
from monitor.state.schema import case_events
from monitor.timeutil import end_of_day, start_of_day

Raised = dict[str, Level]  # rule -> the highest level reached
MAX_STEPS = 500  # a case with more moments than this is cut short (and said so)


@dataclass
class CaseChange:
    case_id: str
    department: str
    only_current: list[str]
    only_proposed: list[str]


@dataclass
class BacktestReport:
    cases: int = 0
    current: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (rule, department, level)
    proposed: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    changes: list[CaseChange] = field(default_factory=list)
    truncated: int = 0


def replay(
    case: Case, rules: RuleSet, calendar: WorkCalendar, until: datetime, tz: ZoneInfo
) -> tuple[Raised, bool]:
    """Every (rule, highest level) the daemon would have raised for `case` up to `until`."""
    raised: Raised = {}
    moments = sorted({e.at for e in case.events if e.at <= until})
    if not moments:
        return raised, False
    at = moments[0]
    for _ in range(MAX_STEPS):
        seen = tuple(e for e in case.events if e.at <= at)
        ev = evaluate(replace(case, events=seen), rules, calendar, at, tz)
        for f in ev.findings:
            if f.rule_id not in raised or f.level.rank > raised[f.rule_id].rank:
                raised[f.rule_id] = f.level
        following = [m for m in moments if m > at]
        candidates = [t for t in (following[0] if following else None, ev.next_check_at) if t is not None]
        nxt = min(candidates, default=None)
        if nxt is None or nxt > until:
            return raised, False
        at = nxt
    return raised, True


def cases_in_window(engine: Engine, start: date, end: date, tz: ZoneInfo) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(case_events.c.case_id)
                .where(case_events.c.at >= start_of_day(start, tz), case_events.c.at < end_of_day(end, tz))
                .distinct()
            ).scalars()
        )


def backtest(
    reader: SourceReader,
    case_ids: Iterable[str],
    current: RuleSet,
    proposed: RuleSet,
    calendar: WorkCalendar,
    until: datetime,
    tz: ZoneInfo,
    advance: Callable[[int], None] = lambda n: None,
) -> BacktestReport:
    report = BacktestReport()
    for case in reader.load_cases(case_ids):
        now_raised, cut_a = replay(case, current, calendar, until, tz)
        new_raised, cut_b = replay(case, proposed, calendar, until, tz)
        report.cases += 1
        report.truncated += int(cut_a or cut_b)
        for rule, level in now_raised.items():
            report.current[(rule, case.department, level.value)] += 1
        for rule, level in new_raised.items():
            report.proposed[(rule, case.department, level.value)] += 1
        a = {f"{r}:{lv.value}" for r, lv in now_raised.items()}
        b = {f"{r}:{lv.value}" for r, lv in new_raised.items()}
        if a != b:
            report.changes.append(CaseChange(case.case_id, case.department, sorted(a - b), sorted(b - a)))
        advance(1)
    return report
