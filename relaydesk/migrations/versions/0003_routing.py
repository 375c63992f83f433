"""routing: per-team routing mode, per-agent presence choice and round-robin stamp

Revision ID: 0003_routing
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_routing"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("routing_mode", sa.String(16), nullable=False, server_default="auto")
        )
    op.create_table(
        "routing_agent",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("staff_user.id"), primary_key=True),
        sa.Column("chosen", sa.String(16), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("routing_agent")
    with op.batch_alter_table("team", schema=None) as batch_op:
        batch_op.drop_column("routing_mode")
