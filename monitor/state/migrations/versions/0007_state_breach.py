"""An alert records when its breach or warning began (`breached_at`): the deadline passed,
the warning threshold reached, the offending step recorded. The monthly assessment counts a
card in that month, not in the month the daemon first saw it. Alerts raised before keep
NULL, and their raised time stands in. A closed case records how its disclosure went
(`disclosure`: on_time, late), for the 公开及时率 of the assessment.

Revision ID: 0007_state_breach
Revises: 0006_state_supervision
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from monitor.state.schema import UTCDateTime

revision: str = "0007_state_breach"
down_revision: str | None = "0006_state_supervision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sunlight_alerts", sa.Column("breached_at", UTCDateTime(), nullable=True))
    op.add_column("sunlight_case_state", sa.Column("disclosure", sa.String(16), nullable=True))
    op.create_index("ix_alerts_breached", "sunlight_alerts", ["breached_at"])


def downgrade() -> None:
    op.drop_index("ix_alerts_breached", "sunlight_alerts")
    with op.batch_alter_table("sunlight_alerts") as batch:
        batch.drop_column("breached_at")
    with op.batch_alter_table("sunlight_case_state") as batch:
        batch.drop_column("disclosure")
