"""The alert history: append-only and hash-chained, so an edit afterwards is detectable.

Each row's hash covers its content and the previous row's hash; a head row holds the latest
sequence number and hash. Appending moves the head with a conditional update (`WHERE seq =
old`), so two writers can never both extend the chain from the same row: the loser's
transaction fails with `ChainConflictError` and is retried. `verify` recomputes the chain and
names the first row that was edited, removed or reordered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from monitor.state.schema import alert_history, chain_head

GENESIS = "0" * 64


class ChainConflictError(Exception):
    """Another writer extended the chain first; retry the whole transaction."""


def _digest(
    prev: str,
    seq: int,
    alert_id: int,
    at: datetime,
    action: str,
    level: str | None,
    actor: str,
    detail: dict[str, Any],
) -> str:
    body = json.dumps(
        [
            seq,
            alert_id,
            at.astimezone(UTC).isoformat(timespec="microseconds"),
            action,
            level,
            actor,
            detail,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256((prev + body).encode()).hexdigest()


class Journal:
    """History rows gathered during one transaction and chained in one go at its end.

    A batch of cases can raise hundreds of alerts; appending each row on its own would lock
    and move the chain head hundreds of times. The journal locks it once, links all its rows
    in order, inserts them with one statement and moves the head once."""

    def __init__(self) -> None:
        self._rows: list[tuple[int, str, datetime, str | None, str, dict[str, Any]]] = []

    def add(
        self,
        alert_id: int,
        action: str,
        at: datetime,
        *,
        level: str | None = None,
        actor: str = "sunlight",
        detail: dict[str, Any] | None = None,
    ) -> None:
        clean = json.loads(json.dumps(detail or {}, ensure_ascii=False, default=str))
        self._rows.append((alert_id, action, at, level, actor, clean))

    def flush(self, conn: Connection) -> int:
        """Chain and write the gathered rows; returns the sequence of the last one (0 if none)."""
        if not self._rows:
            return 0
        head = conn.execute(
            select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1).with_for_update()
        ).one()
        seq, prev = int(head.seq), str(head.hash)
        rows = []
        for alert_id, action, at, level, actor, detail in self._rows:
            seq += 1
            digest = _digest(prev, seq, alert_id, at, action, level, actor, detail)
            rows.append(
                {
                    "chain_seq": seq,
                    "alert_id": alert_id,
                    "at": at,
                    "action": action,
                    "level": level,
                    "actor": actor,
                    "detail": detail,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        moved = conn.execute(
            update(chain_head)
            .where(chain_head.c.id == 1, chain_head.c.seq == head.seq)
            .values(seq=seq, hash=prev)
        )
        if moved.rowcount != 1:
            raise ChainConflictError(f"history chain moved past {head.seq} while appending")
        conn.execute(alert_history.insert(), rows)
        self._rows.clear()
        return seq


@contextmanager
def gathering(conn: Connection, journal: Journal | None) -> Iterator[Journal]:
    """The caller's journal, or one of our own that is chained when the block ends."""
    if journal is not None:
        yield journal
        return
    own = Journal()
    yield own
    own.flush(conn)


def append(
    conn: Connection,
    alert_id: int,
    action: str,
    at: datetime,
    *,
    level: str | None = None,
    actor: str = "sunlight",
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one row to the chain within the caller's transaction; returns its sequence."""
    journal = Journal()
    journal.add(alert_id, action, at, level=level, actor=actor, detail=detail)
    return journal.flush(conn)


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    rows: int
    problem: str = ""


def verify(conn: Connection) -> Verdict:
    """Recompute the whole chain; the first mismatch is named by its sequence and id."""
    prev = GENESIS
    expected = 1
    rows = 0
    query = select(alert_history).order_by(alert_history.c.chain_seq)
    for row in conn.execute(query.execution_options(yield_per=5000)):
        rows += 1
        if row.chain_seq != expected:
            return Verdict(
                False,
                rows,
                f"row {expected} of the chain is missing (next present is {row.chain_seq}, id {row.id})",
            )
        if row.prev_hash != prev:
            return Verdict(
                False,
                rows,
                f"row {row.chain_seq} (id {row.id}) does not link to row {expected - 1}: "
                "reordered, or the earlier row was replaced",
            )
        detail = row.detail if isinstance(row.detail, dict) else json.loads(row.detail)
        digest = _digest(prev, row.chain_seq, row.alert_id, row.at, row.action, row.level, row.actor, detail)
        if digest != row.hash:
            return Verdict(
                False,
                rows,
                f"row {row.chain_seq} (id {row.id}, alert {row.alert_id}, {row.action}) "
                "was edited after it was written",
            )
        prev = row.hash
        expected += 1
    head = conn.execute(select(chain_head.c.seq, chain_head.c.hash).where(chain_head.c.id == 1)).one()
    if head.seq != expected - 1 or head.hash != prev:
        return Verdict(
            False,
            rows,
            f"the chain ends at row {expected - 1} but its head records row {head.seq}: "
            "rows were removed from the end",
        )
    return Verdict(True, rows)
