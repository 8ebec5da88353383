"""One evaluation pass: read what changed, evaluate only those cases, write only changes.

A pass touches the cases with new events or changed records since the last pass, and the
cases whose stored next-change time has come; it never rescans every open case. Each chunk
of cases commits its alert changes, their notices and the cases' new state together; the
ingest cursor moves only after every chunk is done, so a crash re-reads (harmlessly) rather
than skips.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from alerts import history, outbox, silences
from alerts.history import ChainConflictError
from alerts.lifecycle import AlertConflictError, CaseFindings, Transition, alerts_of, reconcile
from alerts.reminders import next_reminder
from monitor.calendar import WorkCalendar
from monitor.config import Config
from monitor.daemon.requeue import Generation, clock_span, queue_affected
from monitor.daemon.setaside import BatchError, isolate, set_aside
from monitor.engine import RuleSet
from monitor.engine.screen import Screen
from monitor.explain import explain_text
from monitor.metrics import Metrics
from monitor.model import Case, Category, Evaluation, Level
from monitor.source import health
from monitor.source.reader import SourceReader
from monitor.state import store

log = logging.getLogger(__name__)
RETRIES = 5
ANALYZE_AFTER = 10_000  # queued cases in one ingest that call for fresh planner statistics
ANALYZE_EVERY = 60.0  # seconds: at most one refresh a minute
AHEAD_PAGES = 25  # pages of events one pass may ingest while it evaluates (a first start)
CONFLICTS = (AlertConflictError, ChainConflictError, OperationalError)  # retried whole


@dataclass(frozen=True, slots=True)
class PassResult:
    events_read: int
    cases_evaluated: int
    transitions: int
    notices: int
    seconds: float
    source_fault: str | None = None  # the pass was paused: the source is not whole

    @property
    def worked(self) -> bool:
        return self.cases_evaluated > 0


@dataclass
class Pipeline:
    """Everything a pass needs; the rules and calendar are read through providers so a
    reload takes effect at the next pass."""

    config: Config
    source: Engine
    state: Engine
    reader: SourceReader
    rules: Callable[[], RuleSet]
    calendar: Callable[[], WorkCalendar]
    metrics: Metrics | None = None
    last: Generation | None = None  # the rules and calendar of the last pass
    screen: tuple[str, Screen] | None = None  # for the rules and calendar of that digest
    analyzed_at: float | None = None  # when this process last refreshed the planner's statistics
    source_faults: dict[str, str] = field(default_factory=dict)  # the last pass's, by table (/readyz)

    def screen_for(self, digest: str, rules: RuleSet, calendar: WorkCalendar) -> Screen:
        if self.screen is None or self.screen[0] != digest:
            self.screen = (digest, Screen(rules, calendar, self.config.tz))
        return self.screen[1]


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
    if any(f.category is Category.TIME_LIMIT and f.level is Level.RED for f in ev.findings):
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


def poll_once(p: Pipeline, now: datetime, *, max_cases: int | None = None, ingest: bool = True) -> PassResult:
    """Ingest what changed, then evaluate due cases batch by batch until none is left.

    Ingesting moves the cursor and queues the touched cases (their `next_check_at` becomes
    now) in one transaction; evaluating claims due cases with row locks, so replicas on one
    PostgreSQL share the queue and a killed replica's claims simply return to it. Extra
    evaluation processes (`daemon.workers`) pass `ingest=False`: they only take from the queue."""
    started = time.perf_counter()
    rules = p.rules()
    calendar = p.calendar()
    current = Generation.of(rules, calendar)
    digest = current.digest
    if p.last is None or digest != p.last.digest:
        # Queue the open cases the new rules or calendar can affect (monitor.daemon.requeue).
        # Only the process that reads the source does: the extra ones would update the same
        # rows at the same moment and wait on each other's locks (half a minute at a million).
        if ingest:
            queue_affected(p.state, current, p.last, now, p.config.tz)
        p.last = current
    fault = _source_fault(p, now, ingest)
    if fault is not None:
        # Nothing is read and nothing evaluated: missing records must not raise or cure alerts.
        return PassResult(0, 0, 0, 0, time.perf_counter() - started, fault)
    events_read, newest = _ingest(p, now) if ingest else (0, None)
    # A full page of events means a backlog (a first start): the next page is queued while
    # the queue still holds work, so that other processes never wait for it with nothing to do.
    backlog = ingest and events_read >= p.reader.max_events
    # The next page is read while three batches are left beyond those the other processes
    # may hold (the count sees claimed rows too): reading a page takes about as long as the
    # other processes take for two batches, and the queue should not run dry meanwhile.
    ahead = p.config.daemon.workers + 2
    pages = 1
    evaluated = transitions = notices = 0
    limit = max_cases if max_cases is not None else 10**12
    while evaluated < limit:
        if (
            backlog
            and pages < AHEAD_PAGES
            and store.due_at_least(p.state, now, ahead * p.config.daemon.batch_size)
        ):
            pass  # enough queued for now
        elif backlog and pages < AHEAD_PAGES:
            read, latest = _ingest(p, now)
            events_read += read
            newest = latest or newest
            backlog = read >= p.reader.max_events
            pages += 1
        with gc_paused():
            try:
                batch = _retrying(lambda: _evaluate_batch(p, rules, calendar, digest, now))
            except BatchError as failed:
                batch = _isolated(p, rules, calendar, digest, now, failed)
        if batch is None:
            break
        evaluated += batch[0]
        transitions += batch[1]
        notices += batch[2]
    seconds = time.perf_counter() - started
    if p.metrics is not None:
        m = p.metrics
        m.events.inc(events_read)
        m.cases_evaluated.inc(evaluated)
        m.pass_seconds.observe(seconds)
        m.passes.labels("ok").inc()
        m.last_success.set(time.time())
        m.set_source_lag(newest or p.reader.newest_event_time(), now)
    log.info(
        "pass done: %d events, %d cases evaluated, %d alert changes, %d notices in %.3fs",
        events_read,
        evaluated,
        transitions,
        notices,
        seconds,
    )
    return PassResult(events_read, evaluated, transitions, notices, seconds)


def _source_fault(p: Pipeline, now: datetime, ingest: bool) -> str | None:
    """What is wrong with the source, if anything (monitor.source.health); the process that
    reads the source checks it, the others take what it recorded."""
    with p.state.begin() as conn:
        if ingest and store.lock_cursor(conn, now):
            overlap = p.reader.overlap
            verdict = health.check(p.source, conn, store.read_cursor(conn), p.config.source, overlap, now)
        else:
            verdict = health.stored_faults(conn)
    if ingest:
        # One line when this process first sees a fault (it may have begun before a restart).
        for table in health.TABLE_NAMES:
            if table in verdict.faults and table not in p.source_faults:
                log.error("%s", verdict.faults[table])
            elif table in p.source_faults and table not in verdict.faults:
                log.warning("source consistent again: %s; evaluation resumes", table)
        if p.metrics is not None:
            p.metrics.set_source_faults(verdict.faults, verdict.began)
            if verdict.faults:
                p.metrics.passes.labels("source_fault").inc()
    p.source_faults = verdict.faults
    return verdict.summary() or None


def _ingest(p: Pipeline, now: datetime) -> tuple[int, datetime | None]:
    """Read the source's changes and queue their cases; skipped while another replica does it."""
    with p.state.begin() as conn:
        if not store.lock_cursor(conn, now):
            return 0, None
        cursor = store.read_cursor(conn)
        changes, new_cursor = p.reader.changes(cursor, now)
        ids = set(changes.case_ids)
        if changes.item_codes and cursor.item_watermark is not None:
            ids |= store.open_cases_of_items(conn, changes.item_codes)
        store.mark_due(conn, ids, now)
        store.write_cursor(conn, new_cursor, now)
    if len(ids) >= ANALYZE_AFTER and (
        p.analyzed_at is None or time.monotonic() - p.analyzed_at >= ANALYZE_EVERY
    ):
        # A first start (or a bulk load) changes the queue's shape at once; fresh statistics
        # keep the planner on the index for claiming due cases. Once a minute is enough: a
        # first start of millions ingests a page of 40,000 cases every few seconds.
        store.analyze(p.state)
        p.analyzed_at = time.monotonic()
    return changes.events_read, changes.newest_event_at


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for one batch.

    A batch holds thousands of cases' rows, datetimes and findings at once, all alive until
    it ends, and freed by reference counting when it does. The collector, triggered by that
    many new objects, walked them again and again without freeing any: a tenth of a first
    start's time. A batch is bounded (`daemon.batch_size`), so whatever cyclic garbage it
    leaves is too, and the next collection after it takes that."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _retrying(work: Callable[[], T]) -> T:
    """Run a transaction again when another writer won a race (alert, chain or deadlock)."""
    for attempt in range(1, RETRIES + 1):
        try:
            return work()
        except CONFLICTS as exc:
            if attempt == RETRIES:
                raise
            log.warning("retrying a batch after a conflict: %s", exc)
    raise AssertionError("unreachable")


def _isolated(
    p: Pipeline, rules: RuleSet, calendar: WorkCalendar, digest: str, now: datetime, failed: BatchError
) -> tuple[int, int, int]:
    """A batch failed for a case's sake: evaluate it in halves, set the failing case aside."""
    log.warning("%s; evaluating it in halves to find the case", failed)
    found = isolate(
        lambda ids: _retrying(lambda: _evaluate_batch(p, rules, calendar, digest, now, only=ids)), failed
    )
    for case_id, cause in found.poisoned:
        set_aside(p.state, p.config.notify, p.metrics, case_id, cause, now)
    return found.totals


def _evaluate_batch(
    p: Pipeline,
    rules: RuleSet,
    calendar: WorkCalendar,
    digest: str,
    now: datetime,
    *,
    only: list[str] | None = None,
) -> tuple[int, int, int] | None:
    """Claim due cases (of `only`, if given), evaluate them, write their alerts, notices and
    state; one transaction. A failure other than a conflict is a `BatchError` naming the
    cases, so that the one at fault can be found and set aside."""
    with p.state.begin() as conn:
        claimed = store.claim_due(conn, now, p.config.daemon.batch_size, only=only)
        if not claimed:
            return None
        try:
            return _write_batch(p, conn, claimed, rules, calendar, digest, now)
        except CONFLICTS:
            raise
        except Exception as exc:
            raise BatchError(sorted(claimed), exc) from exc


def _write_batch(
    p: Pipeline,
    conn: Connection,
    claimed: dict[str, str],
    rules: RuleSet,
    calendar: WorkCalendar,
    digest: str,
    now: datetime,
) -> tuple[int, int, int]:
    """Evaluate the claimed cases and write what changed, in the caller's transaction."""
    transitions = notices = 0
    tz = p.config.tz
    reminder_at = next_reminder(p.config.notify, calendar, now, tz)
    # A case's next check is always in the future, so the loop in poll_once cannot spin.
    floor = now + timedelta(seconds=1)
    results = _screened(p, claimed, rules, calendar, digest, now)
    states: list[dict[str, Any]] = []
    prints = {case.case_id: store.fingerprint(ev) for case, ev in results}
    changed = [cid for cid, fp in prints.items() if claimed[cid] != fp]
    # One query for the batch, not one per case; and none for cases never evaluated
    # (their queue row has no fingerprint yet), which cannot have alerts: a first start.
    rows = alerts_of(conn, [cid for cid in changed if claimed[cid]])
    rows.update((cid, []) for cid in changed if not claimed[cid])
    journal = history.Journal()  # the batch's history rows, chained once at the end
    quiet = silences.active(conn, now) if changed else []
    # A case with no findings and no alert rows has nothing to reconcile (most of a first start).
    found = [
        CaseFindings(case.case_id, case.item_code, case.department, ev.findings, rows[case.case_id])
        for case, ev in results
        if case.case_id in rows and (ev.findings or rows[case.case_id])
    ]
    moved = reconcile(conn, found, now, reminder_at, journal)  # new alerts: one INSERT
    queued: list[dict[str, Any]] = []
    for case, ev in results:
        changes = moved.get(case.case_id)
        if changes:
            transitions += len(changes)
            notices += _notify(p, conn, case, ev, changes, rules, calendar, now, journal, quiet, queued)
        row = _state(
            case.case_id,
            case.item_code,
            case.department,
            case.item.item_type.value if case.item else "unlisted",
            ev.next_check_at,
            floor,
            now,
            digest,
            clock_span(case, ev, now),
            prints[case.case_id],
        )
        if case.is_closed:
            row["open"] = False
            row["closed_at"] = next((e.at for e in case.events if e.kind == "closed"), None)
            row["outcome"] = outcome(case, ev)
            row["limit_share"] = limit_share(case, ev)
        states.append(row)
    outbox.write(conn, queued)
    store.save_states(conn, states)
    journal.flush(conn)
    return len(claimed), transitions, notices


def _screened(
    p: Pipeline, claimed: dict[str, str], rules: RuleSet, calendar: WorkCalendar, digest: str, now: datetime
) -> list[tuple[Case, Evaluation]]:
    """The claimed cases and their evaluations, through the screen (the memo of each case's
    shape); on PostgreSQL the shape is read off the reader's rows."""
    screen = p.screen_for(digest, rules, calendar)
    rows_of = p.reader.load_rows(claimed)
    if rows_of is None:  # not PostgreSQL: from the cases
        with _closed(p.reader.load_cases(claimed)) as cases:
            return [(case, screen.evaluate(case, now)) for case in cases]
    with _closed(rows_of):
        return [screen.evaluate_rows(raw, now) for raw in rows_of]


def _state(
    case_id: str,
    item_code: str,
    department: str,
    item_type: str,
    nxt: datetime | None,
    floor: datetime,
    now: datetime,
    digest: str,
    span: tuple[datetime | None, datetime | None],
    fingerprint: str = store.QUIET,
) -> dict[str, Any]:
    """A case's new state row, as an open case's (the caller fills in what closing sets);
    every row of a batch has the same keys in the same order (store.save_states)."""
    return {
        "case_id": case_id,
        "item_code": item_code,
        "department": department,
        "item_type": item_type,
        "open": True,
        "next_check_at": max(nxt, floor) if nxt is not None else None,
        "evaluated_at": now,
        "ruleset_digest": digest,
        "fingerprint": fingerprint,
        "closed_at": None,
        "outcome": None,
        "limit_share": None,
        "clock_from": span[0],
        "clock_until": span[1],
    }


def _notify(
    p: Pipeline,
    conn: Connection,
    case: Case,
    ev: Evaluation,
    changes: list[Transition],
    rules: RuleSet,
    calendar: WorkCalendar,
    now: datetime,
    journal: history.Journal,
    quiet: list[Any],
    queued: list[dict[str, Any]],
) -> int:
    """Count one case's alert changes and build the notices they cause into `queued`."""
    tz = p.config.tz
    notices = 0
    explanation: str | None = None
    for t in changes:
        if p.metrics is not None:
            _count(p.metrics, t.action, t.category, t.level.value, case.department)
        if t.finding is None:
            continue
        if explanation is None:
            explanation = explain_text(case, ev, calendar, rules.vocabulary, tz)
        notices += outbox.enqueue(
            conn,
            t,
            case,
            explanation,
            rules.vocabulary.party(case),
            p.config.notify,
            calendar,
            now,
            tz,
            journal=journal,
            active_silences=quiet,
            into=queued,
        )
    return notices


def _count(m: Metrics, action: str, category: str, level: str, department: str) -> None:
    if action in ("raised", "escalated", "reopened"):
        m.raised.labels(category, level, department).inc()
    elif action == "cured":
        m.cured.labels(category, department).inc()
