"""analytics: the PostgreSQL message write builds the messages' `message.stored` events itself

`relaydesk_store_messages_v3` is v2 (0005_encryption) except for the events. The server
used to build one `message.stored` row per message in Python, serialise it to JSON beside
the message, and the function parsed it back: the same ids, seq and sender twice over the
wire. v3 makes the row from the message it is inserting (its id, seq, sender, the
character count it now carries as `chars`, and its conversation's site), for exactly the
conversations whose bump matched, in the messages' order, when `p_events` is true
(`RELAYDESK_EVENT_LOG=off` passes false). The optimistic path that calls it never carries a
state change (those take the locked path), so a message's own event is the only one it
writes. The rows are the ones `event_log.message_stored_row` makes (tests/conversations).

v1 and v2 stay for servers of the previous release during a rolling upgrade.

Revision ID: 0009_message_events_in_write
Revises: 0007_analytics_cycle_slot
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_message_events_in_write"
# Continues the analytics branch. The tables the function writes come from 0001 and
# 0005_encryption; PL/pgSQL resolves them when the function runs, not when it is created.
down_revision: str | None = "0007_analytics_cycle_slot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CREATE = """
CREATE FUNCTION relaydesk_store_messages_v3(
    p_conversations json, p_messages json, p_now timestamptz, p_events boolean
) RETURNS SETOF conversation
LANGUAGE plpgsql AS $$
DECLARE
    resent varchar[] := '{}';
    won varchar[] := '{}';
    won_sites int[] := '{}';
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
            won_sites := won_sites || bumped.site_id;
            RETURN NEXT bumped;
        END IF;
    END LOOP;
    IF cardinality(won) = 0 THEN
        RETURN;
    END IF;
    -- One statement, so that the messages' JSON is parsed once for the three inserts (a
    -- CTE used several times is computed once); the events come in the messages' order,
    -- since events of one instant are ordered by id.
    WITH m AS (
        SELECT *
        FROM ROWS FROM (json_to_recordset(p_messages)
                        AS (id varchar, conversation_id varchar, seq int, sender_kind varchar,
                            sender_id varchar, sender_name varchar, client_id varchar,
                            text text, payload json, tokens text, chars int))
             WITH ORDINALITY AS m(id, conversation_id, seq, sender_kind, sender_id,
                                  sender_name, client_id, text, payload, tokens, chars, n)
        WHERE m.conversation_id = ANY (won)
    ), stored AS (
        INSERT INTO message (id, conversation_id, seq, sender_kind, sender_id, sender_name,
                             client_id, text, payload, created_at)
        SELECT m.id, m.conversation_id, m.seq, m.sender_kind, m.sender_id, m.sender_name,
               m.client_id, m.text, m.payload, p_now
        FROM m
    ), indexed AS (
        INSERT INTO search_index (kind, owner_id, conversation_id, tokens)
        SELECT 'message', m.id, m.conversation_id, m.tokens
        FROM m
    )
    INSERT INTO event (site_id, type, conversation_id, actor_kind, actor_id, payload,
                       created_at)
    SELECT w.site_id, 'message.stored', m.conversation_id, m.sender_kind, m.sender_id,
           json_build_object('message_id', m.id, 'seq', m.seq,
                             'sender_kind', m.sender_kind, 'chars', m.chars),
           p_now
    FROM m JOIN unnest(won, won_sites) AS w(id, site_id) ON w.id = m.conversation_id
    WHERE p_events
    ORDER BY m.n;
END
$$
"""

DROP = "DROP FUNCTION relaydesk_store_messages_v3(json, json, timestamptz, boolean)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP)
