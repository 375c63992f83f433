"""knowledge: articles with version history, FAQ entries, per-site knowledge-base version

Revision ID: 0002_knowledge
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002_knowledge"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _str(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("external_id", _str(200), nullable=True),
        sa.Column("source_url", _str(2000), nullable=True),
        sa.Column("title", _str(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", _str(16), nullable=False),
        sa.Column("locale", _str(16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("published_at", nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "external_id", name="uq_article_site_external"),
    )
    with op.batch_alter_table("article", schema=None) as batch_op:
        batch_op.create_index("ix_article_site_source_url", ["site_id", "source_url"])
        batch_op.create_index("ix_article_site_status", ["site_id", "status"])

    op.create_table(
        "faq_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("external_id", _str(200), nullable=True),
        sa.Column("title", _str(300), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("locale", _str(16), nullable=False),
        sa.Column("status", _str(16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("published_at", nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "external_id", name="uq_faq_entry_site_external"),
    )
    with op.batch_alter_table("faq_entry", schema=None) as batch_op:
        batch_op.create_index("ix_faq_entry_site_status", ["site_id", "status"])

    op.create_table(
        "knowledge_base_state",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"]),
        sa.PrimaryKeyConstraint("site_id"),
    )

    op.create_table(
        "article_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", _str(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("locale", _str(16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source_url", _str(2000), nullable=True),
        sa.Column("author_kind", _str(16), nullable=False),
        sa.Column("author_id", _str(64), nullable=True),
        sa.Column("note", _str(200), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["article_id"], ["article.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "version", name="uq_article_version"),
    )
    with op.batch_alter_table("article_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_version_article_id"), ["article_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("article_version")
    op.drop_table("knowledge_base_state")
    op.drop_table("faq_entry")
    op.drop_table("article")
