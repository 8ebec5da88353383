"""The keyed history chain: each history row and the head record the id of the key whose
HMAC they carry (alerts.audit.keys). Rows written before stay unkeyed (key_id NULL) and are
checked as they were written, by SHA-256; the first keyed row's HMAC covers their hashes.

Revision ID: 0003_state_audit
Revises: 0002_state_source
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_state_audit"
down_revision: str | None = "0002_state_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sunlight_alert_history", sa.Column("key_id", sa.String(length=16), nullable=True))
    op.add_column("sunlight_chain_head", sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sunlight_chain_head") as batch:
        batch.drop_column("key_id")
    with op.batch_alter_table("sunlight_alert_history") as batch:
        batch.drop_column("key_id")
