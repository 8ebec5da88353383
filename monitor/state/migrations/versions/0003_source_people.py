"""The directory of responsible persons (monitor.people): the `people` source table.

Revision ID: 0003_source_people
Revises: 0002_source_demo
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

revision: str = "0003_source_people"
down_revision: str | None = "0002_source_demo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("department", sa.String(length=128), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("officer", sa.String(length=255), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("covers", sa.JSON(), nullable=False),
        sa.Column("mobile", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("dingtalk", sa.String(length=128), nullable=True),
        sa.Column("wecom", sa.String(length=128), nullable=True),
        sa.Column("feishu", sa.String(length=128), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_index("ix_people_department", "people", ["department"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_people_department", table_name="people")
    op.drop_table("people")
