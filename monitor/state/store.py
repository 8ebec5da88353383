"""The daemon's bookkeeping: the ingest cursor and per-case evaluation state."""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Engine,
    Float,
    String,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from monitor.model import Evaluation
from monitor.source.reader import Cursor
from monitor.state.schema import UTCDateTime, case_state, cursors, stored

EVENTS_CURSOR = "events"


def read_cursor(conn: Connection) -> Cursor:
    row = conn.execute(select(cursors).where(cursors.c.name == EVENTS_CURSOR)).first()
    if row is None:
        return Cursor()
    gaps_raw = row.gaps or {}
    gaps = {int(k): datetime.fromisoformat(v) for k, v in gaps_raw.get("events", {}).items()}
    case_wm = gaps_raw.get("case_watermark")
    item_wm = gaps_raw.get("item_watermark")
    return Cursor(
        position=int(row.position),
        gaps=gaps,
        case_watermark=datetime.fromisoformat(case_wm) if case_wm else None,
        item_watermark=datetime.fromisoformat(item_wm) if item_wm else None,
        case_seen=_stamps(gaps_raw.get("case_seen")),
        item_seen=_stamps(gaps_raw.get("item_seen")),
    )


def _stamps(raw: dict[str, str] | None) -> dict[str, datetime]:
    return {k: datetime.fromisoformat(v) for k, v in (raw or {}).items()}


def write_cursor(conn: Connection, cursor: Cursor, now: datetime) -> None:
    body = {
        "events": {str(k): v.isoformat() for k, v in cursor.gaps.items()},
        "case_watermark": cursor.case_watermark.isoformat() if cursor.case_watermark else None,
        "item_watermark": cursor.item_watermark.isoformat() if cursor.item_watermark else None,
        "case_seen": {k: v.isoformat() for k, v in cursor.case_seen.items()},
        "item_seen": {k: v.isoformat() for k, v in cursor.item_seen.items()},
    }
    values = {"position": cursor.position, "gaps": body, "updated_at": now}
    moved = conn.execute(update(cursors).where(cursors.c.name == EVENTS_CURSOR).values(**values))
    if moved.rowcount == 0:
        try:
            with conn.begin_nested():
                conn.execute(cursors.insert().values(name=EVENTS_CURSOR, **values))
        except IntegrityError:
            conn.execute(update(cursors).where(cursors.c.name == EVENTS_CURSOR).values(**values))


def fingerprint(evaluation: Evaluation) -> str:
    """A digest of the findings (rule and level) so unchanged cases write nothing."""
    if not evaluation.findings:
        return QUIET  # nearly every case of a pass
    parts = sorted(f"{f.rule_id}:{f.level.value}" for f in evaluation.findings)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


QUIET = hashlib.sha256(b"").hexdigest()[:32]  # the fingerprint of an evaluation without findings


def mark_due(conn: Connection, case_ids: Iterable[str], now: datetime) -> int:
    """Queue cases for evaluation: a known case becomes due now, a new one gets a row.

    One upsert per chunk, on the primary key: no lookup that a planner could turn into a
    scan of a table that this very transaction is filling (a first start queues millions).
    The due rows are the work queue that every replica claims from (`claim_due`)."""
    ids = sorted(set(case_ids))
    if conn.dialect.name == "postgresql":
        # The ids as one array parameter: a statement per 10,000 cases, not a row each.
        for i in range(0, len(ids), 10_000):
            conn.execute(_PG_MARK_DUE, {"ids": ids[i : i + 10_000], "now": stored(now)})
        return len(ids)
    for i in range(0, len(ids), 1000):
        rows = [
            {
                "case_id": cid,
                "item_code": "",
                "department": "",
                "item_type": "",
                "open": True,
                "next_check_at": now,
                "ruleset_digest": "",
                "fingerprint": "",
            }
            for cid in ids[i : i + 1000]
        ]
        conn.execute(_upsert_due(conn.dialect.name), rows)
    return len(ids)


_PG_MARK_DUE = text(
    f"INSERT INTO {case_state.name} AS s (case_id, item_code, department, item_type, open,"  # noqa: S608
    " next_check_at, ruleset_digest, fingerprint)"
    " SELECT id, '', '', '', true, :now, '', '' FROM unnest(CAST(:ids AS text[])) AS id"
    " ON CONFLICT (case_id) DO UPDATE SET next_check_at = excluded.next_check_at"
    " WHERE s.next_check_at IS NULL OR s.next_check_at > excluded.next_check_at"
)


def _upsert_due(dialect: str) -> Any:
    """INSERT a placeholder, or move an existing row's next check forward to now."""
    table = case_state
    if dialect in ("postgresql", "sqlite"):  # the same ON CONFLICT clause in both
        ins = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        return ins.on_conflict_do_update(
            index_elements=[table.c.case_id],
            set_={"next_check_at": ins.excluded.next_check_at},
            where=or_(table.c.next_check_at.is_(None), table.c.next_check_at > ins.excluded.next_check_at),
        )
    my = mysql.insert(table)
    new = my.inserted.next_check_at
    return my.on_duplicate_key_update(
        next_check_at=case(
            (or_(table.c.next_check_at.is_(None), table.c.next_check_at > new), new),
            else_=table.c.next_check_at,
        )
    )


def claim_due(
    conn: Connection, now: datetime, limit: int, *, only: Iterable[str] | None = None
) -> dict[str, str]:
    """Lock up to `limit` due cases (of `only`, if given) for this transaction (others skip
    them); id -> fingerprint."""
    query = (
        select(case_state.c.case_id, case_state.c.fingerprint)
        .where(case_state.c.next_check_at <= now)
        .order_by(case_state.c.next_check_at)
        .limit(limit)
    )
    if only is not None:
        query = query.where(case_state.c.case_id.in_(sorted(only)))
    if conn.dialect.name != "sqlite":  # SQLite has one writer at a time anyway
        query = query.with_for_update(skip_locked=True)
    return {r.case_id: r.fingerprint for r in conn.execute(query)}


def due_at_least(engine: Engine, now: datetime, count: int) -> bool:
    """Whether at least `count` cases are due (claimed ones included): one look at the
    queue's index, never a count of all of it."""
    due = select(case_state.c.case_id).where(case_state.c.next_check_at <= now).limit(count).subquery()
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(due)).scalar_one()) >= count


def open_cases_of_items(conn: Connection, item_codes: Iterable[str]) -> set[str]:
    """Open cases of catalogue items that changed (a new promised limit moves their clocks)."""
    codes = sorted(item_codes)
    out: set[str] = set()
    for i in range(0, len(codes), 500):
        out.update(
            conn.execute(
                select(case_state.c.case_id).where(
                    and_(case_state.c.item_code.in_(codes[i : i + 500]), case_state.c.open.is_(True))
                )
            ).scalars()
        )
    return out


def save_states(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write a batch of cases' new state: on PostgreSQL copied into a scratch table and applied
    in one UPDATE, elsewhere one executemany."""
    if not rows:
        return
    columns = [k for k in rows[0] if k != "case_id"]
    if conn.dialect.name == "postgresql":
        _pg_save(conn, ("case_id", *columns), rows)
        return
    conn.execute(
        update(case_state)
        .where(case_state.c.case_id == bindparam("b_case_id"))
        .values({k: bindparam(f"b_{k}") for k in columns}),
        [{f"b_{k}": v for k, v in row.items()} for row in rows],
    )


def _pg_save(conn: Connection, names: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    # COPY formats rows in the driver's C code and the server plans one join; binding the
    # batch as arrays cost twice as much, most of it building the arrays in Python. Every
    # name is a column of case_state (the batch's keys), never data.
    table, batch = case_state.name, f"{case_state.name}_batch"
    listed, sets = ", ".join(names), ", ".join(f"{n} = v.{n}" for n in names if n != "case_id")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor:
        # Session-local and emptied at commit; the DELETE below keeps it empty for a second
        # batch in the same transaction.
        # (Created from a query, so the table's NOT NULLs do not apply to a partial batch.)
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {batch} ON COMMIT DELETE ROWS"  # noqa: S608
            f" AS SELECT * FROM {table} WITH NO DATA"
        )
        values_of = operator.itemgetter(*names)  # a tuple in C (names always hold two or more)
        with cursor.copy(f"COPY {batch} ({listed}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_PG_COPY_TYPES[n] for n in names])
            for row in rows:
                copy.write_row(values_of(row))
        cursor.execute(f"UPDATE {table} AS s SET {sets} FROM {batch} AS v WHERE s.case_id = v.case_id")  # noqa: S608
        cursor.execute(f"DELETE FROM {batch}")  # noqa: S608


def _copy_type(column: Any) -> str:
    """The binary COPY type of a case_state column. Times are sent as timestamptz: the
    driver turns any aware datetime into UTC microseconds, the very bytes of the naive UTC
    timestamp the column holds (schema.stored), so no value is converted in Python."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return "timestamptz"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, String):
        return "text"
    raise TypeError(f"no COPY type for {column.name} ({kind})")  # pragma: no cover - schema


_PG_COPY_TYPES = {c.name: _copy_type(c) for c in case_state.c}


def lock_cursor(conn: Connection, now: datetime) -> bool:
    """Take the ingest cursor for this transaction; False when another replica holds it."""
    exists = conn.execute(select(cursors.c.name).where(cursors.c.name == EVENTS_CURSOR)).first()
    if exists is None:
        try:
            with conn.begin_nested():
                conn.execute(cursors.insert().values(name=EVENTS_CURSOR, position=0, gaps={}, updated_at=now))
        except IntegrityError:
            pass  # another replica created it first
    query = select(cursors.c.name).where(cursors.c.name == EVENTS_CURSOR)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    return conn.execute(query).first() is not None


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics of the case-state table."""
    statement = {
        "postgresql": "ANALYZE sunlight_case_state",
        "mysql": "ANALYZE TABLE sunlight_case_state",
        "mariadb": "ANALYZE TABLE sunlight_case_state",
    }.get(engine.dialect.name, "ANALYZE sunlight_case_state")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))
