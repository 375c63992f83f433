"""analytics: per-conversation and per-cycle rollups of the event log, and its watermark

Revision ID: 0005_analytics
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_analytics"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


SLOT_COUNTS = (
    "conversations",
    "resolved",
    "reopened",
    "transferred",
    "bot_involved",
    "bot_resolved",
    "bot_handed_off",
    "bot_human",
    "bot_unanswered",
    "bot_pending",
    "handoff_conversations",
    "csat_responses",
    "csat_sum",
    "csat_1",
    "csat_2",
    "csat_3",
    "csat_4",
    "csat_5",
    "feedback_up",
    "feedback_down",
)


def upgrade() -> None:
    op.create_table(
        "analytics_conversation",
        sa.Column("conversation_id", sa.String(32), primary_key=True),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_ts", sa.Float(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("bot_involved", sa.Boolean(), nullable=False),
        sa.Column("bot_outcome", sa.String(16), nullable=True),
        sa.Column("bot_settles_ts", sa.Float(), nullable=True),
        sa.Column("handoffs", sa.Integer(), nullable=False),
        sa.Column("handoff_reason", sa.String(64), nullable=True),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("visitor_messages", sa.Integer(), nullable=False),
        sa.Column("bot_messages", sa.Integer(), nullable=False),
        sa.Column("agent_messages", sa.Integer(), nullable=False),
        sa.Column("csat", sa.Integer(), nullable=True),
        sa.Column("feedback_up", sa.Integer(), nullable=False),
        sa.Column("feedback_down", sa.Integer(), nullable=False),
        sa.Column("agent_ids", sa.JSON(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("cycles", sa.Integer(), nullable=False),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("first_response_bh_s", sa.Float(), nullable=True),
        sa.Column("resolution_s", sa.Float(), nullable=True),
        sa.Column("resolution_bh_s", sa.Float(), nullable=True),
        sa.Column("queue_wait_s", sa.Float(), nullable=True),
        sa.Column("queue_wait_bh_s", sa.Float(), nullable=True),
    )
    op.create_index(
        "ix_analytics_conversation_bot_settles_ts", "analytics_conversation", ["bot_settles_ts"]
    )
    op.create_index(
        "ix_analytics_conversation_site_started",
        "analytics_conversation",
        ["site_id", "started_ts"],
    )
    op.create_table(
        "analytics_cycle",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.String(32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_ts", sa.Float(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("bot_replied", sa.Boolean(), nullable=False),
        sa.Column("human", sa.Boolean(), nullable=False),
        sa.Column("handoff_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("handoff_reason", sa.String(64), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_human_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transfers", sa.Integer(), nullable=False),
        sa.Column("frt_s", sa.Float(), nullable=True),
        sa.Column("frt_bh_s", sa.Float(), nullable=True),
        sa.Column("queue_wait_s", sa.Float(), nullable=True),
        sa.Column("queue_wait_bh_s", sa.Float(), nullable=True),
        sa.Column("resolution_s", sa.Float(), nullable=True),
        sa.Column("resolution_bh_s", sa.Float(), nullable=True),
    )
    op.create_index("ix_analytics_cycle_agent_id", "analytics_cycle", ["agent_id"])
    op.create_index("ix_analytics_cycle_conversation_id", "analytics_cycle", ["conversation_id"])
    op.create_index("ix_analytics_cycle_site_started", "analytics_cycle", ["site_id", "started_ts"])
    op.create_index(
        "ix_analytics_cycle_times",
        "analytics_cycle",
        [
            "site_id",
            "started_ts",
            "frt_s",
            "frt_bh_s",
            "queue_wait_s",
            "queue_wait_bh_s",
            "resolution_s",
            "resolution_bh_s",
        ],
    )
    op.create_index(
        "ix_analytics_cycle_reasons", "analytics_cycle", ["site_id", "started_ts", "handoff_reason"]
    )
    op.create_table(
        "analytics_slot",
        sa.Column("site_id", sa.Integer(), primary_key=True),
        sa.Column("started_ts", sa.Float(), primary_key=True),
        sa.Column("team_id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in SLOT_COUNTS),
    )
    op.create_table(
        "analytics_state",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("analytics_state")
    op.drop_table("analytics_slot")
    op.drop_table("analytics_cycle")
    op.drop_table("analytics_conversation")
