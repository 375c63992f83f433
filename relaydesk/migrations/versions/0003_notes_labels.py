"""collab: private notes on conversations, per-site labels and conversation labels

Revision ID: 0003_notes_labels
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_notes_labels"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "conversation_note",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("conversation.id"), nullable=False
        ),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("staff_user.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("text", sa.String(), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("conversation_id", "client_id", name="uq_note_conversation_client"),
    )
    op.create_index(
        "ix_note_conversation_created", "conversation_note", ["conversation_id", "created_at"]
    )
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id"), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("color", sa.String(7), nullable=False),
        _ts("created_at"),
        sa.UniqueConstraint("site_id", "name", name="uq_label_site_name"),
    )
    op.create_index("ix_label_site_id", "label", ["site_id"])
    op.create_table(
        "conversation_label",
        sa.Column(
            "conversation_id", sa.String(32), sa.ForeignKey("conversation.id"), primary_key=True
        ),
        sa.Column("label_id", sa.Integer(), sa.ForeignKey("label.id"), primary_key=True),
        _ts("created_at"),
    )
    op.create_index("ix_conversation_label_label_id", "conversation_label", ["label_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_label_label_id", table_name="conversation_label")
    op.drop_table("conversation_label")
    op.drop_index("ix_label_site_id", table_name="label")
    op.drop_table("label")
    op.drop_index("ix_note_conversation_created", table_name="conversation_note")
    op.drop_table("conversation_note")
