"""One evaluation pass: read what changed, evaluate only those cases, write only changes.

A pass is one loop over batches; each batch goes through the stages of
`monitor.daemon.stages` under one frozen context, reading cases from the source reader and
writing to the state store (`monitor.state.stores`), whatever the backend.

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
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from alerts.history import ChainConflictError
from alerts.lifecycle import AlertConflictError
from monitor.calendar import WorkCalendar
from monitor.config import Config
from monitor.daemon.requeue import Generation, queue_affected
from monitor.daemon.setaside import BatchError, isolate, set_aside
from monitor.daemon.stages import Context, Totals, run_batch
from monitor.engine import RuleSet
from monitor.engine.screen import Screen
from monitor.metrics import Metrics
from monitor.source import health
from monitor.source.reader import SourceReader
from monitor.state.stores import StateStore, store_for

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
    store: StateStore = field(init=False)  # the state database's queue and states, for its backend

    def __post_init__(self) -> None:
        self.store = store_for(self.state)

    def screen_for(self, digest: str, rules: RuleSet, calendar: WorkCalendar) -> Screen:
        if self.screen is None or self.screen[0] != digest:
            self.screen = (digest, Screen(rules, calendar, self.config.tz))
        return self.screen[1]


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
            queue_affected(p.store, current, p.last, now, p.config.tz)
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
    ctx = Context.of(p.config, rules, calendar, digest, now, p.metrics)
    limit = max_cases if max_cases is not None else 10**12
    while evaluated < limit:
        if backlog and pages < AHEAD_PAGES and p.store.due_at_least(now, ahead * p.config.daemon.batch_size):
            pass  # enough queued for now
        elif backlog and pages < AHEAD_PAGES:
            read, latest = _ingest(p, now)
            events_read += read
            newest = latest or newest
            backlog = read >= p.reader.max_events
            pages += 1
        with gc_paused():
            try:
                batch = _retrying(lambda: _evaluate_batch(p, ctx))
            except BatchError as failed:
                batch = _isolated(p, ctx, failed)
        if batch is None:
            break
        evaluated += batch.cases
        transitions += batch.transitions
        notices += batch.notices
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
        if ingest and p.store.lock_cursor(conn, now):
            overlap = p.reader.overlap
            verdict = health.check(p.source, conn, p.store.read_cursor(conn), p.config.source, overlap, now)
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
        if not p.store.lock_cursor(conn, now):
            return 0, None
        cursor = p.store.read_cursor(conn)
        changes, new_cursor = p.reader.changes(cursor, now)
        ids = set(changes.case_ids)
        if changes.item_codes and cursor.item_watermark is not None:
            ids |= p.store.open_cases_of_items(conn, changes.item_codes)
        p.store.mark_due(conn, ids, now)
        p.store.write_cursor(conn, new_cursor, now)
    if len(ids) >= ANALYZE_AFTER and (
        p.analyzed_at is None or time.monotonic() - p.analyzed_at >= ANALYZE_EVERY
    ):
        # A first start (or a bulk load) changes the queue's shape at once; fresh statistics
        # keep the planner on the index for claiming due cases. Once a minute is enough: a
        # first start of millions ingests a page of 40,000 cases every few seconds.
        p.store.analyze()
        p.analyzed_at = time.monotonic()
    return changes.events_read, changes.newest_event_at


T = TypeVar("T")


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


def _isolated(p: Pipeline, ctx: Context, failed: BatchError) -> Totals:
    """A batch failed for a case's sake: evaluate it in halves, set the failing case aside."""
    log.warning("%s; evaluating it in halves to find the case", failed)
    found = isolate(lambda ids: _retrying(lambda: _evaluate_batch(p, ctx, only=ids)), failed)
    for case_id, cause in found.poisoned:
        set_aside(p.state, p.config.notify, p.metrics, case_id, cause, ctx.now)
    return Totals(*found.totals)


def _evaluate_batch(p: Pipeline, ctx: Context, *, only: list[str] | None = None) -> Totals | None:
    """Claim due cases (of `only`, if given) and take them through the stages
    (monitor.daemon.stages); one transaction. A failure other than a conflict is a
    `BatchError` naming the cases, so that the one at fault can be found and set aside."""
    with p.state.begin() as conn:
        claimed = p.store.claim_due(conn, ctx.now, p.config.daemon.batch_size, only=only)
        if not claimed:
            return None
        try:
            screen = p.screen_for(ctx.digest, ctx.rules, ctx.calendar)
            return run_batch(conn, ctx, p.store, p.reader.load_rows(claimed), screen, claimed)
        except CONFLICTS:
            raise
        except Exception as exc:
            raise BatchError(sorted(claimed), exc) from exc
