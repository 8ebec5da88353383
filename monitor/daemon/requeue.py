"""Which open cases a changed rule set or calendar can affect, and queueing them once.

Within one process the old set and calendar are known: a rule change queues the cases of the
item types its changed files select (`RuleSet.affected_item_types`), a calendar change the
cases whose counting looked at a day that now counts differently — each case's state keeps
the stretch of days its evaluation counted (`clock_from`..`clock_until`, see `clock_span`),
so next year's holiday notice queues the cases with deadlines in next year, not every open
case. After a restart, or when both changed at once, every open case evaluated under another
digest is queued.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, false, not_, or_, update

from monitor.calendar import WorkCalendar
from monitor.engine import RuleSet
from monitor.model import Case, Evaluation
from monitor.state.schema import case_state
from monitor.state.stores import StateStore
from monitor.timeutil import end_of_day, start_of_day

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Generation:
    """What cases were evaluated under: the digest stamped on them, its rules and calendar."""

    digest: str
    rules: RuleSet
    calendar: WorkCalendar

    @classmethod
    def of(cls, rules: RuleSet, calendar: WorkCalendar) -> Generation:
        return cls(f"{rules.digest}{calendar.digest}"[:32], rules, calendar)


def queue_affected(
    store: StateStore, new: Generation, old: Generation | None, now: datetime, tz: ZoneInfo
) -> int:
    """Make due the open cases `new` can judge differently from `old` (None: unknown, as
    after a restart); returns how many."""
    affected: ColumnElement[bool] | None = None  # None: every open case
    scope = "every open case"
    if old is not None:
        if old.calendar.digest == new.calendar.digest:
            types = new.rules.affected_item_types(old.rules)
            if types is not None:
                affected = case_state.c.item_type.in_(sorted(types))
                scope = f"item types: {', '.join(sorted(types)) or 'none'}"
        elif old.rules.digest == new.rules.digest:
            span = new.calendar.difference(old.calendar)
            affected = counting_within(span, tz)
            scope = f"days changed: {span[0]} to {span[1]}" if span else "no day counts differently"
    due = and_(case_state.c.open.is_(True), case_state.c.ruleset_digest != new.digest)
    if affected is not None:
        due = and_(due, affected)
    queued = store.requeue(due, now)
    if affected is not None and old is not None:
        # The rest were evaluated under rules and days that did not change for them:
        # re-stamp them, so a restart does not take them for stale. (A process stopped
        # before this queues them again after its restart: more work, nothing missed.)
        with store.engine.begin() as conn:
            conn.execute(
                update(case_state)
                .where(case_state.c.ruleset_digest == old.digest, not_(affected))
                .values(ruleset_digest=new.digest)
            )
    log.info("rules or calendar changed: %d open cases queued (%s)", queued, scope)
    return queued


def counting_within(span: tuple[date, date] | None, tz: ZoneInfo) -> ColumnElement[bool]:
    """Cases whose counting looked at a day of `span` (or may have: no record of it)."""
    if span is None:
        return false()
    first, last = start_of_day(span[0], tz), end_of_day(span[1], tz)
    c = case_state.c
    return or_(
        c.clock_from.is_(None),
        and_(c.clock_from < last, or_(c.clock_until.is_(None), c.clock_until >= first)),
    )


def clock_span(case: Case, ev: Evaluation, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The instants between which the evaluation read the calendar: from the case's first
    step to the furthest deadline or next change it computed (never before `now`, since
    steps up to now were counted); no end while a clock is paused with no end in sight."""
    if not case.events:
        return None, None
    until = max(now, ev.next_check_at or now)
    for c in ev.clocks:
        if c.start is not None and c.due is None:
            return case.events[0].at, None
        for t in (c.due, c.next_change):
            if t is not None and t > until:
                until = t
    return case.events[0].at, until
