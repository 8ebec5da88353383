"""The 督办 (工作督办函) table: one row per 督办 the office issues on an alert, its reply
deadline, yearly document number, the department's reply and the office's ruling.

Revision ID: 0006_state_supervision
Revises: 0005_state_users
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

revision: str = "0006_state_supervision"
down_revision: str | None = "0005_state_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sunlight_supervisions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("open_alert_id", sa.BigInteger(), unique=True),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("department", sa.String(128), nullable=False),
        sa.Column("doc_year", sa.Integer(), nullable=False),
        sa.Column("doc_seq", sa.Integer(), nullable=False),
        sa.Column("demand", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("issued_by", sa.String(128), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("reply_within_days", sa.Integer(), nullable=False),
        sa.Column("reply_due", UTCDateTime(), nullable=False),
        sa.Column("reply_due_provisional", sa.Boolean(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("round_started_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reply_kind", sa.String(16)),
        sa.Column("reply_text", sa.Text()),
        sa.Column("replied_by", sa.String(128)),
        sa.Column("replied_at", UTCDateTime()),
        sa.Column("decision", sa.String(16)),
        sa.Column("ruling_note", sa.Text()),
        sa.Column("ruled_by", sa.String(128)),
        sa.Column("ruled_at", UTCDateTime()),
        sa.Column("person", sa.String(128)),
        sa.Column("measure", sa.String(32)),
        sa.Column("overdue_alert_id", sa.BigInteger()),
        sa.Column("overdue_round", sa.Integer()),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("doc_year", "doc_seq", name="uq_supervisions_number"),
    )
    op.create_index("ix_supervisions_alert", "sunlight_supervisions", ["alert_id"])
    op.create_index("ix_supervisions_state_due", "sunlight_supervisions", ["state", "reply_due"])


def downgrade() -> None:
    op.drop_index("ix_supervisions_state_due", "sunlight_supervisions")
    op.drop_index("ix_supervisions_alert", "sunlight_supervisions")
    op.drop_table("sunlight_supervisions")
