"""The parts of the daemon's bookkeeping every backend writes alike: the ingest cursor's row
and the fingerprint of an evaluation. The queue and the case states are a `StateStore`'s
(monitor.state.stores)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from monitor.model import Evaluation
from monitor.source.reader import Cursor
from monitor.state.schema import cursors

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


def ensure_cursor(conn: Connection, now: datetime) -> None:
    """Create the ingest cursor's row if it is missing; another process may create it first."""
    exists = conn.execute(select(cursors.c.name).where(cursors.c.name == EVENTS_CURSOR)).first()
    if exists is None:
        try:
            with conn.begin_nested():
                conn.execute(cursors.insert().values(name=EVENTS_CURSOR, position=0, gaps={}, updated_at=now))
        except IntegrityError:
            pass  # another process created it first
