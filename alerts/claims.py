"""The sender's side of the outbox tables: claiming due notices and recording what became of them.

A claim is one conditional update for the whole batch (`pending` → `sending`, `WHERE id IN
(...) AND status IN (pending, sending) AND next_attempt_at <= now`), which also counts the
attempt and sets the lease (`next_attempt_at` becomes the lease's end). A row another sender
took meanwhile no longer matches (its lease lies ahead, or it is sent); which rows did match
is read from the update itself (`RETURNING`) on SQLite and PostgreSQL, and on MariaDB, whose
UPDATE returns nothing, from the rows the candidate read locked (`FOR UPDATE SKIP LOCKED`),
so every row is claimed by exactly one sender. The claim commits before anything is sent.

An outcome (sent, retrying, failed) is recorded in a short transaction: the attempt row, the
notice's new status (`WHERE status = 'sending' AND attempts = ours`: a claim that lapsed while
its message was out is not overwritten) and, for a final outcome, the alert's history entry.
`record` takes several outcomes at once and writes them with one statement each
(executemany) and one history append; the sender calls it per message over SMTP and per
batch for the .eml folder (see `alerts.sender`).
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, insert, select, update
from sqlalchemy.exc import OperationalError

from alerts import history
from alerts.channels.address import masked
from alerts.history import ChainConflictError
from alerts.render import mask_address, mask_addresses
from monitor.config import NotifyConfig
from monitor.errors import DeliveryError
from monitor.state.schema import notice_attempts, notices

log = logging.getLogger("alerts.sender")  # one logger for the sender, whichever module writes
CLAIMABLE = ("pending", "sending")  # a `sending` row is due only once its lease has lapsed
RECORD_TRIES = 3  # a record's transaction may meet a chain conflict or a busy database
LAPSED = "no outcome recorded: the sender stopped before the server's answer was recorded"

# Built once, executed with parameters (and many rows at once): building the statements
# again for each notice was most of what a record cost.
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
_RELEASE = (
    update(notices)
    .where(
        notices.c.id == bindparam("b_id"),
        notices.c.status == "sending",
        notices.c.attempts == bindparam("b_attempt"),
    )
    .values(status="pending", attempts=bindparam("b_before"), next_attempt_at=bindparam("b_now"))
)
_ATTEMPT = insert(notice_attempts)
_CONTENT = (
    update(notices)
    .where(notices.c.id == bindparam("b_id"))
    .values(subject=bindparam("b_subject"), body_text=bindparam("b_text"), body_html=bindparam("b_html"))
)


@dataclass(frozen=True, slots=True)
class Claimed:
    row: Any  # the notice as it was before the claim
    attempt: int  # the attempt this claim is (the row's `attempts` now)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one claimed notice's message: None when the server accepted it."""

    claimed: Claimed
    error: DeliveryError | None


def backoff(attempt: int, cfg: NotifyConfig, rng: random.Random) -> timedelta:
    """Exponential, capped, with full jitter on the upper half to spread a thundering herd."""
    ceiling = min(cfg.retry_max_seconds, cfg.retry_base_seconds * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=ceiling / 2 + rng.uniform(0, ceiling / 2))


def claim(
    engine: Engine,
    cfg: NotifyConfig,
    now: datetime,
    limit: int,
    until: datetime,
    tally: Counter[str],
    *,
    skip_email: bool = False,
) -> list[Claimed]:
    """Take up to `limit` due notices for this sender, committed at once; with `skip_email`,
    only those of the other channels (the mail server is down)."""
    with engine.begin() as conn:
        query = (
            select(notices)
            .where(notices.c.status.in_(CLAIMABLE), notices.c.next_attempt_at <= now)
            # The short channels first: a first start's thousands of mails must not hold back
            # the few SMS and robot messages that reach the responsible persons.
            .order_by(
                case((notices.c.channel == "email", 1), else_=0), notices.c.next_attempt_at, notices.c.id
            )
            .limit(limit)
        )
        if skip_email:
            query = query.where(notices.c.channel != "email")
        locked = engine.dialect.name != "sqlite"
        if locked:
            query = query.with_for_update(skip_locked=True)
        candidates = []
        for row in conn.execute(query).all():
            if row.status == "sending" and row.attempts >= cfg.max_attempts:
                # It stopped its sender that many times: give up rather than loop for ever.
                if _give_up(conn, row, now):
                    tally.update(("lapsed", "failed"))
                continue
            candidates.append(row)
        if not candidates:
            return []
        took = (
            update(notices)
            .where(
                notices.c.id.in_([row.id for row in candidates]),
                notices.c.status.in_(CLAIMABLE),
                notices.c.next_attempt_at <= now,
            )
            .values(status="sending", attempts=notices.c.attempts + 1, next_attempt_at=until)
        )
        if engine.dialect.update_returning:
            attempts = {
                int(i): int(n) for i, n in conn.execute(took.returning(notices.c.id, notices.c.attempts))
            }
        else:
            conn.execute(took)  # the rows are locked by our read: each matched
            attempts = {row.id: row.attempts + 1 for row in candidates}
        out = [Claimed(row, attempts[row.id]) for row in candidates if row.id in attempts]
        lapsed = [c for c in out if c.row.status == "sending"]
        if lapsed:
            conn.execute(_ATTEMPT, [_attempt_row(c.row.id, now, LAPSED, permanent=False) for c in lapsed])
        for c in lapsed:
            tally["lapsed"] += 1
            log.warning(
                "notice %d: the claim of a sender that stopped lapsed; sending it again (attempt %d)",
                c.row.id,
                c.attempt,
                extra={"notice": c.row.id, "attempt": c.attempt},
            )
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
    conn.execute(_ATTEMPT, _attempt_row(row.id, now, error, permanent=True))
    journal = history.Journal()
    _history(conn, journal, row, "failed", now, error)
    journal.flush(conn)
    log_failure(row, row.attempts, error, permanent=True)
    return True


def _status(outcome: Outcome, cfg: NotifyConfig, now: datetime, rng: random.Random) -> tuple[str, datetime]:
    """The notice's new status and next attempt; the tally's word is the same but `retrying`."""
    error, attempt = outcome.error, outcome.claimed.attempt
    if error is None:
        return "sent", now
    if error.permanent or attempt >= cfg.max_attempts:
        return "failed", now
    wait = backoff(attempt, cfg, rng)
    asked = getattr(error, "retry_after", None)  # a server's Retry-After (429) is honoured
    if asked:
        wait = max(wait, timedelta(seconds=float(asked)))
    return "pending", now + wait


def record(
    engine: Engine, cfg: NotifyConfig, outcomes: list[Outcome], now: datetime, rng: random.Random
) -> list[str]:
    """Record outcomes in one transaction; returns each one's tally word (sent, failed,
    retrying). When a claim had lapsed meanwhile, each is recorded on its own instead, so
    that only the lapsed one is left as another sender has it."""
    decided = [(o, *_status(o, cfg, now, rng)) for o in outcomes]
    # A driver that cannot count the rows of an executemany gets one transaction a row.
    together = len(decided) > 1 and engine.dialect.supports_sane_multi_rowcount
    if not together or not _write(engine, decided, now, whole=True):
        for one in decided:
            _write(engine, [one], now, whole=False)
    for o, status, _ in decided:
        if o.error is not None:
            log_failure(o.claimed.row, o.claimed.attempt, str(o.error), permanent=status == "failed")
    return ["retrying" if status == "pending" else status for _, status, _ in decided]


class _LapsedError(Exception):
    """A row of a several-row record no longer had our claim: the transaction is undone."""


def _write(
    engine: Engine, decided: list[tuple[Outcome, str, datetime]], now: datetime, *, whole: bool
) -> bool:
    """One transaction for `decided`. With `whole`, False (and nothing written) when a row
    did not move; otherwise a row that did not move is logged and left as it is."""
    for tries in range(1, RECORD_TRIES + 1):
        try:
            with engine.begin() as conn:
                conn.execute(
                    _ATTEMPT,
                    [
                        _attempt_row(
                            o.claimed.row.id,
                            now,
                            str(o.error) if o.error is not None else None,
                            permanent=bool(o.error and o.error.permanent),
                            ok=o.error is None,
                        )
                        for o, _, _ in decided
                    ],
                )
                params = [
                    {
                        "b_id": o.claimed.row.id,
                        "b_attempt": o.claimed.attempt,
                        "b_status": status,
                        "b_sent_at": now if o.error is None else None,
                        "b_next": next_at,
                        "b_error": str(o.error) if o.error is not None else None,
                    }
                    for o, status, next_at in decided
                ]
                moved = conn.execute(_OUTCOME, params if len(params) > 1 else params[0]).rowcount
                if moved != len(decided):
                    if whole:
                        raise _LapsedError
                    o = decided[0][0]
                    log.warning(
                        "notice %d: its claim (attempt %d) had lapsed when the outcome came; "
                        "not recorded on it",
                        o.claimed.row.id,
                        o.claimed.attempt,
                        extra={"notice": o.claimed.row.id, "attempt": o.claimed.attempt},
                    )
                    return True
                rendered = [
                    o.claimed.row for o, _, _ in decided if getattr(o.claimed.row, "rendered_now", False)
                ]
                if rendered:  # what a notice a pass queued said, kept with it from its first attempt on
                    conn.execute(
                        _CONTENT,
                        [
                            {
                                "b_id": r.id,
                                "b_subject": r.subject,
                                "b_text": r.body_text,
                                "b_html": r.body_html,
                            }
                            for r in rendered
                        ],
                    )
                journal = history.Journal()
                for o, status, _ in decided:
                    if status != "pending":
                        _history(conn, journal, o.claimed.row, status, now, o.error)
                journal.flush(conn)
            return True
        except _LapsedError:
            return False
        except (ChainConflictError, OperationalError) as exc:
            if tries == RECORD_TRIES:
                raise
            log.warning("recording %d outcomes again after %s", len(decided), exc)
    return True  # pragma: no cover - the loop returns or raises


def fail_alone(engine: Engine, c: Claimed, reason: str, now: datetime) -> None:
    """A notice that cannot become a message: failed for good, in its alert's history."""
    row = c.row
    with engine.begin() as conn:
        conn.execute(_ATTEMPT, _attempt_row(row.id, now, reason, permanent=True))
        moved = conn.execute(
            update(notices)
            .where(notices.c.id == row.id, notices.c.status == "sending", notices.c.attempts == c.attempt)
            .values(status="failed", last_error=reason, next_attempt_at=now)
        )
        if moved.rowcount == 1:
            journal = history.Journal()
            _history(conn, journal, row, "failed", now, DeliveryError(reason, permanent=True))
            journal.flush(conn)
    log_failure(row, c.attempt, reason, permanent=True)


def release(engine: Engine, rest: list[Claimed], now: datetime) -> None:
    """Hand back claimed notices that were never tried: due at `now` (the present, or the
    end of their channel's quiet hours), the attempt not counted."""
    if not rest:
        return
    params = [
        {"b_id": c.row.id, "b_attempt": c.attempt, "b_before": c.attempt - 1, "b_now": now} for c in rest
    ]
    with engine.begin() as conn:
        conn.execute(_RELEASE, params if len(params) > 1 else params[0])


def _attempt_row(
    notice_id: int, now: datetime, error: str | None, *, permanent: bool, ok: bool = False
) -> dict[str, Any]:
    return {"notice_id": notice_id, "at": now, "ok": ok, "permanent": permanent, "error": error}


def log_failure(row: Any, attempt: int, reason: str, *, permanent: bool) -> None:
    """One line per failed send: the recipient masked, never the message; the reason too,
    since a server's reply quotes the address."""
    recipient = (
        masked(row.recipient) if getattr(row, "channel", "email") != "email" else mask_address(row.recipient)
    )
    masked_reason = mask_addresses(reason)
    log.warning(
        "notice %d to %s not sent (attempt %d, %s): %s",
        row.id,
        recipient,
        attempt,
        "given up" if permanent else "will retry",
        masked_reason,
        extra={
            "notice": row.id,
            "recipient": recipient,
            "attempt": attempt,
            "permanent": permanent,
            "reason": masked_reason,
        },
    )


def _history(
    conn: Connection,
    journal: history.Journal,
    row: Any,
    status: str,
    now: datetime,
    error: DeliveryError | str | None,
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
    # A mobile number or a user id is personal data, and the history can never forget it:
    # it names them masked (the notice row, which can be erased, holds them whole).
    channel = getattr(row, "channel", "email")
    recipient = row.recipient if channel == "email" else masked(row.recipient)
    detail = {"notice": row.id, "recipient": recipient, "kind": row.kind, "message_id": row.message_id}
    if error is not None:
        detail["error"] = str(error)
    for alert_id in alert_ids:
        journal.add(int(alert_id), f"notice_{status}", now, detail=detail)
