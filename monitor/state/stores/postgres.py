"""The PostgreSQL state store: what the generic store does a row at a time, done a batch at a
time where that earns its keep — ids bound as one array, state rows COPYed, queueing in
chunks that commit one by one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Connection, Float, String, select, text, update

from monitor.state.rows import STATE_FIELDS, StateRow
from monitor.state.schema import UTCDateTime, case_state, stored
from monitor.state.stores.sql import SqlStore, not_due

MARK_CHUNK = 10_000  # ids a statement, as one array parameter
REQUEUE_CHUNK = 50_000  # rows queued a transaction

_MARK_DUE = text(
    f"INSERT INTO {case_state.name} AS s (case_id, item_code, department, item_type, open,"  # noqa: S608
    " next_check_at, ruleset_digest, fingerprint)"
    " SELECT id, '', '', '', true, :now, '', '' FROM unnest(CAST(:ids AS text[])) AS id"
    " ON CONFLICT (case_id) DO UPDATE SET next_check_at = excluded.next_check_at"
    " WHERE s.next_check_at IS NULL OR s.next_check_at > excluded.next_check_at"
)
_BATCH = f"{case_state.name}_batch"
# Session-local and emptied at commit; the DELETE after each batch keeps it empty for a second
# batch in the same transaction. Created from a query, so the table's NOT NULLs do not apply.
_CREATE_BATCH = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_BATCH} ON COMMIT DELETE ROWS"  # noqa: S608
    f" AS SELECT * FROM {case_state.name} WITH NO DATA"
)
_COPY = f"COPY {_BATCH} ({', '.join(STATE_FIELDS)}) FROM STDIN (FORMAT BINARY)"
_APPLY = (
    f"UPDATE {case_state.name} AS s SET "  # noqa: S608 - every name is a column of case_state
    + ", ".join(f"{n} = v.{n}" for n in STATE_FIELDS if n != "case_id")
    + f" FROM {_BATCH} AS v WHERE s.case_id = v.case_id"
)


class PostgresStore(SqlStore):
    def mark_due(self, conn: Connection, case_ids: Iterable[str], now: datetime) -> int:
        # The ids as one array parameter: a statement per 10,000 cases, not a row each.
        ids = sorted(set(case_ids))
        for i in range(0, len(ids), MARK_CHUNK):
            conn.execute(_MARK_DUE, {"ids": ids[i : i + MARK_CHUNK], "now": stored(now)})
        return len(ids)

    def save_states(self, conn: Connection, rows: Sequence[StateRow]) -> None:
        # COPY formats rows in the driver's C code and the server plans one join; binding the
        # batch as arrays cost twice as much, most of it building the arrays in Python. A
        # StateRow is already the tuple COPY writes.
        if not rows:
            return
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor:
            cursor.execute(_CREATE_BATCH)
            with cursor.copy(_COPY) as copy:
                copy.set_types(_COPY_TYPES)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(_APPLY)
            cursor.execute(f"DELETE FROM {_BATCH}")  # noqa: S608

    def requeue(self, due: ColumnElement[bool], now: datetime) -> int:
        # In chunks that commit one by one: other processes start on the first chunk while
        # the rest is queued (one statement for a million rows took twenty seconds).
        queued = 0
        waiting = not_due(due, now)  # a chunk queued drops out of the next one's query
        while True:
            chunk = select(case_state.c.case_id).where(waiting).limit(REQUEUE_CHUNK).scalar_subquery()
            with self.engine.begin() as conn:
                moved = int(
                    conn.execute(
                        update(case_state).where(case_state.c.case_id.in_(chunk)).values(next_check_at=now)
                    ).rowcount
                )
            queued += moved
            if moved < REQUEUE_CHUNK:
                return queued


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


_COPY_TYPES = [_copy_type(case_state.c[name]) for name in STATE_FIELDS]
