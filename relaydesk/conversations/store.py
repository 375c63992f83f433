"""The message write transaction, for one message or a whole group-commit batch.

The hottest path in the product, so it is synchronous, with no ORM unit of work, and a
fixed number of statements per batch rather than per message (`statements`: Core
statements built once, or the SQLite driver's cursor directly).

1. Lock every conversation of the batch (`SELECT … FOR UPDATE` in id order on PostgreSQL, so
   that two processes' batches cannot deadlock; on SQLite `BEGIN IMMEDIATE` already holds the
   database's write lock). From here until the commit nobody else can add a message to them.
2. Look up the batch's client ids that are already stored (resends). This statement starts
   after the locks are held, so it sees every message committed before them.
3. Validate and apply the messages in arrival order against the locked state, in memory: a
   refusal (`bot_silenced`, `not_assignee`, …) or a resend takes no seq and writes nothing,
   so it cannot affect the others, and seqs stay gap-free.
4. Write: bump each conversation's `last_seq` by its count of new messages, insert messages
   (their text encrypted in step 3, in Python: core/crypto.py), events and the messages'
   blind-index rows (core/blind_index.py) in bulk.

The seq is therefore guarded by the database's own lock, as before group commit, and holds
across processes; no process-local lock is involved.

This is the whole write on SQLite. On PostgreSQL it is the fallback: the common batch goes
through `store_postgres` in one compare-and-set statement, planned by `plan_batch` below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, update

from relaydesk.conversations import state as states
from relaydesk.conversations.models import MESSAGE, Conversation, ConversationStatus, SenderKind
from relaydesk.conversations.schemas import ConversationPublic, MessagePublic, SenderPublic
from relaydesk.conversations.statements import statements_for
from relaydesk.core import blind_index, crypto, event_log
from relaydesk.core.errors import Conflict, Forbidden, NotFound
from relaydesk.core.models import new_id, utcnow

_conversations = Conversation.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class StoreRequest:
    conversation_id: str
    sender_kind: SenderKind
    sender_id: str | None
    sender_name: str | None
    client_id: str
    text: str
    payload: dict[str, Any]


@dataclass
class Stored:
    """A new message, committed with the transaction."""

    message: MessagePublic
    conversation: ConversationPublic
    status_changed: bool
    # The events of the state changes; the message's own `message.stored` row is built
    # straight into the batch (`plan_batch`).
    events: list[event_log.EventPayload]


class AlreadyStored(Exception):
    """A resend: `message` is the one stored earlier with the same client id."""

    def __init__(self, message: MessagePublic) -> None:
        self.message = message


Outcome = Stored | Exception


def message_public(row: Mapping[str, Any] | RowMapping) -> MessagePublic:
    """A stored row (Core, so its text is still encrypted) as the message it holds."""
    return MessagePublic(
        id=row["id"],
        conversation_id=row["conversation_id"],
        seq=row["seq"],
        client_id=row["client_id"],
        sender=SenderPublic(kind=row["sender_kind"], id=row["sender_id"], name=row["sender_name"]),
        text=MESSAGE.open("text", row["text"], row["id"]),
        payload=row["payload"] or {},
        created_at=row["created_at"],
    )


@dataclass
class Plan:
    """What a batch would write, decided against the conversations' state as read."""

    outcomes: list[Outcome]
    # Per conversation: how many new messages, and the state changes they imply.
    counts: dict[str, int]
    changed: dict[str, dict[str, Any]]
    message_rows: list[dict[str, Any]]
    event_rows: list[dict[str, Any]]
    # The messages' blind-index rows (core/blind_index.py), same order.
    index_rows: list[dict[str, Any]]
    # Each message's character count (its `message.stored` event's `chars`), same order.
    chars: list[int]


def store_batch(connection: Connection, requests: Sequence[StoreRequest]) -> list[Outcome]:
    """Store `requests` in the current transaction; one outcome per request, same order."""
    now = utcnow()
    statements = statements_for(connection)
    ids = sorted({r.conversation_id for r in requests})
    state = {
        row["id"]: ConversationPublic.model_validate(row)
        for row in statements.lock_conversations(ids)
    }
    stored: dict[tuple[str, str], MessagePublic] = {
        (row["conversation_id"], row["client_id"]): message_public(row)
        for row in statements.stored_messages(ids, sorted({r.client_id for r in requests}))
    }
    plan = plan_batch(requests, state, stored, now)
    if not plan.message_rows:
        return plan.outcomes
    statements.bump_last_seq(
        [{"p_id": c, "p_count": n, "p_now": now} for c, n in sorted(plan.counts.items())]
    )
    for conversation_id, columns in sorted(plan.changed.items()):
        # Rare (a takeover, a reopen): SQLAlchemy Core is fine here.
        connection.execute(
            update(_conversations).where(_conversations.c.id == conversation_id).values(**columns)
        )
    statements.insert_messages(plan.message_rows)
    statements.insert_events(plan.event_rows)
    statements.insert_index(plan.index_rows)
    return plan.outcomes


def plan_batch(
    requests: Sequence[StoreRequest],
    state: dict[str, ConversationPublic],
    stored: dict[tuple[str, str], MessagePublic],
    now: datetime,
    *,
    message_events: bool = True,
) -> Plan:
    """Validate and apply `requests` in arrival order against `state` (updated in place)
    and the already `stored` messages by (conversation id, client id). With
    `message_events` false the messages' own `message.stored` rows are left out of
    `event_rows` (the PostgreSQL write makes them from the messages); state changes'
    events are always there."""
    plan = Plan(
        outcomes=[],
        counts={},
        changed={},
        message_rows=[],
        event_rows=[],
        index_rows=[],
        chars=[],
    )
    # Once per batch: the key file is checked for a rotation at most every few seconds.
    ring = crypto.keyring()
    events_on = event_log.enabled()
    for request in requests:
        try:
            outcome, changes = _apply(request, state, stored, now)
        except Exception as exc:
            plan.outcomes.append(exc)
            continue
        plan.outcomes.append(outcome)
        message = outcome.message
        plan.counts[message.conversation_id] = plan.counts.get(message.conversation_id, 0) + 1
        if changes:
            # Later changes in the batch win, as they would have one transaction each.
            plan.changed.setdefault(message.conversation_id, {}).update(changes)
        plan.message_rows.append(
            {
                "id": message.id,
                "conversation_id": message.conversation_id,
                "seq": message.seq,
                "sender_kind": request.sender_kind,
                "sender_id": request.sender_id,
                "sender_name": request.sender_name,
                "client_id": request.client_id,
                # Encrypted here, before the batch reaches the database, on every backend.
                "text": MESSAGE.seal("text", request.text, message.id, ring),
                "payload": request.payload,
                "created_at": now,
            }
        )
        plan.index_rows.append(
            {
                "kind": "message",
                "owner_id": message.id,
                "conversation_id": message.conversation_id,
                "tokens": blind_index.index_string(request.text, ring=ring),
            }
        )
        chars = len(request.text)
        plan.chars.append(chars)
        if events_on:
            site_id = outcome.conversation.site_id
            plan.event_rows.extend(
                event_log.row(
                    event,
                    site_id=site_id,
                    actor_kind=request.sender_kind,
                    actor_id=request.sender_id,
                    conversation_id=message.conversation_id,
                    created_at=now,
                )
                for event in outcome.events
            )
            if message_events:
                plan.event_rows.append(
                    event_log.message_stored_row(
                        site_id=site_id,
                        conversation_id=message.conversation_id,
                        sender_kind=request.sender_kind,
                        sender_id=request.sender_id,
                        message_id=message.id,
                        seq=message.seq,
                        chars=chars,
                        created_at=now,
                    )
                )
    return plan


def _apply(
    request: StoreRequest,
    state: dict[str, ConversationPublic],
    stored: dict[tuple[str, str], MessagePublic],
    now: datetime,
) -> tuple[Stored, dict[str, Any]]:
    conversation = state.get(request.conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    key = (request.conversation_id, request.client_id)
    earlier = stored.get(key)
    if earlier is not None:
        raise AlreadyStored(earlier)
    changes, events = message_effects(conversation, request.sender_kind, request.sender_id, now)
    conversation = conversation.model_copy(
        update={**changes, "last_seq": conversation.last_seq + 1, "updated_at": now}
    )
    state[request.conversation_id] = conversation
    message = MessagePublic(
        id=new_id(),
        conversation_id=request.conversation_id,
        seq=conversation.last_seq,
        client_id=request.client_id,
        sender=SenderPublic(
            kind=request.sender_kind, id=request.sender_id, name=request.sender_name
        ),
        text=request.text,
        payload=request.payload,
        created_at=now,
    )
    # A second send with the same client id later in this batch is a resend of this one.
    stored[key] = message
    stored_message = Stored(
        message=message, conversation=conversation, status_changed=bool(changes), events=events
    )
    return stored_message, changes


def message_effects(
    conversation: ConversationPublic, sender_kind: str, sender_id: str | None, now: datetime
) -> tuple[dict[str, Any], list[event_log.EventPayload]]:
    """Check that the sender may write now; return the state changes the message implies."""
    status = conversation.status
    if sender_kind == SenderKind.BOT and status != ConversationStatus.BOT:
        # The bot never speaks in a conversation a human owns or is waiting for.
        raise Conflict(
            f"the bot may not write while the conversation is {status}", code="bot_silenced"
        )
    if sender_kind == SenderKind.VISITOR and status == ConversationStatus.RESOLVED:
        changes: dict[str, Any] = {
            "status": states.next_status(status, states.Transition.REOPEN).value,
            "assignee_id": None,
            "handoff_reason": None,
            "resolved_at": None,
        }
        return changes, [event_log.ConversationReopened()]
    if sender_kind == SenderKind.AGENT:
        assert sender_id is not None
        agent_id = int(sender_id)
        if status == ConversationStatus.RESOLVED:
            raise Conflict(
                "the conversation is resolved; reopen it first", code="conversation_resolved"
            )
        if status == ConversationStatus.ASSIGNED and conversation.assignee_id != agent_id:
            raise Forbidden(
                "another agent owns this conversation",
                code="not_assignee",
                assignee_id=conversation.assignee_id,
            )
        if status in (ConversationStatus.BOT, ConversationStatus.QUEUED):
            changes = {
                "status": states.next_status(status, states.Transition.ASSIGN).value,
                "assignee_id": agent_id,
                "assigned_at": now,
            }
            return changes, [
                event_log.ConversationAssigned(assignee_id=agent_id, previous_status=status)
            ]
    return {}, []
