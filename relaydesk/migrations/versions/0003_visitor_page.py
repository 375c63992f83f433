"""visitor page: the host page URL and title the widget last reported

Revision ID: 0003_visitor_page
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_visitor_page"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visitor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_page_url", sa.String(2000), nullable=True))
        batch_op.add_column(sa.Column("last_page_title", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visitor", schema=None) as batch_op:
        batch_op.drop_column("last_page_title")
        batch_op.drop_column("last_page_url")
