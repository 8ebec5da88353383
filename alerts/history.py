"""The alert history: append-only and chained under a key, so an edit afterwards is detectable.

Each row's hash is an HMAC-SHA256, under the key outside the database (alerts.audit.keys),
of its content and the previous row's hash; the row records the key's id. A head row holds
the latest sequence number, hash and key id. Appending moves the head with a conditional
update (`WHERE seq = old`), so two writers can never both extend the chain from the same
row: the loser's transaction fails with `ChainConflictError` and is retried. Rows written
before the keyed chain (key id NULL) carry a plain SHA-256 and are checked as such.
`alerts.audit.verify` replays the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from alerts.audit.keys import AuditKey, check_chain_key, keyring_of
from monitor.state.schema import alert_history, chain_head

GENESIS = "0" * 64


class ChainConflictError(Exception):
    """Another writer extended the chain first; retry the whole transaction."""


def row_hash(
    key: AuditKey | None,
    prev: str,
    seq: int,
    alert_id: int,
    at: datetime,
    action: str,
    level: str | None,
    actor: str,
    detail: Any,
) -> str:
    """A row's hash: HMAC-SHA256 under `key`, or the SHA-256 of the unkeyed chain (no key)."""
    body = [
        seq,
        alert_id,
        at.astimezone(UTC).isoformat(timespec="microseconds"),
        action,
        level,
        actor,
        detail,
    ]
    if key is not None:
        body.append(key.key_id)  # a row cannot be passed off as signed by another key
    text = prev + json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    if key is None:
        return hashlib.sha256(text.encode()).hexdigest()
    return hmac.new(key.secret, text.encode(), hashlib.sha256).hexdigest()


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
        keys = keyring_of(conn)
        head = conn.execute(
            select(chain_head.c.seq, chain_head.c.hash, chain_head.c.key_id)
            .where(chain_head.c.id == 1)
            .with_for_update()
        ).one()
        check_chain_key(keys, head.key_id)  # never extend a chain signed with a key we do not hold
        key = keys.current
        seq, prev = int(head.seq), str(head.hash)
        rows = []
        for alert_id, action, at, level, actor, detail in self._rows:
            seq += 1
            digest = row_hash(key, prev, seq, alert_id, at, action, level, actor, detail)
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
                    "key_id": key.key_id,
                }
            )
            prev = digest
        moved = conn.execute(
            update(chain_head)
            .where(chain_head.c.id == 1, chain_head.c.seq == head.seq)
            .values(seq=seq, hash=prev, key_id=key.key_id)
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
