"""Conversation and message actions: the only code that writes them.

Every function commits its own transaction, records the matching Event rows inside it, and
fans out to sockets only after the commit, so nobody is ever told of a change that did not
happen.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.conversations import hooks
from relaydesk.conversations.models import (
    Conversation,
    ConversationStatus,
    Message,
    ReadState,
    SenderKind,
)
from relaydesk.conversations.schemas import (
    AssigneePublic,
    ConversationPublic,
    MessagePublic,
    dump,
)
from relaydesk.conversations.store import AlreadyStored, Outcome, Stored, StoreRequest, store_batch
from relaydesk.conversations.store_postgres import OptimisticStore
from relaydesk.conversations.writer import BatchWriter
from relaydesk.core import event_log, realtime
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound
from relaydesk.core.models import StaffUser, utcnow
from relaydesk.core.text import clean_text


@dataclass(frozen=True)
class Actor:
    """Who does something: a visitor, the bot, a staff user or the system."""

    kind: SenderKind
    id: str | None = None
    name: str | None = None

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(kind=SenderKind.AGENT, id=str(user.id), name=user.name)

    @classmethod
    def visitor(cls, visitor_id: str) -> Actor:
        return cls(kind=SenderKind.VISITOR, id=visitor_id)


BOT = Actor(kind=SenderKind.BOT, id=None, name="Bot")
SYSTEM = Actor(kind=SenderKind.SYSTEM, id=None, name=None)


@dataclass
class SendResult:
    message: MessagePublic
    conversation: ConversationPublic
    created: bool
    status_changed: bool = False
    events: list[event_log.EventPayload] = field(default_factory=list)

    @cached_property
    def message_data(self) -> dict[str, Any]:
        """The message as sent on the wire; serialised once for the fan-out and the ack."""
        return dump(self.message)


async def get_conversation(db: Database, conversation_id: str) -> Conversation:
    async with db.read() as session:
        conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return conversation


async def open_conversation(
    db: Database, *, site_id: int, visitor_id: str
) -> tuple[Conversation, list[Message]]:
    """The visitor's current conversation (its latest), created if there is none."""
    async with db.write() as session:
        conversation = (
            await session.execute(
                select(Conversation)
                .where(Conversation.visitor_id == visitor_id, Conversation.site_id == site_id)
                .order_by(col(Conversation.created_at).desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        created = conversation is None
        if conversation is None:
            conversation = Conversation(site_id=site_id, visitor_id=visitor_id)
            session.add(conversation)
            await session.flush()
            event_log.record(
                session,
                event_log.ConversationStarted(visitor_id=visitor_id),
                site_id=site_id,
                actor_kind=SenderKind.VISITOR,
                actor_id=visitor_id,
                conversation_id=conversation.id,
            )
            messages: list[Message] = []
        else:
            messages = await _latest_messages(session, conversation.id)
        event_log.record(
            session,
            event_log.WidgetOpened(visitor_id=visitor_id, new_conversation=created),
            site_id=site_id,
            actor_kind=SenderKind.VISITOR,
            actor_id=visitor_id,
            conversation_id=conversation.id,
        )
    # Not announced to the staff inboxes yet: an opened, empty conversation is no one's
    # business (a flood of tokenless connections would otherwise fill every inbox). The
    # first message announces it.
    return conversation, messages


async def _latest_messages(session: AsyncSession, conversation_id: str) -> list[Message]:
    limit = get_settings().sync_page_size
    rows = (
        await session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(col(Message.seq).desc())
            .limit(limit)
        )
    ).scalars()
    return list(reversed(list(rows)))


async def latest_messages(db: Database, *, conversation_id: str) -> list[Message]:
    async with db.read() as session:
        return await _latest_messages(session, conversation_id)


async def send_message(
    db: Database,
    *,
    conversation_id: str,
    sender: Actor,
    client_id: str,
    text: str,
    payload: dict[str, Any] | None = None,
    origin_sid: str | None = None,
) -> SendResult:
    """Store a message with the next gap-free `seq`, or return the one already stored with
    this `client_id` (a resend). Applies the state changes a message implies: a visitor
    writing into a resolved conversation reopens it for the bot, and an agent writing into
    one the bot holds or that is queued takes it over.

    `origin_sid` is the socket that sent it: its ack carries the message, so the fan-out
    skips it (its other tabs are other sockets and still get `message:new`)."""
    text = clean_text(text, max_chars=get_settings().max_message_chars)
    try:
        result = await _store_message(
            db,
            conversation_id=conversation_id,
            sender=sender,
            client_id=client_id,
            text=text,
            payload=payload or {},
        )
    except AlreadyStored as resend:
        conversation = await get_conversation(db, conversation_id)
        return SendResult(
            message=resend.message, conversation=ConversationPublic.of(conversation), created=False
        )
    await realtime.to_conversation(
        conversation_id, "message:new", {"message": result.message_data}, skip_sid=origin_sid
    )
    if result.status_changed:
        await announce(db, result.conversation)
        await hooks.conversation_changed(db, result.conversation, hooks.Before(status=None))
    elif result.message.seq == 1:
        await announce(db, result.conversation)  # the first message puts it in the inbox
    if sender.kind == SenderKind.VISITOR:
        hooks.visitor_message_stored(db, result)
    return result


_writers: weakref.WeakKeyDictionary[Database, BatchWriter[StoreRequest, Outcome]] = (
    weakref.WeakKeyDictionary()
)


def _writer(db: Database) -> BatchWriter[StoreRequest, Outcome]:
    writer = _writers.get(db)
    if writer is None:
        store: Callable[[Sequence[StoreRequest]], Awaitable[list[Outcome]]]
        if db.is_sqlite:
            store = partial(_store_locked, weakref.ref(db))
        else:
            store = OptimisticStore(db).store_batch
        writer = _writers[db] = BatchWriter(store)
    return writer


async def _store_locked(
    db_ref: weakref.ref[Database], requests: Sequence[StoreRequest]
) -> list[Outcome]:
    """A batch in one locked transaction. `db` is weakly referenced: the writer lives as
    long as `db` does (`_writers` is keyed by it) and must not keep it alive itself."""
    db = db_ref()
    if db is None:
        raise RuntimeError("the database was disposed of")
    return await db.run_write(partial(store_batch, requests=requests))


async def _store_message(
    db: Database,
    *,
    conversation_id: str,
    sender: Actor,
    client_id: str,
    text: str,
    payload: dict[str, Any],
) -> SendResult:
    request = StoreRequest(
        conversation_id=conversation_id,
        sender_kind=sender.kind,
        sender_id=sender.id,
        sender_name=sender.name,
        client_id=client_id,
        text=text,
        payload=payload,
    )
    outcome = await _writer(db).store(request)
    if isinstance(outcome, Exception):
        raise outcome
    assert isinstance(outcome, Stored)
    return SendResult(
        message=outcome.message,
        conversation=outcome.conversation,
        created=True,
        status_changed=outcome.status_changed,
        events=outcome.events,
    )


async def sync(db: Database, *, conversation_id: str, after_seq: int) -> list[Message]:
    """Messages with seq > after_seq, in order (one page)."""
    async with db.read() as session:
        rows = await session.execute(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
            .order_by(col(Message.seq))
            .limit(get_settings().sync_page_size)
        )
        return list(rows.scalars())


async def mark_read(db: Database, *, conversation_id: str, reader: Actor, seq: int) -> ReadState:
    """Move the reader's read marker forward (never back) and tell the other side."""
    assert reader.id is not None
    async with db.write() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("no such conversation", code="conversation_not_found")
        seq = min(seq, conversation.last_seq)
        read_state = await session.get(ReadState, (conversation_id, reader.kind, reader.id))
        if read_state is None:
            read_state = ReadState(
                conversation_id=conversation_id,
                participant_kind=reader.kind,
                participant_id=reader.id,
                last_read_seq=seq,
            )
            session.add(read_state)
            moved = True
        else:
            moved = seq > read_state.last_read_seq
            if moved:
                read_state.last_read_seq = seq
                read_state.updated_at = utcnow()
    if moved:
        await realtime.to_conversation(
            conversation_id,
            "read",
            {
                "conversation_id": conversation_id,
                "reader": {"kind": reader.kind, "id": reader.id},
                "seq": read_state.last_read_seq,
            },
        )
    return read_state


async def read_states(db: Database, *, conversation_id: str) -> Sequence[ReadState]:
    async with db.read() as session:
        rows = await session.execute(
            select(ReadState).where(ReadState.conversation_id == conversation_id)
        )
        return list(rows.scalars())


async def describe(
    db: Database,
    conversation: Conversation | ConversationPublic,
    *,
    assignee: StaffUser | None = None,
) -> ConversationPublic:
    """The public view of a conversation, with its assignee's name and avatar. A writer
    that has just made `assignee` the owner passes them, and nothing is read again."""
    public = (
        conversation
        if isinstance(conversation, ConversationPublic)
        else ConversationPublic.of(conversation)
    )
    if public.assignee_id is None:
        return public.model_copy(update={"assignee": None})
    user = assignee
    if user is None or user.id != public.assignee_id:
        async with db.read() as session:
            user = await session.get(StaffUser, public.assignee_id)
    if user is None or user.id is None:
        return public
    shown = AssigneePublic(id=user.id, name=user.name, avatar_url=user.avatar_url)
    return public.model_copy(update={"assignee": shown})


async def announce(
    db: Database,
    conversation: Conversation | ConversationPublic,
    *,
    assignee: StaffUser | None = None,
) -> None:
    """Tell the site's staff inboxes (and everyone in the conversation) the new state
    (`assignee`: as in `describe`)."""
    public = await describe(db, conversation, assignee=assignee)
    data = {"conversation": dump(public)}
    event = "conversation:updated"
    if public.status in (ConversationStatus.BOT, ConversationStatus.QUEUED):
        # Live conversations are every agent's business (the queue).
        await realtime.to_site_staff(public.site_id, event, data)
    else:
        # Owned or closed ones: every agent of the site learns only that it left the
        # queue (no owner); the owner and the site's supervisors get the whole of it.
        # Sent in this order so a client in both rooms ends with the whole version.
        redacted = public.model_copy(update={"assignee_id": None, "assignee": None})
        await realtime.to_site_staff(public.site_id, event, {"conversation": dump(redacted)})
        await realtime.to_site_leads(public.site_id, event, data)
        if public.assignee_id is not None:
            await realtime.to_staff_user(public.assignee_id, event, data)
    await realtime.to_visitor_side(public.id, event, data)
