"""Table definitions: the canonical source schema and the tables the daemon owns.

Two metadata objects, because they may live in two databases: the source tables (what
`sunlight import` fills, or views a platform exposes with the same columns) and the state
tables (alerts, their hash-chained history, the notice outbox, per-case evaluation state and
the ingest cursor), which only Sunlight writes. Both are created and upgraded by Alembic
(`monitor/state/migrations`, branches `source` and `state`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# The outbox's tables and the shared types, re-exported: callers import every table from here.
from monitor.state.outbox_tables import ladder_steps as ladder_steps
from monitor.state.outbox_tables import notice_attempts as notice_attempts
from monitor.state.outbox_tables import notices as notices
from monitor.state.types import BigId as BigId
from monitor.state.types import UTCDateTime as UTCDateTime
from monitor.state.types import aware as aware
from monitor.state.types import source_metadata as source_metadata
from monitor.state.types import state_metadata as state_metadata
from monitor.state.types import stored as stored
from monitor.state.types import ts as _ts

power_items = Table(
    "power_items",
    source_metadata,
    Column("item_code", String(64), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("item_type", String(32), nullable=False),
    Column("department", String(128), nullable=False),
    Column("legal_limit", Integer),
    Column("promised_limit", Integer),
    Column("limit_unit", String(16), nullable=False),
    Column("fee_standard", Numeric(14, 2), nullable=False, default=0),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("updated_at", _ts(), nullable=False),
)

cases = Table(
    "cases",
    source_metadata,
    Column("case_id", String(64), primary_key=True),
    Column("item_code", String(64), nullable=False),
    Column("department", String(128), nullable=False),
    Column("applicant_name", String(255)),
    Column("applicant_id_number", String(64)),
    Column("applicant_phone", String(64)),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("updated_at", _ts(), nullable=False),
    Index("ix_cases_updated_at", "updated_at"),
    Index("ix_cases_item_code", "item_code"),
)

case_events = Table(
    "case_events",
    source_metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("event_id", String(128), nullable=False, unique=True),
    Column("case_id", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("at", _ts(), nullable=False),
    Column("actors", JSON, nullable=False, default=list),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("ingested_at", _ts(), nullable=False),
    Index("ix_case_events_case_id", "case_id", "at"),
)

# The directory of responsible persons (monitor.people): source data like the catalogue,
# imported (`person` records) or a view over a platform's staff table. `roles`, `items` and
# `covers` are JSON lists of strings; contacts are NULL when the person has none.
people = Table(
    "people",
    source_metadata,
    Column("person_id", String(64), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("department", String(128), nullable=False),
    Column("roles", JSON, nullable=False, default=list),  # handler, department_head, leader, liaison
    Column("officer", String(255), nullable=False),  # as case steps' actors name the person
    Column("items", JSON, nullable=False, default=list),  # item codes a handler is posted to
    Column("covers", JSON, nullable=False, default=list),  # departments a leader oversees
    Column("mobile", String(16)),  # E.164: +86 and 11 digits
    Column("email", String(254)),
    Column("dingtalk", String(128)),
    Column("wecom", String(128)),
    Column("feishu", String(128)),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_at", _ts(), nullable=False),
    Index("ix_people_department", "department"),
)

# What `sunlight demo` loaded, so that `--reset` replaces only a database the demo filled
# (monitor/demoload.py): one row, absent from a platform's source.
demo_marks = Table(
    "sunlight_demo",
    source_metadata,
    Column("id", Integer, primary_key=True),
    Column("as_of", _ts(), nullable=False),
    Column("seed", Integer, nullable=False),
    Column("cases", Integer, nullable=False),  # as asked for (--cases)
    Column("item_rows", BigInteger, nullable=False),  # as loaded
    Column("case_rows", BigInteger, nullable=False),
    Column("event_rows", BigInteger, nullable=False),
)


case_state = Table(
    "sunlight_case_state",
    state_metadata,
    Column("case_id", String(64), primary_key=True),
    Column("item_code", String(64), nullable=False),
    Column("department", String(128), nullable=False),
    Column("item_type", String(32), nullable=False),
    Column("open", Boolean, nullable=False),
    Column("next_check_at", _ts()),
    Column("evaluated_at", _ts()),  # NULL: queued, never evaluated
    Column("ruleset_digest", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("closed_at", _ts()),
    Column("outcome", String(16)),  # on_time, early, overdue once closed
    Column("limit_share", Float),  # share of the time limit used, once closed
    Column("disclosure", String(16)),  # on_time, late once closed and its disclosure clock decided
    # The stretch of days the case's counting looked at (its first step to its furthest
    # deadline or next change; `clock_until` NULL: a paused clock with no end yet), so that a
    # calendar change queues only the cases whose days it touches.
    Column("clock_from", _ts()),
    Column("clock_until", _ts()),
    Index("ix_case_state_next_check", "next_check_at"),
    Index("ix_case_state_item", "item_code"),
)

cursors = Table(
    "sunlight_cursors",
    state_metadata,
    Column("name", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
    Column("watermark", _ts()),  # for time-ordered sources (cases.updated_at)
    Column("gaps", JSON, nullable=False, default=dict),
    Column("updated_at", _ts(), nullable=False),
)

# What the daemon last saw in each source table while the source was whole, and whether the
# source is at fault now (monitor.source.health): kept in the state database so that a
# restart during an outage does not take the empty tables for the new normal.
source_tables = Table(
    "sunlight_source_tables",
    state_metadata,
    Column("name", String(32), primary_key=True),
    Column("known_rows", BigInteger, nullable=False),
    Column("seen_at", _ts(), nullable=False),
    Column("fault", Text),  # NULL: the table is consistent
    Column("fault_since", _ts()),
    Column("accepted_by", String(128)),  # who last confirmed the table's figures (`sunlight source accept`)
    Column("accepted_note", Text),
    Column("accepted_at", _ts()),
    Column("updated_at", _ts(), nullable=False),
)

alerts = Table(
    "sunlight_alerts",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_id", String(64), nullable=False),
    Column("rule_id", String(128), nullable=False),
    Column("item_code", String(64), nullable=False),
    Column("department", String(128), nullable=False),
    Column("category", String(16), nullable=False),
    Column("level", String(8), nullable=False),
    Column("state", String(16), nullable=False),  # open, acknowledged, resolved
    Column("title", String(255), nullable=False),
    Column("message", Text, nullable=False),
    Column("basis", Text, nullable=False, default=""),
    Column("due", _ts()),
    # When the breach (red) or warning (yellow) at the alert's level began, as the record
    # shows it; NULL where it holds no such instant (raised_at stands in). The monthly
    # assessment counts the card in that month.
    Column("breached_at", _ts()),
    Column("raised_at", _ts(), nullable=False),
    Column("escalated_at", _ts()),
    Column("resolved_at", _ts()),
    Column("closed_by", String(128)),  # set when a person closed it: never reopened by the system
    Column("next_reminder_at", _ts()),  # while red and unacknowledged: the next reminder
    Column("updated_at", _ts(), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    UniqueConstraint("case_id", "rule_id", name="uq_alerts_case_rule"),
    Index("ix_alerts_state_level", "state", "level"),
    Index("ix_alerts_next_reminder", "next_reminder_at"),
    Index("ix_alerts_breached", "breached_at"),
    # The console's alert list (monitor.console): newest first, all or of one department.
    Index("ix_alerts_raised", "raised_at", "id"),
    Index("ix_alerts_department_raised", "department", "raised_at", "id"),
)

alert_history = Table(
    "sunlight_alert_history",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("chain_seq", BigInteger, nullable=False, unique=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("at", _ts(), nullable=False),
    Column("action", String(32), nullable=False),
    Column("level", String(8)),
    Column("actor", String(128), nullable=False),
    Column("detail", JSON, nullable=False, default=dict),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),  # HMAC-SHA256 under key `key_id`; SHA-256 when NULL
    Column("key_id", String(16)),  # NULL: written before the keyed chain (revision 0003)
    Index("ix_alert_history_alert", "alert_id"),
)

chain_head = Table(
    "sunlight_chain_head",
    state_metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key_id", String(16)),  # the key of the newest row (NULL before the keyed chain)
)

silences = Table(
    "sunlight_silences",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),  # case, rule, department
    Column("value", String(128), nullable=False),
    Column("starts_at", _ts(), nullable=False),
    Column("ends_at", _ts(), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(128), nullable=False),
    Index("ix_silences_ends", "ends_at"),
)

# The console's people (monitor.users). Failed logins and the lock are kept here, not in a
# process, because several web processes share one database.
users = Table(
    "sunlight_users",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # office, department, operator
    Column("department", String(128)),  # the department role's department only
    Column("password_hash", String(255), nullable=False),  # argon2id, PHC string
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),  # within the window below
    Column("failed_since", _ts()),  # the first failure of the current window
    Column("locked_until", _ts()),
    Column("created_at", _ts(), nullable=False),
)

# Personal API tokens: only the SHA-256 of the random token is stored; it is shown once.
api_tokens = Table(
    "sunlight_api_tokens",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("user_id", BigInteger, nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", _ts(), nullable=False),
    Index("ix_api_tokens_user", "user_id"),
)

# One row per 督办 (工作督办函) the office issued on an alert (alerts/supervision). The row
# holds the current round: a rejected reply reopens the 督办 (state back to `issued`, `round`
# + 1, a new `reply_due`, the reply columns cleared); every earlier reply and ruling stays in
# the alert's history rows. `open_alert_id` is the alert's id while the 督办 is open and NULL
# once it is ruled on for good: its unique key allows one open 督办 per alert whatever the
# number of writers (NULLs never collide).
supervisions = Table(
    "sunlight_supervisions",
    state_metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("alert_id", BigInteger, nullable=False),
    Column("open_alert_id", BigInteger, unique=True),
    Column("case_id", String(64), nullable=False),
    Column("department", String(128), nullable=False),
    Column("doc_year", Integer, nullable=False),  # 〔doc_year〕doc_seq号, a yearly sequence
    Column("doc_seq", Integer, nullable=False),
    Column("demand", String(16), nullable=False),  # rectify (整改), explain (书面说明)
    Column("note", Text, nullable=False, default=""),
    Column("issued_by", String(128), nullable=False),
    Column("issued_at", _ts(), nullable=False),
    Column("reply_within_days", Integer, nullable=False),
    Column("reply_due", _ts(), nullable=False),  # 24:00 of the Nth working day after the round began
    Column("reply_due_provisional", Boolean, nullable=False, default=False),
    Column("round", Integer, nullable=False, default=1),
    Column("round_started_at", _ts(), nullable=False),
    Column("state", String(16), nullable=False),  # issued, replied, ruled
    Column("reply_kind", String(16)),  # rectified, explained, appeal
    Column("reply_text", Text),
    Column("replied_by", String(128)),
    Column("replied_at", _ts()),
    Column("decision", String(16)),  # accepted, rejected, accountability, revoked
    Column("ruling_note", Text),
    Column("ruled_by", String(128)),
    Column("ruled_at", _ts()),
    Column("person", String(128)),  # 责任追究: who is held to account
    Column("measure", String(32)),  # and how (约谈, 通报批评…)
    # The `supervision` alert raised when a round's deadline passed unanswered, and the round
    # it was raised for (so each round raises or reopens it once).
    Column("overdue_alert_id", BigInteger),
    Column("overdue_round", Integer),
    Column("updated_at", _ts(), nullable=False),
    Column("version", Integer, nullable=False, default=1),
    UniqueConstraint("doc_year", "doc_seq", name="uq_supervisions_number"),
    Index("ix_supervisions_alert", "alert_id"),
    Index("ix_supervisions_state_due", "state", "reply_due"),
)
