"""encryption at rest: the blind search index, rotation checkpoints, message write v2

Message text, visitor personal data, notes, offline messages and handoff summaries are
encrypted in Python (core/crypto.py, core/encrypted.py); their columns keep their types,
holding `v1:<kid>:...` envelopes. Rows stored before this revision stay plaintext (and
readable: a value without the envelope is read as it is) until `relaydesk keys rotate`,
which encrypts them and indexes them for search; docs/security.md.

On PostgreSQL the message write (conversations/store_postgres.py) becomes
`relaydesk_store_messages_v2`: v1 of 0004_store_messages_function plus the insert of the
messages' blind-index rows, which travel in the messages' JSON as `tokens`. v1 stays for
servers of the previous release during a rolling upgrade.

Revision ID: 0005_encryption
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_encryption"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE = """
CREATE FUNCTION relaydesk_store_messages_v2(
    p_conversations json, p_messages json, p_events json, p_now timestamptz
) RETURNS SETOF conversation
LANGUAGE plpgsql AS $$
DECLARE
    resent varchar[] := '{}';
    won varchar[] := '{}';
    new_message record;
    expected record;
    bumped conversation;
BEGIN
    FOR new_message IN
        SELECT * FROM json_to_recordset(p_messages) AS m(conversation_id varchar, client_id varchar)
    LOOP
        IF EXISTS (SELECT 1 FROM message
                   WHERE conversation_id = new_message.conversation_id
                     AND client_id = new_message.client_id) THEN
            resent := resent || new_message.conversation_id;
        END IF;
    END LOOP;
    FOR expected IN
        SELECT * FROM json_to_recordset(p_conversations)
            AS e(id varchar, last_seq int, status varchar, assignee_id int, added int)
    LOOP
        CONTINUE WHEN expected.id = ANY (resent);
        -- Waiting for another writer's row lock, PostgreSQL re-checks the WHERE against
        -- the row that writer committed.
        UPDATE conversation
        SET last_seq = last_seq + expected.added, updated_at = p_now, last_message_at = p_now
        WHERE id = expected.id
          AND last_seq = expected.last_seq
          AND status = expected.status
          AND assignee_id IS NOT DISTINCT FROM expected.assignee_id
        RETURNING * INTO bumped;
        IF FOUND THEN
            won := won || expected.id;
            RETURN NEXT bumped;
        END IF;
    END LOOP;
    IF cardinality(won) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO message (id, conversation_id, seq, sender_kind, sender_id, sender_name,
                         client_id, text, payload, created_at)
    SELECT m.id, m.conversation_id, m.seq, m.sender_kind, m.sender_id, m.sender_name,
           m.client_id, m.text, m.payload, p_now
    FROM json_to_recordset(p_messages)
         AS m(id varchar, conversation_id varchar, seq int, sender_kind varchar,
              sender_id varchar, sender_name varchar, client_id varchar, text text,
              payload json)
    WHERE m.conversation_id = ANY (won);
    INSERT INTO event (site_id, type, conversation_id, actor_kind, actor_id, payload,
                       created_at)
    SELECT ev.site_id, ev.type, ev.conversation_id, ev.actor_kind, ev.actor_id, ev.payload,
           p_now
    FROM json_to_recordset(p_events)
         AS ev(site_id int, type varchar, conversation_id varchar, actor_kind varchar,
               actor_id varchar, payload json)
    WHERE ev.conversation_id = ANY (won);
    INSERT INTO search_index (kind, owner_id, conversation_id, tokens)
    SELECT 'message', m.id, m.conversation_id, m.tokens
    FROM json_to_recordset(p_messages) AS m(id varchar, conversation_id varchar, tokens text)
    WHERE m.conversation_id = ANY (won);
END
$$
"""

DROP = "DROP FUNCTION relaydesk_store_messages_v2(json, json, json, timestamptz)"


def upgrade() -> None:
    op.create_table(
        "search_index",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "owner_id"),
    )
    op.create_index("ix_search_index_conversation_id", "search_index", ["conversation_id"])
    op.create_table(
        "key_rotation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_kid", sa.String(length=32), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_key_rotation_target_kid", "key_rotation", ["target_kid"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP)
    op.drop_index("ix_key_rotation_target_kid", table_name="key_rotation")
    op.drop_table("key_rotation")
    op.drop_index("ix_search_index_conversation_id", table_name="search_index")
    op.drop_table("search_index")
