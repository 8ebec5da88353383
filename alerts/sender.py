"""Draining the outbox: claim due notices, send them, record each outcome as it is known.

A notice moves `pending` → `sending` by a conditional update (`WHERE status = seen AND
attempts = seen`) that also counts the attempt and sets a lease: `next_attempt_at` becomes
now + `notify.claim_lease_seconds`. Only the updates that matched are this sender's, so two
senders (two daemons, or a restart racing the old process) never take the same notice, on
any of the three databases. The claim commits before anything is sent; the messages are
built and sent outside any transaction, and each message's outcome is recorded in a short
transaction of its own the moment the server answers (the notifier's `on_result`). A sender
killed mid-batch has therefore recorded everything but the message in flight. The rest of
its claim is due again when the lease lapses (counted in `sunlight_notice_claims_lapsed_total`),
and the stable Message-ID lets a receiver drop the one duplicate that a crash between the
server's acceptance and our record can cause.

A transient failure schedules the next attempt with exponential backoff and jitter; a
permanent one (the server refused this message or its recipient), or running out of
attempts, marks it failed. A notice that cannot even become a message is set aside alone:
failed with the reason, and the operators told (`alerts.outbox.notify_operators`). Every
attempt is a row of `sunlight_notice_attempts`; the final outcome (sent or failed) is also
appended to the hash-chained history of the alert it is about. Failed sends are logged with
the recipient masked and never the message.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, insert, select, update
from sqlalchemy.exc import OperationalError

from alerts import history
from alerts.history import ChainConflictError
from alerts.notify.base import Notifier, build_message
from alerts.outbox import notify_operators
from alerts.render import mask_address, mask_addresses, with_content
from monitor.config import NotifyConfig
from monitor.errors import DeliveryError
from monitor.state.schema import notice_attempts, notices

log = logging.getLogger(__name__)
CLAIMABLE = ("pending", "sending")  # a `sending` row is due only once its lease has lapsed
LEASE_SHARE = 0.8  # of the lease a batch may use before it stops and hands the rest back
RECORD_TRIES = 3  # a record's transaction may meet a chain conflict or a busy database
LAPSED = "no outcome recorded: the sender stopped before the server's answer was recorded"

# Built once, executed with parameters: a claim and a record per message is what a batch
# costs in the database, and building the statements again for each was most of that.
_CLAIM = (
    update(notices)
    .where(
        notices.c.id == bindparam("b_id"),
        notices.c.status == bindparam("b_seen_status"),
        notices.c.attempts == bindparam("b_seen"),
    )
    .values(status="sending", attempts=bindparam("b_attempt"), next_attempt_at=bindparam("b_until"))
)
_OUTCOME = (
    update(notices)
    .where(
        notices.c.id == bindparam("b_id"),
        notices.c.status == "sending",
        notices.c.attempts == bindparam("b_attempt"),
    )
    .values(
        status=bindparam("b_status"),
        sent_at=bindparam("b_sent_at"),
        next_attempt_at=bindparam("b_next"),
        last_error=bindparam("b_error"),
    )
)
_ATTEMPT = insert(notice_attempts)


@dataclass(frozen=True, slots=True)
class DrainResult:
    sent: int
    failed: int  # given up on (set aside ones included)
    retrying: int
    lapsed: int = 0  # claims of a sender that stopped, taken again
    set_aside: int = 0  # notices that could not become a message

    @property
    def worked(self) -> bool:
        return self.sent + self.failed + self.retrying > 0


@dataclass(frozen=True, slots=True)
class Claimed:
    row: Any  # the notice as it was before the claim
    attempt: int  # the attempt this claim is (the row's `attempts` now)


class _LeaseSpentError(Exception):
    """The batch has used most of its lease: the messages not yet tried go back."""


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
    clock: Callable[[], float] = time.monotonic,
) -> DrainResult:
    """Claim up to `limit` due notices and send them in one batch (one SMTP connection).

    `clock` measures how much of the lease the batch has used (seconds, any origin)."""
    rng = rng or random.Random()
    lease = cfg.claim_lease_seconds
    tally: Counter[str] = Counter()
    started = clock()  # the lease runs from the claim
    claimed = _claim(engine, cfg, now, limit, now + timedelta(seconds=lease), tally)
    batch: list[Claimed] = []
    messages: list[EmailMessage] = []
    for c in claimed:
        try:
            # Rendered here, after the claim's commit and outside any transaction.
            c = Claimed(with_content(c.row), c.attempt)
            messages.append(build_message(c.row, cfg.smtp.sender))
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is this notice's alone
            _set_aside(engine, cfg, c, exc, now)
            tally.update(("failed", "set_aside"))
            continue
        batch.append(c)
    recorded: set[int] = set()

    def on_result(index: int, error: DeliveryError | None) -> None:
        if index in recorded:
            return
        recorded.add(index)
        tally[_record(engine, cfg, batch[index], error, now, rng)] += 1
        if index + 1 < len(batch) and clock() - started > lease * LEASE_SHARE:
            raise _LeaseSpentError

    try:
        outcomes = notifier.send_batch(messages, on_result) if messages else []
    except _LeaseSpentError:
        rest = [c for i, c in enumerate(batch) if i not in recorded]
        _release(engine, rest, now)
        log.warning(
            "stopped a batch after %d of %d notices: %.0f%% of the %.0f s claim lease is spent; "
            "the other %d are due again now",
            len(recorded),
            len(batch),
            LEASE_SHARE * 100,
            lease,
            len(rest),
        )
        return _result(tally)
    if len(outcomes) != len(messages):
        raise RuntimeError(f"{notifier.name}: {len(outcomes)} results for {len(messages)} messages")
    for index, error in enumerate(outcomes):  # a notifier that did not call on_result
        if index not in recorded:
            recorded.add(index)
            tally[_record(engine, cfg, batch[index], error, now, rng)] += 1
    return _result(tally)


def _result(tally: Counter[str]) -> DrainResult:
    return DrainResult(tally["sent"], tally["failed"], tally["retrying"], tally["lapsed"], tally["set_aside"])


def _claim(
    engine: Engine, cfg: NotifyConfig, now: datetime, limit: int, until: datetime, tally: Counter[str]
) -> list[Claimed]:
    """Take due notices for this sender: one conditional update each, committed at once.

    On PostgreSQL and MariaDB the candidates are read `FOR UPDATE SKIP LOCKED`, so a second
    sender claiming at the same moment reads other rows instead of waiting; on SQLite the
    condition alone decides (the loser's update matches nothing)."""
    out: list[Claimed] = []
    with engine.begin() as conn:
        query = (
            select(notices)
            .where(notices.c.status.in_(CLAIMABLE), notices.c.next_attempt_at <= now)
            .order_by(notices.c.next_attempt_at, notices.c.id)
            .limit(limit)
        )
        if engine.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        for row in conn.execute(query).all():
            lapsed = row.status == "sending"
            if lapsed and row.attempts >= cfg.max_attempts:
                # It stopped its sender that many times: give up rather than loop for ever.
                if _give_up(conn, row, now):
                    tally.update(("lapsed", "failed"))
                continue
            took = conn.execute(
                _CLAIM,
                {
                    "b_id": row.id,
                    "b_seen_status": row.status,
                    "b_seen": row.attempts,
                    "b_attempt": row.attempts + 1,
                    "b_until": until,
                },
            )
            if took.rowcount != 1:
                continue  # another sender claimed it between our read and our update
            if lapsed:
                _attempt(conn, row.id, now, LAPSED, permanent=False)
                tally["lapsed"] += 1
                log.warning(
                    "notice %d: the claim of a sender that stopped lapsed; sending it again (attempt %d)",
                    row.id,
                    row.attempts + 1,
                    extra={"notice": row.id, "attempt": row.attempts + 1},
                )
            out.append(Claimed(row, row.attempts + 1))
    return out


def _give_up(conn: Connection, row: Any, now: datetime) -> bool:
    error = f"{LAPSED}, {row.attempts} times; given up"
    moved = conn.execute(
        update(notices)
        .where(notices.c.id == row.id, notices.c.status == "sending", notices.c.attempts == row.attempts)
        .values(status="failed", last_error=error, next_attempt_at=now)
    )
    if moved.rowcount != 1:
        return False
    _attempt(conn, row.id, now, error, permanent=True)
    _history(conn, row, "failed", now, error)
    _log_failure(row, row.attempts, error, permanent=True)
    return True


def _record(
    engine: Engine,
    cfg: NotifyConfig,
    c: Claimed,
    error: DeliveryError | None,
    now: datetime,
    rng: random.Random,
) -> str:
    """Record one message's outcome in a transaction of its own: sent, failed or retrying."""
    row, attempt = c.row, c.attempt
    if error is None:
        status, outcome, next_at = "sent", "sent", now
    elif error.permanent or attempt >= cfg.max_attempts:
        status, outcome, next_at = "failed", "failed", now
    else:
        status, outcome, next_at = "pending", "retrying", now + backoff(attempt, cfg, rng)
    reason = str(error) if error is not None else None
    moved: Any = None
    for tries in range(1, RECORD_TRIES + 1):
        try:
            with engine.begin() as conn:
                conn.execute(
                    _ATTEMPT,
                    {
                        "notice_id": row.id,
                        "at": now,
                        "ok": error is None,
                        "permanent": bool(error and error.permanent),
                        "error": reason,
                    },
                )
                moved = conn.execute(
                    _OUTCOME,
                    {
                        "b_id": row.id,
                        "b_attempt": attempt,
                        "b_status": status,
                        "b_sent_at": now if error is None else None,
                        "b_next": next_at,
                        "b_error": reason,
                    },
                )
                if moved.rowcount == 1 and getattr(row, "rendered_now", False):
                    # What the notice said, kept with it from its first attempt on.
                    conn.execute(
                        update(notices)
                        .where(notices.c.id == row.id)
                        .values(subject=row.subject, body_text=row.body_text, body_html=row.body_html)
                    )
                if moved.rowcount == 1 and status != "pending":
                    _history(conn, row, status, now, error)
            break
        except (ChainConflictError, OperationalError) as exc:
            if tries == RECORD_TRIES:
                raise
            log.warning("notice %d: recording its outcome again after %s", row.id, exc)
    if moved is None or moved.rowcount != 1:
        # Our lease lapsed while we sent (a stalled server): another sender has it now.
        log.warning(
            "notice %d: its claim (attempt %d) had lapsed when the outcome came; not recorded on it",
            row.id,
            attempt,
            extra={"notice": row.id, "attempt": attempt},
        )
    if error is not None:
        _log_failure(row, attempt, reason or "", permanent=status == "failed")
    return outcome


def _set_aside(engine: Engine, cfg: NotifyConfig, c: Claimed, exc: Exception, now: datetime) -> None:
    """A notice that cannot become a message fails alone, and the operators hear of it."""
    row = c.row
    reason = f"set aside: cannot build the message: {type(exc).__name__}: {exc}"
    with engine.begin() as conn:
        _attempt(conn, row.id, now, reason, permanent=True)
        moved = conn.execute(
            update(notices)
            .where(notices.c.id == row.id, notices.c.status == "sending", notices.c.attempts == c.attempt)
            .values(status="failed", last_error=reason, next_attempt_at=now)
        )
        if moved.rowcount == 1:
            _history(conn, row, "failed", now, DeliveryError(reason, permanent=True))
    _log_failure(row, c.attempt, reason, permanent=True)
    if row.kind == "operations":
        return  # a notice about a notice that cannot be built could fail the same way, for ever
    notify_operators(
        engine,
        cfg,
        "一条通知无法生成，已单独搁置",
        [
            f"通知编号：{row.id}（{row.kind}，路由 {row.route}）",
            f"收件人：{mask_address(row.recipient)}",
            f"原因：{mask_addresses(str(exc))}",
            "该通知已标记为失败（failed），其余通知照常发送。",
            "请修正来源数据后，按需人工补发。",
        ],
        now,
    )


def _release(engine: Engine, rest: list[Claimed], now: datetime) -> None:
    """Hand back claimed notices that were never tried: due now, the attempt not counted."""
    with engine.begin() as conn:
        for c in rest:
            conn.execute(
                update(notices)
                .where(
                    notices.c.id == c.row.id, notices.c.status == "sending", notices.c.attempts == c.attempt
                )
                .values(status="pending", attempts=c.attempt - 1, next_attempt_at=now)
            )


def _attempt(conn: Connection, notice_id: int, now: datetime, error: str, *, permanent: bool) -> None:
    conn.execute(
        _ATTEMPT, {"notice_id": notice_id, "at": now, "ok": False, "permanent": permanent, "error": error}
    )


def _log_failure(row: Any, attempt: int, reason: str, *, permanent: bool) -> None:
    """One line per failed send: the recipient masked, never the message; the reason too,
    since a server's reply quotes the address."""
    recipient = mask_address(row.recipient)
    masked = mask_addresses(reason)
    log.warning(
        "notice %d to %s not sent (attempt %d, %s): %s",
        row.id,
        recipient,
        attempt,
        "given up" if permanent else "will retry",
        masked,
        extra={
            "notice": row.id,
            "recipient": recipient,
            "attempt": attempt,
            "permanent": permanent,
            "reason": masked,
        },
    )


def _history(
    conn: Connection, row: Any, status: str, now: datetime, error: DeliveryError | str | None
) -> None:
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
    oldest_pending: datetime | None  # of the notices not yet delivered (pending or sending)
    sending: int = 0  # claimed by a sender right now (or by one that stopped)


def stats(engine: Engine) -> OutboxStats:
    with engine.connect() as conn:
        rows = conn.execute(select(notices.c.status, func.count()).group_by(notices.c.status)).all()
        counts = {str(status): int(n) for status, n in rows}
        oldest = conn.execute(
            select(func.min(notices.c.created_at)).where(notices.c.status.in_(CLAIMABLE))
        ).scalar()
    return OutboxStats(
        counts.get("pending", 0),
        counts.get("failed", 0),
        counts.get("sent", 0),
        oldest,
        counts.get("sending", 0),
    )
