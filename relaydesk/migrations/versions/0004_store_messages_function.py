"""PostgreSQL: the message write as a function (conversations/store_postgres.py)

One statement used to do the whole compare-and-set write: six CTEs, which PostgreSQL
planned afresh on every call (0.5 of its 0.9 ms), because the generic plan it would
otherwise cache joined the resend check with a scan of `message` chosen while the table
was empty, and slowed down as it grew. In a function each step is a statement of its own
with one obvious plan (a lookup by primary key or unique index, or no table read at
all), so PL/pgSQL's cached plans are safe, and a call costs the database 0.3-0.45 ms
of CPU (the same machine's speed drifts) where the statement cost 0.7-0.9.

The name carries a version: a change to the write gets a new function in a new
migration, so servers of the previous release keep theirs during a rolling upgrade.
SQLite has no functions; its write is `conversations/store.py`.

Revision ID: 0004_store_messages_function
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004_store_messages_function"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# For each conversation of `p_conversations`: unless one of the batch's messages for it is
# stored already (a resend, which the caller answers from the locked path), bump its
# last_seq by `added` only WHERE it still holds the expected last_seq, status and
# assignee; then insert the messages and events of exactly the conversations whose bump
# matched, and return those conversations as committed. The batch comes as three JSON
# arrays of objects: as arrays of columns, asyncpg's encoding of the 21 parameters cost
# more of the server's CPU than anything else in the write.
CREATE = """
CREATE FUNCTION relaydesk_store_messages_v1(
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
END
$$
"""

DROP = "DROP FUNCTION relaydesk_store_messages_v1(json, json, json, timestamptz)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP)
