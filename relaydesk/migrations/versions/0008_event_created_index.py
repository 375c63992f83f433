"""event: drop ix_event_created, which no query used (every read by time also names the
site and type: ix_event_site_type_created), and which every event written updated

Revision ID: 0008_event_created_index
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_event_created_index"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_event_created", table_name="event")


def downgrade() -> None:
    op.create_index("ix_event_created", "event", ["created_at"], unique=False)
