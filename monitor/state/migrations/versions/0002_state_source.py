"""The source tables' known figures and faults (monitor.source.health).

Revision ID: 0002_state_source
Revises: 0001_state
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

revision: str = "0002_state_source"
down_revision: str | None = "0001_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sunlight_source_tables",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("known_rows", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.Column("fault", sa.Text(), nullable=True),
        sa.Column("fault_since", UTCDateTime(), nullable=True),
        sa.Column("accepted_by", sa.String(length=128), nullable=True),
        sa.Column("accepted_note", sa.Text(), nullable=True),
        sa.Column("accepted_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("sunlight_source_tables")
