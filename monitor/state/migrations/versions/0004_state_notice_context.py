"""A queued notice keeps what it is to say (its template context, JSON) and is rendered by
the sender, outside the evaluation's transaction; its subject and bodies are written when it
is first sent. Notices queued before (and digests, reminders and reports, rendered when
queued) have no context and keep their text.

Revision ID: 0004_state_notice_context
Revises: 0003_state_audit
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_state_notice_context"
down_revision: str | None = "0003_state_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sunlight_notices", sa.Column("context", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sunlight_notices") as batch:
        batch.drop_column("context")
