"""The bot's turn in a live conversation: runs after each visitor message (a background
hook, after the visitor has their ack) while the conversation's status is `bot`.

Streaming follows docs/protocol.md: `typing` on, `message:stream` deltas with the
`stream_id` the stored message will carry as `client_id`, the stored `message:new`,
`typing` off. The final store goes through `send_message`, which refuses with
`bot_silenced` once a human has taken over; the answer is then dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable

from relaydesk.bot import answer, extractive, intents, service, summary
from relaydesk.bot.policy import BotPolicy
from relaydesk.bot.prompt import Turn
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation, ConversationStatus, Message, SenderKind
from relaydesk.conversations.schemas import MessagePublic
from relaydesk.conversations.service import BOT, SendResult
from relaydesk.core import event_log, realtime
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict
from relaydesk.routing import queue as routing_queue
from relaydesk.sites import service as sites

log = logging.getLogger(__name__)

BOT_SENDER = {"kind": SenderKind.BOT, "id": None, "name": BOT.name}

# One turn at a time per conversation on this node, so two quick visitor messages get
# their replies in order rather than racing.
_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def stream_id_for(message_id: str) -> str:
    # Derived from the visitor's message, so a repeated turn stores nothing twice.
    return f"bot:{message_id}"


def wants_turn(result: SendResult) -> bool:
    """Whether a visitor's message is the bot's to answer (`on_visitor_message`'s filter)."""
    # Files alone (`text_auto`): the text is only their names, nothing to answer.
    files_only = bool(result.message.payload.get("text_auto"))
    return result.conversation.status == ConversationStatus.BOT and not files_only


async def on_visitor_message(db: Database, result: SendResult) -> None:
    """The `conversations.hooks.on_visitor_message` hook, registered with `wants_turn`."""
    if not wants_turn(result):
        return
    await run_turn(db, conversation_id=result.conversation.id, trigger=result.message)


async def run_turn(db: Database, *, conversation_id: str, trigger: MessagePublic) -> None:
    lock = _locks.get(conversation_id)
    if lock is None:
        lock = _locks[conversation_id] = asyncio.Lock()
    async with lock:
        conversation = await conversations.get_conversation(db, conversation_id)
        if conversation.status != ConversationStatus.BOT:
            return
        configured = await service.configured_policy(db, conversation.site_id)
        policy = configured or BotPolicy()
        if not policy.enabled:
            return
        context = await service.context_messages(db, conversation_id)
        if any(m.sender_kind == SenderKind.VISITOR and m.seq > trigger.seq for m in context):
            return  # a newer visitor message has its own turn coming; answer that one
        typing = False

        async def start() -> None:
            nonlocal typing
            typing = True
            await _typing(conversation_id, True)

        try:
            await _reply(db, conversation, trigger, context, policy, configured is None, start)
        finally:
            if typing:
                await _typing(conversation_id, False)


def _history(context: list[Message], trigger: MessagePublic) -> list[Turn]:
    turns = []
    for message in context:
        if message.seq >= trigger.seq:
            break
        if message.sender_kind == SenderKind.VISITOR:
            turns.append(Turn("visitor", message.text))
        elif message.sender_kind == SenderKind.BOT:
            turns.append(Turn("bot", message.text))
    return turns


async def _reply(
    db: Database,
    conversation: Conversation,
    trigger: MessagePublic,
    context: list[Message],
    policy: BotPolicy,
    needs_knowledge: bool,
    on_start: Callable[[], Awaitable[None]],
) -> None:
    site = await sites.get_site(db, conversation.site_id)
    visitor = await sites.get_visitor(
        db, visitor_id=conversation.visitor_id, site_id=conversation.site_id
    )
    language = intents.language(trigger.text)
    stream_id = stream_id_for(trigger.id)
    index = 0

    async def on_delta(delta: str) -> None:
        nonlocal index
        await realtime.to_conversation(
            conversation.id,
            "message:stream",
            {
                "conversation_id": conversation.id,
                "stream_id": stream_id,
                "index": index,
                "delta": delta,
            },
        )
        index += 1

    queue = await routing_queue.preview(db, conversation, site)
    # No position in the text: it goes stale the moment the queue moves or an agent takes
    # the conversation. The widget's queue card shows it live (payload `queue`).
    handoff_text = extractive.text(
        language, "handoff_queued_no_position" if queue["agents_online"] else "handoff_offline"
    )
    reply = await answer.respond(
        db,
        site_id=conversation.site_id,
        site_name=site.name,
        question=trigger.text,
        history=_history(context, trigger),
        policy=policy,
        low_streak=service.low_confidence_streak(context),
        on_delta=on_delta,
        on_start=on_start,
        handoff_text=handoff_text,
        needs_knowledge=needs_knowledge,
        locale=(visitor.locale if visitor else None) or site.default_locale,
    )
    if reply is None:
        return
    if index == 0:
        await on_delta(reply.text)  # not streamed token by token: one delta
    payload = reply.payload()
    if reply.action == "handoff":
        payload["queue"] = queue
        payload["offline_form"] = not queue["agents_online"]
    try:
        stored = await conversations.send_message(
            db,
            conversation_id=conversation.id,
            sender=BOT,
            client_id=stream_id,
            text=reply.text,
            payload=payload,
        )
    except Conflict as exc:
        if exc.code == "bot_silenced":
            return  # a human took over while we were thinking: say nothing
        raise
    if not stored.created:
        return
    await service.record_reply(
        db,
        conversation=conversation,
        payload=event_log.BotReplied(
            message_id=stored.message.id,
            action=reply.action,
            confidence=round(reply.confidence, 4),
            entry_ids=[c["entry_id"] for c in reply.citations],
            mode=reply.mode,
            failure=reply.failure,
            reason=reply.reason,
        ),
    )
    if reply.action == "handoff" and reply.reason is not None:
        await hand_off(db, conversation_id=conversation.id, reason=reply.reason)


async def hand_off(db: Database, *, conversation_id: str, reason: str) -> Conversation | None:
    """Queue the conversation for a person (the bot is silent from then on), leave the
    agent a summary, and tell the visitor their place in the queue."""
    try:
        conversation = await transitions.request_handoff(
            db, conversation_id=conversation_id, actor=BOT, reason=reason
        )
    except Conflict:
        return None  # an agent took it over, or it was queued, in the meantime
    await after_handoff(db, conversation)
    return conversation


async def after_handoff(db: Database, conversation: Conversation) -> None:
    try:
        await summary.summarise(db, conversation=conversation)
    except Exception:
        log.exception("handoff summary failed for %s", conversation.id)
    await routing_queue.broadcast(db, conversation.site_id)


async def _typing(conversation_id: str, on: bool) -> None:
    await realtime.to_conversation(
        conversation_id,
        "typing",
        {"conversation_id": conversation_id, "typing": on, "sender": BOT_SENDER},
    )
