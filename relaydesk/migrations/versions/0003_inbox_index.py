"""Inbox ordering index: conversations newest first.

Revision ID: 0003_inbox_index
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_inbox_index"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_conversation_updated_at_id", "conversation", ["updated_at", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_updated_at_id", table_name="conversation")
