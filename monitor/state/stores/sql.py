"""The generic SQLAlchemy state store (SQLite, MariaDB): portable statements, batches as
executemany. The two backends differ only in their upsert's syntax and in row locks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import mysql, sqlite

from monitor.source.reader import Cursor
from monitor.state import store
from monitor.state.rows import STATE_FIELDS, StateRow
from monitor.state.schema import case_state, cursors

MARK_CHUNK = 1000  # queue rows a statement
ITEM_CHUNK = 500  # item codes a query
_SET_FIELDS = tuple(f for f in STATE_FIELDS if f != "case_id")


class SqlStore:
    """`StateStore` in portable SQL. A subclass gives the upsert that queues a case and says
    whether claims take row locks."""

    locks: ClassVar[bool] = True  # SELECT … FOR UPDATE SKIP LOCKED for claims and the cursor
    analyze_statement: ClassVar[str] = "ANALYZE sunlight_case_state"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def lock_cursor(self, conn: Connection, now: datetime) -> bool:
        store.ensure_cursor(conn, now)
        query = select(cursors.c.name).where(cursors.c.name == store.EVENTS_CURSOR)
        return conn.execute(self._locked(query)).first() is not None

    def read_cursor(self, conn: Connection) -> Cursor:
        return store.read_cursor(conn)

    def write_cursor(self, conn: Connection, cursor: Cursor, now: datetime) -> None:
        store.write_cursor(conn, cursor, now)

    def mark_due(self, conn: Connection, case_ids: Iterable[str], now: datetime) -> int:
        # One upsert per chunk, on the primary key: no lookup that a planner could turn into
        # a scan of a table this very transaction is filling (a first start queues millions).
        ids = sorted(set(case_ids))
        statement = self._upsert_due()
        for i in range(0, len(ids), MARK_CHUNK):
            conn.execute(statement, [_placeholder(cid, now) for cid in ids[i : i + MARK_CHUNK]])
        return len(ids)

    def _upsert_due(self) -> Any:
        """INSERT a placeholder, or move an existing row's next check forward to now."""
        raise NotImplementedError

    def claim_due(
        self, conn: Connection, now: datetime, limit: int, *, only: Iterable[str] | None = None
    ) -> dict[str, str]:
        query = (
            select(case_state.c.case_id, case_state.c.fingerprint)
            .where(case_state.c.next_check_at <= now)
            .order_by(case_state.c.next_check_at)
            .limit(limit)
        )
        if only is not None:
            query = query.where(case_state.c.case_id.in_(sorted(only)))
        return {r.case_id: r.fingerprint for r in conn.execute(self._locked(query))}

    def due_at_least(self, now: datetime, count: int) -> bool:
        # One look at the queue's index, never a count of all of it.
        due = select(case_state.c.case_id).where(case_state.c.next_check_at <= now).limit(count).subquery()
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(due)).scalar_one()) >= count

    def open_cases_of_items(self, conn: Connection, item_codes: Iterable[str]) -> set[str]:
        codes = sorted(item_codes)
        out: set[str] = set()
        for i in range(0, len(codes), ITEM_CHUNK):
            out.update(
                conn.execute(
                    select(case_state.c.case_id).where(
                        and_(
                            case_state.c.item_code.in_(codes[i : i + ITEM_CHUNK]), case_state.c.open.is_(True)
                        )
                    )
                ).scalars()
            )
        return out

    def save_states(self, conn: Connection, rows: Sequence[StateRow]) -> None:
        if not rows:
            return
        conn.execute(
            update(case_state)
            .where(case_state.c.case_id == bindparam("b_case_id"))
            .values({k: bindparam(f"b_{k}") for k in _SET_FIELDS}),
            [{f"b_{k}": v for k, v in zip(STATE_FIELDS, row, strict=True)} for row in rows],
        )

    def requeue(self, due: ColumnElement[bool], now: datetime) -> int:
        with self.engine.begin() as conn:
            queued = conn.execute(update(case_state).where(not_due(due, now)).values(next_check_at=now))
            return int(queued.rowcount)

    def analyze(self) -> None:
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(self.analyze_statement))

    def _locked(self, query: Select[Any]) -> Select[Any]:
        return query.with_for_update(skip_locked=True) if self.locks else query


def not_due(due: ColumnElement[bool], now: datetime) -> ColumnElement[bool]:
    """The cases of `due` that are not due by `now` yet: those `requeue` moves."""
    waiting = or_(case_state.c.next_check_at.is_(None), case_state.c.next_check_at > now)
    return and_(due, waiting)


def _placeholder(case_id: str, now: datetime) -> dict[str, Any]:
    """A queue row for a case never evaluated: due now, no fingerprint."""
    return {
        "case_id": case_id,
        "item_code": "",
        "department": "",
        "item_type": "",
        "open": True,
        "next_check_at": now,
        "ruleset_digest": "",
        "fingerprint": "",
    }


class SqliteStore(SqlStore):
    locks = False  # SQLite has one writer at a time: a transaction holds the whole file

    def _upsert_due(self) -> Any:
        table = case_state
        ins = sqlite.insert(table)
        return ins.on_conflict_do_update(
            index_elements=[table.c.case_id],
            set_={"next_check_at": ins.excluded.next_check_at},
            where=or_(table.c.next_check_at.is_(None), table.c.next_check_at > ins.excluded.next_check_at),
        )


class MariaDbStore(SqlStore):
    analyze_statement = "ANALYZE TABLE sunlight_case_state"

    def _upsert_due(self) -> Any:
        table = case_state
        my = mysql.insert(table)
        new = my.inserted.next_check_at
        return my.on_duplicate_key_update(
            next_check_at=case(
                (or_(table.c.next_check_at.is_(None), table.c.next_check_at > new), new),
                else_=table.c.next_check_at,
            )
        )
