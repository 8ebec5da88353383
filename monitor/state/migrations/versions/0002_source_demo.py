"""What `sunlight demo` loaded (monitor/demoload.py).

Revision ID: 0002_source_demo
Revises: 0001_source
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

revision: str = "0002_source_demo"
down_revision: str | None = "0001_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sunlight_demo",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("as_of", UTCDateTime(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("item_rows", sa.BigInteger(), nullable=False),
        sa.Column("case_rows", sa.BigInteger(), nullable=False),
        sa.Column("event_rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("sunlight_demo")
