"""Draining the outbox: claim due notices, send them, record each outcome as it is known.

A batch of due notices moves `pending` → `sending` by one conditional update that also
counts the attempt and sets a lease: `next_attempt_at` becomes now +
`notify.claim_lease_seconds` (`alerts.claims`). Only the rows that matched are this
sender's, so two senders (two daemons, or a restart racing the old process) never take the
same notice, on any of the three databases. The claim commits before anything is sent; the
messages are built (`alerts.notify.mime`) and sent outside any transaction, over one SMTP
connection, and each message's outcome is recorded in a short transaction of its own the
moment the server answers (the notifier's `on_result`). A sender killed mid-batch has
therefore recorded everything but the message in flight. The rest of its claim is due again
when the lease lapses (counted in `sunlight_notice_claims_lapsed_total`), and the stable
Message-ID lets a receiver drop the one duplicate that a crash between the server's
acceptance and our record can cause. For the .eml folder, where writing a message again
rewrites the same file with the same bytes, the batch's outcomes are recorded together in
one transaction once its files are in place.

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
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from alerts.channels.messages import ChannelMessage
from alerts.claims import CLAIMABLE, LAPSED, Claimed, Outcome, backoff, claim, fail_alone, record, release
from alerts.notify.base import Notifier, build_message
from alerts.notify.mime import Mail
from alerts.outbox import notify_operators
from alerts.outlets import Outlets, outlets_of
from alerts.render import mask_address, mask_addresses, with_content
from alerts.timing import level_of, quiet_until
from monitor.calendar import WorkCalendar
from monitor.config import NotifyConfig
from monitor.errors import ConfigError, DeliveryError
from monitor.state.schema import notices
from monitor.timeutil import DEFAULT_TZ

__all__ = ["CLAIMABLE", "LAPSED", "DrainResult", "OutboxStats", "backoff", "drain", "stats"]

log = logging.getLogger(__name__)
LEASE_SHARE = 0.8  # of the lease a batch may use before it stops and hands the rest back


@dataclass(frozen=True, slots=True)
class DrainResult:
    sent: int
    failed: int  # given up on (set aside ones included)
    retrying: int
    lapsed: int = 0  # claims of a sender that stopped, taken again
    set_aside: int = 0  # notices that could not become a message
    # (channel, outcome, count): sent, failed or retrying per channel, for the metrics
    by_channel: tuple[tuple[str, str, int], ...] = ()

    @property
    def worked(self) -> bool:
        return self.sent + self.failed + self.retrying > 0


BREAKER = 3  # transient failures in a row after which a channel's part of a batch stops


class _ChannelDownError(Exception):
    """A channel's service failed `BREAKER` messages in a row: its rest waits."""


class _LeaseSpentError(Exception):
    """The batch has used most of its lease: the messages not yet tried go back."""


def drain(
    engine: Engine,
    notifier: Notifier | Outlets,
    cfg: NotifyConfig,
    now: datetime,
    *,
    limit: int = 100,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
    tz: ZoneInfo = DEFAULT_TZ,
    calendar: WorkCalendar | None = None,
    skip_email: bool = False,
) -> DrainResult:
    """Claim up to `limit` due notices and send them in one batch: one SMTP connection for
    the e-mails, one client per other channel (`alerts.outlets`). A notice claimed in its
    channel's quiet hours goes back, due when they end (`alerts.timing`). Floods are collapsed
    before (`alerts.flood`, by `alerts.dispatch.deliver`). A channel whose last
    `BREAKER` messages in a row failed transiently (its service is down or timing out) is not
    tried further in this batch: its other notices wait with backoff, as over SMTP when the
    server does not answer, and the other channels go on.

    `clock` measures how much of the lease the batch has used (seconds, any origin);
    `skip_email`: the other channels only, while the mail server is down."""
    rng = rng or random.Random()
    outlets = outlets_of(notifier, cfg.channels)
    lease = cfg.claim_lease_seconds
    tally: Counter[str] = Counter()
    started = clock()  # the lease runs from the claim
    claimed = claim(engine, cfg, now, limit, now + timedelta(seconds=lease), tally, skip_email=skip_email)
    claimed = _out_of_quiet(engine, cfg, claimed, now, tz, calendar)
    batch: list[Claimed] = []
    messages: list[Mail | ChannelMessage] = []
    groups: dict[str, list[int]] = {}
    for c in claimed:
        channel = c.row.channel
        try:
            # Rendered here, after the claim's commit and outside any transaction.
            message: Mail | ChannelMessage
            if channel == "email":
                c = Claimed(with_content(c.row), c.attempt)
                message = build_message(c.row, cfg.smtp.sender)
            else:
                message, row = outlets.message(c.row)
                c = Claimed(row, c.attempt)
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is this notice's alone
            _set_aside(engine, cfg, c, exc, now)
            tally.update(("failed", "set_aside"))
            continue
        groups.setdefault(channel, []).append(len(batch))
        batch.append(c)
        messages.append(message)
    # Over SMTP (and every HTTP channel) each outcome is recorded before the next message
    # goes out, so a kill re-sends at most the message in flight. A notifier for which
    # sending again changes nothing (the .eml folder: the same file, the same bytes) has its
    # outcomes recorded together once its part of the batch is written.
    heard: set[int] = set()
    waiting: list[Outcome] = []
    together = False

    def flush() -> None:
        if waiting:
            for o, word in zip(waiting, record(engine, cfg, waiting, now, rng), strict=True):
                tally[word] += 1
                tally[f"{o.claimed.row.channel}:{word}"] += 1
            waiting.clear()

    def keep(index: int, error: DeliveryError | None) -> None:
        heard.add(index)
        waiting.append(Outcome(batch[index], error))
        if not together:
            flush()

    def on_result(index: int, error: DeliveryError | None) -> None:
        if index in heard:
            return
        keep(index, error)
        if len(heard) < len(batch) and clock() - started > lease * LEASE_SHARE:
            raise _LeaseSpentError

    try:
        for channel, indices in groups.items():
            try:
                out = outlets.notifier(channel)
            except ConfigError as exc:  # not set up: each waits, the other channels go on
                for index in indices:
                    on_result(index, DeliveryError(f"{channel}: {exc}", permanent=False))
                continue
            together = bool(getattr(out, "idempotent", False))
            part = [messages[i] for i in indices]
            failing: list[DeliveryError] = []

            def heard_of(
                j: int,
                error: DeliveryError | None,
                indices: list[int] = indices,
                failing: list[DeliveryError] = failing,
            ) -> None:
                on_result(indices[j], error)
                if error is None or error.permanent:
                    failing.clear()
                    return
                failing.append(error)
                if len(failing) >= BREAKER and j + 1 < len(indices):
                    raise _ChannelDownError

            try:
                outcomes = out.send_batch(part, heard_of)  # type: ignore[arg-type]
            except _ChannelDownError:
                why = f"{channel}: not tried: the {BREAKER} before it failed in a row ({failing[-1]})"
                for index in indices:
                    if index not in heard:
                        keep(index, DeliveryError(why, permanent=False))
                flush()
                together = False
                continue
            if len(outcomes) != len(part):
                raise RuntimeError(f"{out.name}: {len(outcomes)} results for {len(part)} messages")
            for j, error in enumerate(outcomes):  # a notifier that did not call on_result
                if indices[j] not in heard:
                    keep(indices[j], error)
            flush()
            together = False
    except _LeaseSpentError:
        flush()
        rest = [c for i, c in enumerate(batch) if i not in heard]
        release(engine, rest, now)
        log.warning(
            "stopped a batch after %d of %d notices: %.0f%% of the %.0f s claim lease is spent; "
            "the other %d are due again now",
            len(heard),
            len(batch),
            LEASE_SHARE * 100,
            lease,
            len(rest),
        )
        return _result(tally)
    finally:
        if outlets is not notifier:
            outlets.close()
    flush()
    return _result(tally)


def _out_of_quiet(
    engine: Engine,
    cfg: NotifyConfig,
    claimed: list[Claimed],
    now: datetime,
    tz: ZoneInfo,
    calendar: WorkCalendar | None,
) -> list[Claimed]:
    """The claimed notices whose channel may speak now; the others are handed back, due
    when their channel's quiet hours end (the attempt not counted)."""
    kept: list[Claimed] = []
    later: dict[datetime, list[Claimed]] = {}
    for c in claimed:
        if c.row.channel not in cfg.quiet_hours:
            kept.append(c)  # no quiet hours: the level (read from the context) is not needed
            continue
        until = quiet_until(cfg, c.row.channel, level_of(c.row), now, tz, calendar)
        if until is None:
            kept.append(c)
        else:
            later.setdefault(until, []).append(c)
    for until, rest in later.items():
        release(engine, rest, until)
    return kept


def _result(tally: Counter[str]) -> DrainResult:
    by_channel = tuple(
        sorted((key.split(":", 1)[0], key.split(":", 1)[1], n) for key, n in tally.items() if ":" in key)
    )
    return DrainResult(
        tally["sent"], tally["failed"], tally["retrying"], tally["lapsed"], tally["set_aside"], by_channel
    )


def _set_aside(engine: Engine, cfg: NotifyConfig, c: Claimed, exc: Exception, now: datetime) -> None:
    """A notice that cannot become a message fails alone, and the operators hear of it."""
    row = c.row
    fail_alone(engine, c, f"set aside: cannot build the message: {type(exc).__name__}: {exc}", now)
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
