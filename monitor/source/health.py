"""Is the source whole? A source that looks empty is an outage, not a fact.

Before a pass reads any change, the source's three tables are counted and their newest
seq or `updated_at` read. A table that cannot be read, lost most of its rows since the last
pass (`source.max_drop_fraction`), or whose newest row is older than what the ingest cursor
has already read (a restore from an old backup, a view pointed at another table) is at fault:
the pass then reads nothing and evaluates nothing, so no alert is raised, cured or changed
on records that are missing rather than gone. Evaluation resumes by itself once every table
holds `source.resume_fraction` of the rows known before, or when an operator confirms the
new figures (`sunlight source accept`, `accept` below).

The figures known (`sunlight_source_tables`) are kept in the state database, so a restart
in the middle of an outage still compares with the source as it was. Tables known to hold
fewer than `source.min_rows` rows are not checked for losses: a new installation starts
empty. A refused connection is not a fault of a table: it raises, as before, and the pass
fails and is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, update
from sqlalchemy.exc import DBAPIError

from monitor.config import SourceConfig
from monitor.errors import SunlightError
from monitor.source.reader import Cursor
from monitor.state.schema import case_events, cases, cursors, power_items, source_tables

TABLES: tuple[Table, ...] = (power_items, cases, case_events)
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)


@dataclass(frozen=True, slots=True)
class Figures:
    """What one source table holds now."""

    table: str
    rows: int = 0
    newest_seq: int | None = None  # case_events
    newest_stamp: datetime | None = None  # cases, power_items: the greatest updated_at
    error: str | None = None  # the table could not be read


@dataclass(frozen=True, slots=True)
class Known:
    """What was last seen in a table while it was consistent, and its fault if it has one."""

    table: str
    rows: int
    seen_at: datetime
    fault: str | None = None
    fault_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    faults: dict[str, str]  # table -> one line saying what is wrong
    began: frozenset[str] = frozenset()  # tables at fault since this check
    ended: frozenset[str] = frozenset()  # tables consistent again since this check

    @property
    def ok(self) -> bool:
        return not self.faults

    def summary(self) -> str:
        return "; ".join(self.faults[t] for t in TABLE_NAMES if t in self.faults)


def survey(engine: Engine) -> dict[str, Figures]:
    """Count each source table and read its newest seq or time.

    A connection that cannot be made raises (the pass fails and is retried, as for any
    outage of the server). A table that cannot be read is reported in its figures: one
    connection each, since on PostgreSQL a failed statement spoils its transaction."""
    found: dict[str, Figures] = {}
    for table in TABLES:
        newest = table.c.seq if table is case_events else table.c.updated_at
        with engine.connect() as conn:
            try:
                rows, last = conn.execute(select(func.count(), func.max(newest)).select_from(table)).one()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise
                found[table.name] = Figures(table.name, error=_first_line(exc.orig))
                continue
        if table is case_events:
            found[table.name] = Figures(table.name, int(rows), newest_seq=None if last is None else int(last))
        else:
            found[table.name] = Figures(table.name, int(rows), newest_stamp=last)
    return found


def judge(
    figures: dict[str, Figures],
    known: dict[str, Known],
    cursor: Cursor,
    settings: SourceConfig,
    overlap: timedelta,
) -> dict[str, str]:
    """The tables at fault and why, from what they hold now and what was known before."""
    faults: dict[str, str] = {}
    for name in TABLE_NAMES:
        now, before = figures[name], known.get(name)
        if now.error is not None:
            faults[name] = f"source fault: {name} cannot be read ({now.error}); evaluation paused"
            continue
        if before is None or before.rows < settings.min_rows:
            continue  # nothing known yet, or too little to judge a loss by (a new installation)
        share = settings.resume_fraction if before.fault is not None else 1 - settings.max_drop_fraction
        if now.rows < before.rows * share:
            faults[name] = (
                f"source fault: {name} holds {now.rows} rows, {before.rows} were seen at "
                f"{before.seen_at.isoformat(timespec='seconds')}; evaluation paused"
            )
            continue
        behind = _behind(name, now, cursor, overlap)
        if behind is not None:
            faults[name] = f"source fault: {behind}; evaluation paused"
    return faults


def _behind(name: str, now: Figures, cursor: Cursor, overlap: timedelta) -> str | None:
    """Why the table's newest row is older than what the cursor already read, if it is."""
    if name == case_events.name:
        if cursor.position > 0 and (now.newest_seq or 0) < cursor.position:
            return f"{name} goes back: its newest seq is {now.newest_seq}, {cursor.position} was already read"
        return None
    watermark = cursor.case_watermark if name == cases.name else cursor.item_watermark
    if watermark is None:
        return None
    # The reader keeps its watermark up to `overlap` (and a microsecond) past the newest row.
    floor = watermark - overlap - timedelta(microseconds=1)
    if now.newest_stamp is None or now.newest_stamp < floor:
        newest = now.newest_stamp.isoformat(timespec="seconds") if now.newest_stamp else "none"
        return (
            f"{name} goes back: its newest updated_at is {newest}, "
            f"{floor.isoformat(timespec='seconds')} was already read"
        )
    return None


def check(
    source: Engine,
    conn: Connection,
    cursor: Cursor,
    settings: SourceConfig,
    overlap: timedelta,
    now: datetime,
) -> Verdict:
    """Survey the source, judge it and record the outcome in the state (`conn`'s transaction,
    which holds the ingest cursor)."""
    figures = survey(source)
    known = read_known(conn)
    faults = judge(figures, known, cursor, settings, overlap)
    began: set[str] = set()
    ended: set[str] = set()
    for name in TABLE_NAMES:
        before, fault = known.get(name), faults.get(name)
        if fault is None:
            # Consistent: what it holds now is what the next pass compares with.
            held = figures[name].rows
            _save(conn, name, {"known_rows": held, "seen_at": now, "fault": None, "fault_since": None}, now)
            if before is not None and before.fault is not None:
                ended.add(name)
        elif before is None:  # unreadable before anything was known of it
            _save(conn, name, {"known_rows": 0, "seen_at": now, "fault": fault, "fault_since": now}, now)
            began.add(name)
        else:  # the figures known before the fault stay, to compare the source with when it returns
            _save(conn, name, {"fault": fault, "fault_since": before.fault_since or now}, now)
            if before.fault is None:
                began.add(name)
    return Verdict(faults, frozenset(began), frozenset(ended))


def stored_faults(conn: Connection) -> Verdict:
    """The faults the process that reads the source recorded last (for the other processes)."""
    return Verdict({k.table: k.fault for k in read_known(conn).values() if k.fault is not None})


def read_known(conn: Connection) -> dict[str, Known]:
    rows = conn.execute(
        select(
            source_tables.c.name,
            source_tables.c.known_rows,
            source_tables.c.seen_at,
            source_tables.c.fault,
            source_tables.c.fault_since,
        )
    )
    return {r.name: Known(r.name, int(r.known_rows), r.seen_at, r.fault, r.fault_since) for r in rows}


def wait_for_cursor(conn: Connection, now: datetime) -> None:
    """Take the ingest cursor for this transaction (`accept`), waiting while a pass holds it."""
    from monitor.state.store import EVENTS_CURSOR, ensure_cursor

    ensure_cursor(conn, now)
    if conn.dialect.name != "sqlite":
        conn.execute(select(cursors.c.name).where(cursors.c.name == EVENTS_CURSOR).with_for_update())


def accept(source: Engine, conn: Connection, cursor: Cursor, by: str, note: str, now: datetime) -> Cursor:
    """An operator confirms the source as it is now (a genuine mass deletion, a restore).

    Its figures become the ones known, and the faults end. A cursor past what the source
    holds is moved back to it: events and rows written from there on are then read again
    rather than skipped (reading twice is harmless). Returns the cursor to store."""
    figures = survey(source)
    unreadable = {n: f.error for n, f in figures.items() if f.error is not None}
    if unreadable:
        problems = "; ".join(f"{n}: {e}" for n, e in unreadable.items())
        raise SunlightError(f"cannot accept the source while a table cannot be read: {problems}")
    for name in TABLE_NAMES:
        _save(
            conn,
            name,
            {
                "known_rows": figures[name].rows,
                "seen_at": now,
                "fault": None,
                "fault_since": None,
                "accepted_by": by,
                "accepted_note": note,
                "accepted_at": now,
            },
            now,
        )
    events = figures[case_events.name].newest_seq or 0
    return Cursor(
        min(cursor.position, events),
        {s: t for s, t in cursor.gaps.items() if s <= events},
        _lowered(cursor.case_watermark, figures[cases.name].newest_stamp),
        _lowered(cursor.item_watermark, figures[power_items.name].newest_stamp),
        cursor.case_seen,
        cursor.item_seen,
    )


def _lowered(watermark: datetime | None, newest: datetime | None) -> datetime | None:
    if watermark is None or newest is None:
        return None  # an empty table: the reader starts it afresh when rows come (a first start)
    return min(watermark, newest)


def _save(conn: Connection, name: str, values: dict[str, Any], now: datetime) -> None:
    values = {**values, "updated_at": now}
    moved = conn.execute(update(source_tables).where(source_tables.c.name == name).values(**values))
    if moved.rowcount == 0:
        values.setdefault("known_rows", 0)
        values.setdefault("seen_at", now)
        conn.execute(source_tables.insert().values(name=name, **values))


def _first_line(error: Any) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
