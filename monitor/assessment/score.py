"""Scores and ranks: a scheme applied to the record's figures, for a month and the year to date.

Reproducible by construction: the figures are counts read from the record, the scheme is a
file, and the arithmetic rounds only at the end; the same record and scheme give the same
table on any machine. Ties share a rank (1, 2, 2, 4) and are listed by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from monitor.assessment.figures import Key, Tally, by_officer, tallies
from monitor.assessment.scheme import CountIndicator, RateIndicator, Scheme
from monitor.report import month_bounds

By = Literal["department", "item", "post"]
UNIT_NAMES: dict[str, str] = {"department": "部门", "item": "事项", "post": "岗位"}


@dataclass(frozen=True, slots=True)
class Part:
    """What one indicator did to one unit's score."""

    indicator: str
    name: str
    value: float | None  # the rate (0..1) or the count; None: 不参评 (nothing to measure)
    lost: float  # points taken off


@dataclass(frozen=True, slots=True)
class Score:
    unit: str  # the department, or "department / item code"
    department: str
    detail: str | None  # the item code (by item), the officer or post (by post)
    score: float
    parts: tuple[Part, ...]
    tally: Tally
    rank: int = 0
    change: float | None = None  # against the previous month; None when not scored then
    year_score: float | None = None  # the year to date, as one period


def score_of(scheme: Scheme, tally: Tally) -> tuple[float, tuple[Part, ...]]:
    parts = []
    for ind in scheme.indicators:
        if isinstance(ind, RateIndicator):
            if ind.item_types:
                kinds = [t.value for t in ind.item_types]
                of = sum(tally.typed[f"{k} measured"] for k in kinds)
                hits = sum(tally.typed[f"{k} {ind.measure}"] for k in kinds)
                rate = hits / of if of else None
                lost = ind.weight * (1 - rate) if rate is not None else 0.0
                parts.append(Part(ind.id, ind.name, rate, lost))
                continue
            hits, of = {
                "on_time": (tally.on_time, tally.measured),
                "early": (tally.early, tally.measured),
                "disclosed_on_time": (tally.disclosed_on_time, tally.disclosure_measured),
                "replied_on_time": (tally.replied_on_time, tally.supervised),
            }[ind.measure]
            rate = hits / of if of else None
            lost = ind.weight * (1 - rate) if rate is not None else 0.0
            parts.append(Part(ind.id, ind.name, rate, lost))
        else:
            n = _count(ind, tally)
            lost = n * ind.points_each
            parts.append(Part(ind.id, ind.name, float(n), min(lost, ind.cap) if ind.cap else lost))
    total = max(0.0, scheme.base - sum(p.lost for p in parts))
    return round(total, 2), tuple(Part(p.indicator, p.name, p.value, round(p.lost, 2)) for p in parts)


def _count(ind: CountIndicator, tally: Tally) -> int:
    if ind.count == "overdue":
        return tally.overdue
    cards = tally.red if ind.count == "red" else tally.yellow
    wanted = {c.value for c in ind.categories}
    return sum(n for category, n in cards.items() if not wanted or category in wanted)


def _grouped(figures: Mapping[Key, Tally], by: By) -> dict[tuple[str, str | None], Tally]:
    out: dict[tuple[str, str | None], Tally] = {}
    for (dept, item), tally in figures.items():
        key = (dept, None if by == "department" else item)
        out[key] = out[key] + tally if key in out else tally
    return out


def ranked(scheme: Scheme, figures: Mapping[Key, Tally], by: By) -> list[Score]:
    """Scores of every department (`by="department"`) or item, best first, ranked."""
    scores = []
    for (dept, item), tally in _grouped(figures, by).items():
        total, parts = score_of(scheme, tally)
        scores.append(Score(f"{dept} / {item}" if item else dept, dept, item, total, parts, tally))
    scores.sort(key=lambda s: (-s.score, s.unit))
    out: list[Score] = []
    for i, s in enumerate(scores):
        rank = out[-1].rank if out and out[-1].score == s.score else i + 1
        out.append(replace(s, rank=rank))
    return out


def assess(
    state: Engine,
    scheme: Scheme,
    month: str,
    tz: ZoneInfo,
    by: By = "department",
    source: Engine | None = None,
    now: datetime | None = None,
) -> list[Score]:
    """The month's ranking, each score with its change against the previous month and the
    year to date (1 January to the month's end, scored as one period). By post, the
    officers are read from the `source` database's steps."""

    def figures(start: datetime, end: datetime) -> dict[Key, Tally]:
        return figures_of(state, source, start, end, by, now)

    start, end = month_bounds(month, tz)
    month_scores = ranked(scheme, figures(start, end), by)
    prev_start, prev_end = month_bounds(_previous(month), tz)
    before = {s.unit: s.score for s in ranked(scheme, figures(prev_start, prev_end), by)}
    year_start = datetime.combine(date(start.year, 1, 1), datetime.min.time(), tz)
    year = {s.unit: s.score for s in ranked(scheme, figures(year_start, end), by)}
    return [
        replace(
            s,
            change=round(s.score - before[s.unit], 2) if s.unit in before else None,
            year_score=year.get(s.unit),
        )
        for s in month_scores
    ]


def figures_of(
    state: Engine,
    source: Engine | None,
    start: datetime,
    end: datetime,
    by: By,
    now: datetime | None = None,
) -> dict[Key, Tally]:
    """The figures a ranking `by` department, item or post is computed from (a 督办 is
    addressed to a department: by post it does not count)."""
    if by != "post":
        return tallies(state, start, end, now)
    if source is None:
        raise ValueError("scores by post need the source database: its steps name the officers")
    return by_officer(state, source, start, end)


def _previous(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - (mon == 1)}-{12 if mon == 1 else mon - 1:02d}"
