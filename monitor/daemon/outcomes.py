"""How a closed case ended against its time limits, as its state row records it (the
report and the metrics read these columns)."""

from __future__ import annotations

from monitor.model import Case, Category, Evaluation, Level

LATE_CATEGORIES = frozenset({Category.TIME_LIMIT, Category.DISCLOSURE})


def disclosure(case: Case, ev: Evaluation) -> str | None:
    """How a closed case's disclosure (公开) went against its time limit: late, on_time, or
    None while no disclosure clock has stopped or run out yet (or none measured the case)."""
    if not case.is_closed:
        return None
    if any(f.category is Category.DISCLOSURE and f.level is Level.RED for f in ev.findings):
        return "late"
    clocks = [c for c in ev.clocks if c.category is Category.DISCLOSURE and c.start is not None]
    if clocks and all(c.stop is not None and c.level is None for c in clocks):
        return "on_time"
    return None


def limit_share(case: Case, ev: Evaluation) -> float | None:
    """The largest share of a time limit the closed case used (1.0 = all of it)."""
    if not case.is_closed:
        return None
    shares = [
        c.used / c.limit
        for c in ev.clocks
        if c.category is Category.TIME_LIMIT and c.stop is not None and c.limit and c.used is not None
    ]
    return round(max(shares), 4) if shares else None


def outcome(case: Case, ev: Evaluation) -> str | None:
    """How a closed case ended against its time limits: overdue, early or on_time.

    None while the case is open, and for a closed case that no time limit measured (no
    time_limit clock started: an item type or an item without limits, an application never
    accepted). Such a case was neither on time nor late, and counting it as on time would
    show 100 % for whatever no rule watches; the report and the metrics leave it out of the
    rates."""
    if not case.is_closed:
        return None
    # Late in any of its clocks is late: a decision on time whose disclosure is weeks
    # overdue did not finish on time, let alone early.
    if any(f.category in LATE_CATEGORIES and f.level is Level.RED for f in ev.findings):
        return "overdue"
    clocks = [
        c
        for c in ev.clocks
        if c.category is Category.TIME_LIMIT and c.start is not None and c.limit is not None
    ]
    if not clocks:
        return None
    timed = [
        (c.used, c.limit) for c in clocks if c.stop is not None and c.used is not None and c.limit is not None
    ]
    if timed and all(used < limit for used, limit in timed):
        return "early"
    return "on_time"
