"""analytics: the cycles' time values (analytics_cycle_slot) and handoff counts by reason
(analytics_handoff_slot) per 15-minute slot, and a rebuild of the rollups to fill them

Revision ID: 0007_analytics_cycle_slot
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_analytics_cycle_slot"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
# The rollup tables and their watermark come from 0005.
depends_on: str | Sequence[str] | None = "0005_analytics"

TIME_COLUMNS = (
    "frt_s",
    "frt_bh_s",
    "queue_wait_s",
    "queue_wait_bh_s",
    "resolution_s",
    "resolution_bh_s",
)


def upgrade() -> None:
    op.create_table(
        "analytics_cycle_slot",
        sa.Column("site_id", sa.Integer(), primary_key=True),
        sa.Column("started_ts", sa.Float(), primary_key=True),
        sa.Column("team_id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        *(sa.Column(name, sa.LargeBinary(), nullable=False) for name in TIME_COLUMNS),
    )
    op.create_table(
        "analytics_handoff_slot",
        sa.Column("site_id", sa.Integer(), primary_key=True),
        sa.Column("started_ts", sa.Float(), primary_key=True),
        sa.Column("team_id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("reason", sa.String(64), primary_key=True),
        sa.Column("handoffs", sa.Integer(), nullable=False),
    )
    # The rollups are a cache of the event log: dropping the watermark makes the next
    # report recompute every conversation, which fills the new table.
    op.execute("DELETE FROM analytics_state")


def downgrade() -> None:
    op.drop_table("analytics_handoff_slot")
    op.drop_table("analytics_cycle_slot")
