"""analytics: the cycles' time values (analytics_cycle_slot) and handoff counts by reason
(analytics_handoff_slot) per 15-minute slot, and a rebuild of the rollups to fill them

Revision ID: 0007_analytics_cycle_slot
Revises: 0005_analytics
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_analytics_cycle_slot"
# Continues the analytics branch: its rollup tables and watermark come from 0005.
# (A depends_on from 0001 left 0005 a script head that the version table never
# lists once 0007 is applied, so /readyz saw a missing head forever.)
down_revision: str | None = "0005_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

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
