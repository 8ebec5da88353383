"""The state store: the daemon's queue, cursor and per-case state behind one interface.

As APScheduler 4's data stores, one protocol (`StateStore`) says what a pass needs of its
database, and each backend implements it the way that backend does it best: a generic
SQLAlchemy store for SQLite and MariaDB (`sql.py`) and a PostgreSQL one (`postgres.py`)
that binds arrays, COPYs a batch's rows and queues in chunks. The backend is chosen once,
from the engine's dialect (`store_for`); nothing that uses a store asks which one it has.
`tests/test_store_contract.py` holds every implementation to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar, Protocol

from sqlalchemy import ColumnElement, Connection, Engine

from monitor.source.reader import Cursor
from monitor.state.rows import StateRow


class StateStore(Protocol):
    """What a pass reads and writes in the state database. Methods taking a connection work
    in the caller's transaction; the others open their own."""

    engine: Engine
    # Whether claims and the cursor take row locks, so that several processes can share the
    # queue (daemon.workers, replicas); SQLite has one writer at a time and does not.
    locks: ClassVar[bool]

    def lock_cursor(self, conn: Connection, now: datetime) -> bool:
        """Take the ingest cursor for this transaction; False when another process holds it."""
        ...

    def read_cursor(self, conn: Connection) -> Cursor: ...

    def write_cursor(self, conn: Connection, cursor: Cursor, now: datetime) -> None: ...

    def mark_due(self, conn: Connection, case_ids: Iterable[str], now: datetime) -> int:
        """Queue cases: a known one becomes due now (never later than it was), a new one gets
        a placeholder row; returns how many ids were given."""
        ...

    def claim_due(
        self, conn: Connection, now: datetime, limit: int, *, only: Iterable[str] | None = None
    ) -> dict[str, str]:
        """Up to `limit` due cases (of `only`, if given), earliest first, locked for this
        transaction so that other processes skip them: id -> stored fingerprint."""
        ...

    def due_at_least(self, now: datetime, count: int) -> bool:
        """Whether at least `count` cases are due, claimed ones included."""
        ...

    def open_cases_of_items(self, conn: Connection, item_codes: Iterable[str]) -> set[str]: ...

    def save_states(self, conn: Connection, rows: Sequence[StateRow]) -> None:
        """Write a batch's new state rows over their queue rows (which exist: claimed)."""
        ...

    def requeue(self, due: ColumnElement[bool], now: datetime) -> int:
        """Make the cases matching `due` that are not due yet due now, in transactions of the
        store's own; how many."""
        ...

    def analyze(self) -> None:
        """Refresh the planner's statistics of the case-state table."""
        ...


def store_for(engine: Engine) -> StateStore:
    """The store for the engine's backend."""
    from monitor.state.stores.postgres import PostgresStore
    from monitor.state.stores.sql import MariaDbStore, SqliteStore

    kinds: dict[str, type[SqliteStore | MariaDbStore | PostgresStore]] = {
        "postgresql": PostgresStore,
        "sqlite": SqliteStore,
        "mysql": MariaDbStore,
        "mariadb": MariaDbStore,
    }
    kind = kinds.get(engine.dialect.name)
    if kind is None:
        raise ValueError(f"no state store for the {engine.dialect.name} dialect")
    return kind(engine)
