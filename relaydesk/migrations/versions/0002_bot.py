"""bot: site policy, feedback, CSAT, offline messages, handoff summaries

Revision ID: 0002_bot
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_bot"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "bot_site_policy",
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id"), primary_key=True),
        sa.Column("policy", sa.JSON(), nullable=False),
        _ts("updated_at"),
    )
    op.create_table(
        "bot_feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversation.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("message_id", sa.String(32), sa.ForeignKey("message.id"), nullable=False),
        sa.Column("visitor_id", sa.String(32), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("message_id", "visitor_id", name="uq_bot_feedback_rater"),
    )
    op.create_table(
        "bot_csat",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversation.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("visitor_id", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(), nullable=True),
        _ts("resolved_at", nullable=True),
        _ts("created_at"),
    )
    op.create_table(
        "bot_offline_message",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversation.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("visitor_id", sa.String(32), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        _ts("created_at"),
    )
    op.create_table(
        "bot_handoff_summary",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id"), nullable=False, index=True),
        sa.Column(
            "conversation_id",
            sa.String(32),
            sa.ForeignKey("conversation.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _ts("created_at"),
    )


def downgrade() -> None:
    for table in (
        "bot_handoff_summary",
        "bot_offline_message",
        "bot_csat",
        "bot_feedback",
        "bot_site_policy",
    ):
        op.drop_table(table)
