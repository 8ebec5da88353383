"""Draining the outbox: send due notices, record every attempt, back off on failure.

A notice is marked sent only after the server accepted it. A transient failure schedules the
next attempt with exponential backoff and jitter; a permanent one (the server refused this
message or its recipient), or running out of attempts, marks it failed. Every attempt is a
row of `sunlight_notice_attempts`; the final outcome (sent or failed) is also appended to
the hash-chained history of the alert it is about.

Rows are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL and MariaDB and held while the
batch is sent, so two daemons never send the same notice and neither waits for the other.
SQLite has no row locks: the embedded default is one daemon, and a second process draining
the same file at the same moment could send a notice twice (with the same Message-ID).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from alerts import history
from alerts.notify.base import Notifier, build_message
from monitor.config import NotifyConfig
from monitor.errors import DeliveryError
from monitor.state.schema import notice_attempts, notices


@dataclass(frozen=True, slots=True)
class DrainResult:
    sent: int
    failed: int  # given up on
    retrying: int

    @property
    def worked(self) -> bool:
        return self.sent + self.failed + self.retrying > 0


def backoff(attempt: int, cfg: NotifyConfig, rng: random.Random) -> timedelta:
    """Exponential, capped, with full jitter on the upper half to spread a thundering herd."""
    ceiling = min(cfg.retry_max_seconds, cfg.retry_base_seconds * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


def drain(
    engine: Engine,
    notifier: Notifier,
    cfg: NotifyConfig,
    now: datetime,
    *,
    limit: int = 100,
    rng: random.Random | None = None,
) -> DrainResult:
    """Send up to `limit` due notices in one batch (one SMTP connection)."""
    rng = rng or random.Random()
    sent = failed = retrying = 0
    with engine.begin() as conn:
        query = (
            select(notices)
            .where(notices.c.status == "pending", notices.c.next_attempt_at <= now)
            .order_by(notices.c.next_attempt_at, notices.c.id)
            .limit(limit)
        )
        if engine.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        if not rows:
            return DrainResult(0, 0, 0)
        # A row that cannot become a message fails alone, before anything is sent: raising
        # here would roll back and leave it first in the queue, blocking every later notice.
        built: list[tuple[Any, EmailMessage | DeliveryError]] = []
        for row in rows:
            try:
                built.append((row, build_message(row, cfg.smtp.sender)))
            except Exception as exc:  # noqa: BLE001 - any failure is this row's, recorded below
                built.append((row, DeliveryError(f"cannot build the message: {exc}", permanent=True)))
        sendable = [m for _, m in built if isinstance(m, EmailMessage)]
        outcomes = notifier.send_batch(sendable) if sendable else []
        if len(outcomes) != len(sendable):
            raise RuntimeError(f"{notifier.name}: {len(outcomes)} results for {len(sendable)} messages")
        each = iter(outcomes)
        results = [m if isinstance(m, DeliveryError) else next(each) for _, m in built]
        attempt_rows: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        for row, error in zip(rows, results, strict=True):
            attempts = row.attempts + 1
            attempt_rows.append(
                {
                    "notice_id": row.id,
                    "at": now,
                    "ok": error is None,
                    "permanent": bool(error and error.permanent),
                    "error": str(error) if error else None,
                }
            )
            change = {
                "b_id": row.id,
                "b_seen": row.attempts,
                "b_attempts": attempts,
                "b_status": "pending",
                "b_sent_at": None,
                "b_next": row.next_attempt_at,
                "b_error": str(error) if error else None,
            }
            if error is None:
                change.update(b_status="sent", b_sent_at=now)
                sent += 1
            elif error.permanent or attempts >= cfg.max_attempts:
                change.update(b_status="failed")
                failed += 1
            else:
                change.update(b_next=now + backoff(attempts, cfg, rng))
                retrying += 1
            changes.append(change)
            if change["b_status"] != "pending":
                _record(conn, row, change["b_status"], now, error)
        # Two statements for the whole batch (executemany), not two per notice: on a server
        # database each statement is a round trip, made while the claimed rows are locked.
        conn.execute(notice_attempts.insert(), attempt_rows)
        conn.execute(
            update(notices)
            .where(notices.c.id == bindparam("b_id"), notices.c.attempts == bindparam("b_seen"))
            .values(
                attempts=bindparam("b_attempts"),
                status=bindparam("b_status"),
                sent_at=bindparam("b_sent_at"),
                next_attempt_at=bindparam("b_next"),
                last_error=bindparam("b_error"),
            ),
            changes,
        )
    return DrainResult(sent, failed, retrying)


def _record(conn: Connection, row: Any, status: str, now: datetime, error: DeliveryError | None) -> None:
    """Put a notice's final outcome (sent, or given up) in the history of its alert(s)."""
    if row.alert_id is not None:
        alert_ids = [row.alert_id]
    elif row.kind == "digest":
        alert_ids = sorted(
            set(conn.execute(select(notices.c.alert_id).where(notices.c.digest_id == row.id)).scalars())
            - {None}
        )
    else:
        return  # reports and operations notices belong to no alert
    detail = {"notice": row.id, "recipient": row.recipient, "kind": row.kind, "message_id": row.message_id}
    if error is not None:
        detail["error"] = str(error)
    for alert_id in alert_ids:
        history.append(conn, int(alert_id), f"notice_{status}", now, detail=detail)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    pending: int
    failed: int
    sent: int
    oldest_pending: datetime | None


def stats(engine: Engine) -> OutboxStats:
    with engine.connect() as conn:
        rows = conn.execute(select(notices.c.status, func.count()).group_by(notices.c.status)).all()
        counts = {str(status): int(n) for status, n in rows}
        oldest = conn.execute(
            select(func.min(notices.c.created_at)).where(notices.c.status == "pending")
        ).scalar()
    return OutboxStats(counts.get("pending", 0), counts.get("failed", 0), counts.get("sent", 0), oldest)
