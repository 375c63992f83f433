"""security: staff session versions (token revocation), the sites' any-origin switch

Revision ID: 0005_security
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_security"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_user") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("site") as batch:
        batch.add_column(
            sa.Column("allow_any_origin", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("site") as batch:
        batch.drop_column("allow_any_origin")
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("session_version")
