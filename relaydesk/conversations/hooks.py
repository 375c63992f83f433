"""Reactions to stored messages that run after the sender has its ack (the bot's turn).

Hooks run as background tasks so a slow reaction never delays an acknowledgement; a
failing hook is logged and never affects the message, which is already committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relaydesk.conversations.schemas import ConversationPublic
    from relaydesk.conversations.service import SendResult
    from relaydesk.core.models import Conversation

log = logging.getLogger(__name__)

MessageHook = Callable[["SendResult"], Awaitable[None]]
MessageFilter = Callable[["SendResult"], bool]


@dataclass(frozen=True)
class _MessageHook:
    run: MessageHook
    wants: MessageFilter


_visitor_message_hooks: list[_MessageHook] = []
_running: set[asyncio.Task[None]] = set()


def _every_message(_: SendResult) -> bool:
    return True


def on_visitor_message(hook: MessageHook, wants: MessageFilter = _every_message) -> MessageHook:
    """Register `hook` to run after each new (non-duplicate) visitor message that
    `wants(result)` accepts. A message no hook wants starts no task: checked first, most
    messages (those of conversations a human handles, for the bot) cost nothing here."""
    if all(registered.run is not hook for registered in _visitor_message_hooks):
        _visitor_message_hooks.append(_MessageHook(hook, wants))
    return hook


def clear_hooks() -> None:
    _visitor_message_hooks.clear()
    forget_runs()


def forget_runs() -> None:
    """Forget the work in flight (tests: each runs on a fresh event loop, and runs left
    from a closed loop never finish, so they would count against `MAX_RUNNING` for good)."""
    _waiting.clear()
    _active.clear()
    _running.clear()


# At most this many hook runs at once per process; beyond it, work waits in `_waiting`.
MAX_RUNNING = 64
# Conversations with a hook run in progress, and the newest message waiting per
# conversation (insertion order is the order they are started in). A reaction only needs
# the newest message of a conversation (the bot answers the latest one and skips older
# triggers), so a waiting message is replaced by a newer one instead of queueing behind it:
# a burst of messages can neither start one task per message nor grow the backlog without
# bound.
_active: set[str] = set()
_waiting: dict[str, SendResult] = {}


async def _guarded(result: SendResult) -> None:
    for hook in list(_visitor_message_hooks):
        if not hook.wants(result):
            continue
        try:
            await hook.run(result)
        except Exception:
            log.exception("hook %s failed for message %s", hook.run, result.message.id)


def _start(result: SendResult) -> None:
    conversation_id = result.conversation.id
    _active.add(conversation_id)
    task = asyncio.create_task(_guarded(result))
    _running.add(task)
    task.add_done_callback(partial(_finished, conversation_id))


def _finished(conversation_id: str, task: asyncio.Task[None]) -> None:
    _running.discard(task)
    _active.discard(conversation_id)
    for waiting_id in list(_waiting):
        if len(_running) >= MAX_RUNNING:
            break
        if waiting_id not in _active:
            _start(_waiting.pop(waiting_id))


def visitor_message_stored(result: SendResult) -> None:
    if not any(hook.wants(result) for hook in _visitor_message_hooks):
        return
    conversation_id = result.conversation.id
    if conversation_id in _active or len(_running) >= MAX_RUNNING:
        _waiting.pop(conversation_id, None)  # re-insert: it now waits behind the others
        _waiting[conversation_id] = result
        return
    _start(result)


async def drain() -> None:
    """Wait for running and waiting hooks (tests, and a graceful shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)


# Reactions to a committed change of a conversation's status, owner or team (routing:
# auto-assignment, queue positions, dropping viewers who lost access). Awaited in order
# after the change is announced; a failing hook is logged and never undoes the change.


@dataclass(frozen=True)
class Before:
    """What the conversation was before the change; None where the writer does not know."""

    status: str | None
    assignee_id: int | None = None
    team_id: int | None = None


ChangeHook = Callable[["Conversation | ConversationPublic", Before], Awaitable[None]]
_change_hooks: list[ChangeHook] = []


def on_conversation_change(hook: ChangeHook) -> ChangeHook:
    if hook not in _change_hooks:
        _change_hooks.append(hook)
    return hook


async def conversation_changed(
    conversation: Conversation | ConversationPublic, before: Before
) -> None:
    for hook in list(_change_hooks):
        try:
            await hook(conversation, before)
        except Exception:
            log.exception("change hook %s failed for conversation %s", hook, conversation.id)
