"""Initial source schema.

Revision ID: 0001_source
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

revision: str = "0001_source"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("source",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_events",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actors", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id", "at"], unique=False)
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=128), nullable=False),
        sa.Column("applicant_name", sa.String(length=255), nullable=True),
        sa.Column("applicant_id_number", sa.String(length=64), nullable=True),
        sa.Column("applicant_phone", sa.String(length=64), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_cases_item_code", "cases", ["item_code"], unique=False)
    op.create_index("ix_cases_updated_at", "cases", ["updated_at"], unique=False)
    op.create_table(
        "power_items",
        sa.Column("item_code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("item_type", sa.String(length=32), nullable=False),
        sa.Column("department", sa.String(length=128), nullable=False),
        sa.Column("legal_limit", sa.Integer(), nullable=True),
        sa.Column("promised_limit", sa.Integer(), nullable=True),
        sa.Column("limit_unit", sa.String(length=16), nullable=False),
        sa.Column("fee_standard", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("item_code"),
    )


def downgrade() -> None:
    op.drop_table("power_items")
    op.drop_index("ix_cases_updated_at", table_name="cases")
    op.drop_index("ix_cases_item_code", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_case_events_case_id", table_name="case_events")
    op.drop_table("case_events")
