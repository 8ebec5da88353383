"""The console's users and their API tokens (monitor.users); the indexes the console's alert
list sorts and filters by (newest first, of one department).

Revision ID: 0005_state_users
Revises: 0004_state_notice_context
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

# Written out, not imported: a migration must not change when schema.py does.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0005_state_users"
down_revision: str | None = "0004_state_notice_context"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sunlight_users",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=128), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("failed_since", UTCDateTime(), nullable=True),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "sunlight_api_tokens",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_user", "sunlight_api_tokens", ["user_id"])
    op.create_index("ix_alerts_raised", "sunlight_alerts", ["raised_at", "id"])
    op.create_index("ix_alerts_department_raised", "sunlight_alerts", ["department", "raised_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_department_raised", table_name="sunlight_alerts")
    op.drop_index("ix_alerts_raised", table_name="sunlight_alerts")
    op.drop_index("ix_api_tokens_user", table_name="sunlight_api_tokens")
    op.drop_table("sunlight_api_tokens")
    op.drop_table("sunlight_users")
