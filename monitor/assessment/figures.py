"""What the record says about each department's items in a period: the raw figures a scheme
scores. Read with two grouped queries, so a year of a province's record is two scans.

Closed cases count in the period they closed; cards in the period their breach or warning
began (`monitor.report.began_in`), never in the period the daemon noticed them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, select

from monitor.report import began_in, counted
from monitor.state.schema import alerts, case_state


@dataclass(frozen=True, slots=True)
class Tally:
    """One department's figures for one item (or a sum of them) over one period."""

    closed: int = 0
    measured: int = 0  # closed cases a time limit measured: the rates' denominator
    on_time: int = 0  # early included
    early: int = 0
    overdue: int = 0
    red: Counter[str] = field(default_factory=Counter)  # by category
    yellow: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.closed + other.closed,
            self.measured + other.measured,
            self.on_time + other.on_time,
            self.early + other.early,
            self.overdue + other.overdue,
            self.red + other.red,
            self.yellow + other.yellow,
        )


Key = tuple[str, str]  # (department, item_code)


def tallies(state: Engine, start: datetime, end: datetime) -> dict[Key, Tally]:
    """Every (department, item) with a closed case or a card in [start, end)."""
    closed: dict[Key, Counter[str]] = {}
    cards: dict[Key, tuple[Counter[str], Counter[str]]] = {}
    with state.connect() as conn:
        rows = conn.execute(
            select(case_state.c.department, case_state.c.item_code, case_state.c.outcome, func.count())
            .where(case_state.c.closed_at >= start, case_state.c.closed_at < end)
            .group_by(case_state.c.department, case_state.c.item_code, case_state.c.outcome)
        )
        for dept, item, outcome, n in rows:
            closed.setdefault((dept, item), Counter())[outcome or "unmeasured"] += int(n)
        rows = conn.execute(
            select(alerts.c.department, alerts.c.item_code, alerts.c.level, alerts.c.category, func.count())
            .where(began_in(start, end), counted())
            .group_by(alerts.c.department, alerts.c.item_code, alerts.c.level, alerts.c.category)
        )
        for dept, item, level, category, n in rows:
            red, yellow = cards.setdefault((dept, item), (Counter(), Counter()))
            (red if level == "red" else yellow)[category] += int(n)
    out: dict[Key, Tally] = {}
    for key in sorted(closed.keys() | cards.keys()):
        c = closed.get(key, Counter())
        red, yellow = cards.get(key, (Counter(), Counter()))
        measured = c["on_time"] + c["early"] + c["overdue"]
        out[key] = Tally(
            closed=measured + c["unmeasured"],
            measured=measured,
            on_time=c["on_time"] + c["early"],
            early=c["early"],
            overdue=c["overdue"],
            red=red,
            yellow=yellow,
        )
    return out
