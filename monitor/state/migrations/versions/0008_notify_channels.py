"""Notices go out over channels besides e-mail (`channel`: email, sms, dingtalk, wecom,
feishu, webhook; every notice before is e-mail), and the escalation ladder's scheduled steps
(`sunlight_ladder_steps`): one row per alert, level and rung, fired or stopped once.

Revision ID: 0008_notify_channels
Revises: 0007_state_breach
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

revision: str = "0008_notify_channels"
down_revision: str | None = "0007_state_breach"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "sunlight_notices",
        sa.Column("channel", sa.String(16), nullable=False, server_default="email"),
    )
    op.create_table(
        "sunlight_ladder_steps",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("rung", sa.String(64), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.UniqueConstraint("alert_id", "level", "rung", name="uq_ladder_steps_alert_rung"),
    )
    op.create_index("ix_ladder_steps_state_due", "sunlight_ladder_steps", ["state", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_ladder_steps_state_due", "sunlight_ladder_steps")
    op.drop_table("sunlight_ladder_steps")
    with op.batch_alter_table("sunlight_notices") as batch:
        batch.drop_column("channel")
