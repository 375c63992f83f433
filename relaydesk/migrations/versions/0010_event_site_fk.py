"""analytics: the event log's site_id no longer has a foreign key to site

On PostgreSQL a foreign key is checked by a trigger per inserted row, a query that locks
the site's row (FOR KEY SHARE): every event, one per message on the message path, paid
~12-15 µs of the database's CPU for it (docs/performance.md), about a third of what
writing the event costs there, and every writer of a site locked that same row. The check
guards nothing on that path: an event's site comes from its conversation's row, whose own
key to site stays, or from a site just read; and sites are never deleted, so no event can
be left pointing at none. On SQLite the table is rebuilt without the key (the check costs
nothing measurable there, but the schema is the same on both).

Revision ID: 0010_event_site_fk
Revises: 0009_message_events_in_write
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_event_site_fk"
down_revision: str | None = "0009_message_events_in_write"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The key was created unnamed (0001): SQLite reflects it without a name, so batch mode
# names it by this convention to drop it. PostgreSQL named it itself.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("event_site_id_fkey", "event", type_="foreignkey")
        return
    with op.batch_alter_table("event", naming_convention=NAMING) as batch_op:
        batch_op.drop_constraint("fk_event_site_id_site", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key("event_site_id_fkey", "event", "site", ["site_id"], ["id"])
        return
    with op.batch_alter_table("event") as batch_op:
        batch_op.create_foreign_key("fk_event_site_id_site", "site", ["site_id"], ["id"])
