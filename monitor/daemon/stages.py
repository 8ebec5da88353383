"""A batch as stages: evaluate → reconcile → route → enqueue → persist.

Each stage is a function of the pass's frozen `Context` and the rows the stage before it
produced, so that each can be read, and tested, alone. `run_batch` chains them in the
caller's transaction: the claimed cases' alerts, notices, history and new state commit
together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from alerts import history, outbox, silences
from alerts.lifecycle import CaseFindings, Transition, alerts_of, reconcile
from alerts.reminders import next_reminder
from monitor.calendar import WorkCalendar
from monitor.config import Config, NotifyConfig
from monitor.daemon.outcomes import disclosure, limit_share, outcome
from monitor.daemon.requeue import clock_span
from monitor.engine import RuleSet
from monitor.engine.screen import Screen
from monitor.explain import explain_text
from monitor.metrics import Metrics
from monitor.model import Case, Evaluation
from monitor.source.records import CaseRows
from monitor.state import store
from monitor.state.rows import StateRow
from monitor.state.stores import StateStore

Span = tuple[datetime | None, datetime | None]  # the instants a case's counting read (requeue)


@dataclass(frozen=True, slots=True)
class Context:
    """What every stage of one pass judges by: the rules and calendar of the pass, its
    instant and zone, the digest stamped on the states it writes, and the settings."""

    rules: RuleSet
    calendar: WorkCalendar
    tz: ZoneInfo
    now: datetime
    digest: str
    notify: NotifyConfig
    reminder_at: datetime  # when a red raised now is first reminded of
    metrics: Metrics | None = None
    console_url: str | None = None  # web.base_url: notices link to the console's case page

    @classmethod
    def of(
        cls,
        config: Config,
        rules: RuleSet,
        calendar: WorkCalendar,
        digest: str,
        now: datetime,
        metrics: Metrics | None = None,
    ) -> Context:
        reminder_at = next_reminder(config.notify, calendar, now, config.tz)
        return cls(
            rules, calendar, config.tz, now, digest, config.notify, reminder_at, metrics, config.web.base_url
        )

    @property
    def floor(self) -> datetime:
        """The earliest next check a pass writes: always after now, so a pass cannot spin."""
        return self.now + timedelta(seconds=1)


class Judged(NamedTuple):
    """A case that goes on to its alerts: its evaluation (or the screen's, which has no
    findings), the days its counting read, and the fingerprint of its findings."""

    case: Case
    evaluation: Evaluation
    span: Span
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Evaluated:
    """The evaluate stage's rows: every case with its evaluation."""

    judged: list[Judged]


@dataclass(frozen=True, slots=True)
class Routed:
    """The route stage's rows: the notices the batch's alert changes cause (as
    `alerts.outbox.enqueue` builds them: pending, held for a digest slot, or silenced)."""

    notices: list[outbox.NoticeRow]
    transitions: int


class Totals(NamedTuple):
    cases: int
    transitions: int
    notices: int


def run_batch(
    conn: Connection,
    ctx: Context,
    states: StateStore,
    cases: Iterable[CaseRows],
    screen: Screen,
    claimed: Mapping[str, str],
) -> Totals:
    """The claimed cases (id -> stored fingerprint) through every stage, in `conn`'s
    transaction."""
    with _closed(iter(cases)) as loaded:
        evaluated = evaluate_cases(ctx, screen, loaded)
    journal = history.Journal()  # the batch's history rows, chained once at the end
    moved = reconcile_alerts(conn, ctx, evaluated.judged, claimed, journal)
    routed = route(conn, ctx, evaluated.judged, moved, journal)
    enqueue(conn, routed)
    persist(conn, ctx, states, evaluated, journal)
    return Totals(len(claimed), routed.transitions, len(routed.notices))


def evaluate_cases(ctx: Context, screen: Screen, cases: Iterable[CaseRows]) -> Evaluated:
    """Each case evaluated through the screen (the memo of its shape's time-free answers)."""
    judged: list[Judged] = []
    for rows in cases:
        case, ev = screen.evaluate_rows(rows, ctx.now)
        judged.append(Judged(case, ev, clock_span(case, ev, ctx.now), store.fingerprint(ev)))
    return Evaluated(judged)


def reconcile_alerts(
    conn: Connection,
    ctx: Context,
    judged: Sequence[Judged],
    claimed: Mapping[str, str],
    journal: history.Journal,
) -> dict[str, list[Transition]]:
    """Bring the alerts of the cases whose findings changed in line with them; each case's
    alert changes."""
    changed = [j for j in judged if claimed[j.case.case_id] != j.fingerprint]
    # One query for the batch, not one per case; and none for cases never evaluated
    # (their queue row has no fingerprint yet), which cannot have alerts: a first start.
    rows = alerts_of(conn, [j.case.case_id for j in changed if claimed[j.case.case_id]])
    rows.update((j.case.case_id, []) for j in changed if not claimed[j.case.case_id])
    # A case with no findings and no alert rows has nothing to reconcile (most of a first start).
    found = [
        CaseFindings(j.case.case_id, j.case.item_code, j.case.department, j.evaluation.findings, alerts)
        for j in changed
        if (alerts := rows[j.case.case_id]) or j.evaluation.findings
    ]
    if not found:
        return {}
    return reconcile(conn, found, ctx.now, ctx.reminder_at, journal)  # new alerts: one INSERT


def route(
    conn: Connection,
    ctx: Context,
    judged: Sequence[Judged],
    moved: Mapping[str, list[Transition]],
    journal: history.Journal,
) -> Routed:
    """The notices the alert changes cause, each routed, silenced or held
    (`alerts.outbox.enqueue`); the changes counted in the metrics."""
    notices: list[outbox.NoticeRow] = []
    transitions = 0
    quiet = silences.active(conn, ctx.now) if moved else []
    for j in judged:
        changes = moved.get(j.case.case_id)
        if not changes:
            continue
        transitions += len(changes)
        explanation: str | None = None
        for t in changes:
            if ctx.metrics is not None:
                _count(ctx.metrics, t.action, t.category, t.level.value, j.case.department)
            if t.finding is None:
                continue
            if explanation is None:
                explanation = explain_text(j.case, j.evaluation, ctx.calendar, ctx.rules.vocabulary, ctx.tz)
            outbox.enqueue(
                conn,
                t,
                j.case,
                explanation,
                ctx.rules.vocabulary.party(j.case),
                ctx.notify,
                ctx.calendar,
                ctx.now,
                ctx.tz,
                journal=journal,
                active_silences=quiet,
                into=notices,
                console_url=ctx.console_url,
            )
    return Routed(notices, transitions)


def enqueue(conn: Connection, routed: Routed) -> None:
    """Queue the batch's notices in the outbox, for the sender to claim after commit."""
    outbox.write(conn, routed.notices)


def persist(
    conn: Connection, ctx: Context, states: StateStore, evaluated: Evaluated, journal: history.Journal
) -> None:
    """Write every claimed case's new state and the batch's history rows."""
    states.save_states(conn, [state_row(ctx, j) for j in evaluated.judged])
    journal.flush(conn)


def state_row(ctx: Context, j: Judged) -> StateRow:
    """A judged case's new state, with how it ended if it is closed."""
    case, ev = j.case, j.evaluation
    closed = case.is_closed
    return StateRow(
        case_id=case.case_id,
        item_code=case.item_code,
        department=case.department,
        item_type=case.item.item_type.value if case.item else "unlisted",
        open=not closed,
        next_check_at=max(ev.next_check_at, ctx.floor) if ev.next_check_at is not None else None,
        evaluated_at=ctx.now,
        ruleset_digest=ctx.digest,
        fingerprint=j.fingerprint,
        closed_at=next((e.at for e in case.events if e.kind == "closed"), None) if closed else None,
        outcome=outcome(case, ev) if closed else None,
        limit_share=limit_share(case, ev) if closed else None,
        disclosure=disclosure(case, ev) if closed else None,
        clock_from=j.span[0],
        clock_until=j.span[1],
    )


def _count(m: Metrics, action: str, category: str, level: str, department: str) -> None:
    if action in ("raised", "escalated", "reopened"):
        m.raised.labels(category, level, department).inc()
    elif action == "cured":
        m.cured.labels(category, department).inc()


T = TypeVar("T")


@contextmanager
def _closed(items: Iterator[T]) -> Iterator[Iterator[T]]:
    """Close a reader's generator when the loop over it ends, raising or not: a batch that
    fails mid-read is evaluated again at once, and must not leave the read's cursor (and
    its connection) open until the garbage collector comes across it."""
    try:
        yield items
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()
