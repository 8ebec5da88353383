"""The outbox's tables: the notices (one per recipient and channel), every attempt to send
one, and the escalation ladder's scheduled steps. Part of the state metadata
(`monitor.state.schema`, which re-exports them), kept apart so each module reads in one
sitting.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Table, Text, UniqueConstraint

from monitor.state.types import BigId, state_metadata, ts

notices = Table(
    "sunlight_notices",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger),
    Column("kind", String(16), nullable=False),  # raised, escalated, reopened, reminder, above, digest
    Column("route", String(64), nullable=False),
    Column("recipient", String(255), nullable=False),
    # How the notice goes out: email, sms, dingtalk, wecom, feishu or webhook (the scheme of
    # `recipient`, alerts.channels.address); each channel has its own sender and retries.
    Column("channel", String(16), nullable=False, default="email", server_default="email"),
    Column("subject", String(512), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("body_html", Text, nullable=False),
    # What a notice queued by a pass is to say (its template context, JSON): the sender
    # renders it outside the pass's transaction and writes the subject and bodies (empty
    # until then). NULL for notices rendered when queued (digests, reminders, reports).
    Column("context", Text),
    Column("message_id", String(255), nullable=False, unique=True),
    # pending (to send), sending (claimed by a sender until `next_attempt_at`, its lease),
    # held (for a digest), digested (sent inside digest `digest_id`), silenced (recorded,
    # never mailed), sent, failed
    Column("status", String(16), nullable=False),
    Column("digest_id", BigInteger),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", ts(), nullable=False),
    Column("next_attempt_at", ts(), nullable=False),
    Column("sent_at", ts()),
    Column("last_error", Text),
    Index("ix_notices_status_next", "status", "next_attempt_at"),
)

# The escalation ladder (notify.ladder, alerts.ladder): each rung that applies to an alert at
# its level is a scheduled step, due `after_working_days` working days after the alert
# reached that level; it fires (its notices queued, its history entry written) or is
# stopped (the alert acknowledged or resolved first), once.
ladder_steps = Table(
    "sunlight_ladder_steps",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("level", String(8), nullable=False),
    Column("rung", String(64), nullable=False),
    Column("due_at", ts(), nullable=False),
    Column("state", String(16), nullable=False),  # scheduled, fired, stopped
    Column("done_at", ts()),
    Column("recipients", Integer, nullable=False, default=0),  # notices queued when it fired
    UniqueConstraint("alert_id", "level", "rung", name="uq_ladder_steps_alert_rung"),
    Index("ix_ladder_steps_state_due", "state", "due_at"),
)

notice_attempts = Table(
    "sunlight_notice_attempts",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("notice_id", BigInteger, nullable=False),
    Column("at", ts(), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("permanent", Boolean, nullable=False, default=False),
    Column("error", Text),
    Index("ix_notice_attempts_notice", "notice_id"),
)
