"""Reactions to stored messages that run after the sender has its ack (the bot's turn).

Hooks run as background tasks so a slow reaction never delays an acknowledgement; a
failing hook is logged and never affects the message, which is already committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relaydesk.conversations.models import Conversation
    from relaydesk.conversations.schemas import ConversationPublic
    from relaydesk.conversations.service import SendResult
    from relaydesk.core.db import Database

log = logging.getLogger(__name__)

# Hooks are handed the database the change was written to: they need no global to find it.
MessageHook = Callable[["Database", "SendResult"], Awaitable[None]]
MessageFilter = Callable[["SendResult"], bool]


@dataclass(frozen=True)
class _MessageHook:
    run: MessageHook
    wants: MessageFilter


_visitor_message_hooks: list[_MessageHook] = []


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


# At most this many hook runs at once per process; beyond it, work waits in `waiting`.
MAX_RUNNING = 64


@dataclass
class Runs:
    """The hook runs in flight on one event loop.

    `active`: conversations with a run in progress; `waiting`: the newest message waiting
    per conversation (insertion order is the order they are started in). A reaction only
    needs the newest message of a conversation (the bot answers the latest one and skips
    older triggers), so a waiting message is replaced by a newer one instead of queueing
    behind it: a burst of messages can neither start one task per message nor grow the
    backlog without bound."""

    loop: asyncio.AbstractEventLoop
    running: set[asyncio.Task[None]] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    waiting: dict[str, tuple[Database, SendResult]] = field(default_factory=dict)


_runs: Runs | None = None


def runs() -> Runs:
    """The current event loop's runs. Tasks belong to the loop that started them, so a new
    loop (a restarted server, each test) starts with none: runs left on a closed loop never
    finish and must not count against `MAX_RUNNING`."""
    global _runs
    loop = asyncio.get_running_loop()
    if _runs is None or _runs.loop is not loop:
        _runs = Runs(loop)
    return _runs


async def _guarded(db: Database, result: SendResult) -> None:
    for hook in list(_visitor_message_hooks):
        if not hook.wants(result):
            continue
        try:
            await hook.run(db, result)
        except Exception:
            log.exception("hook %s failed for message %s", hook.run, result.message.id)


def _start(here: Runs, db: Database, result: SendResult) -> None:
    conversation_id = result.conversation.id
    # The database is not disposed under a run it was handed: the run would open a fresh
    # connection on the disposed engine, which nothing closes (a test's loop then ends
    # with the run pending, and the orphaned aiosqlite thread fails on the closed loop).
    db.on_dispose(drain)
    here.active.add(conversation_id)
    task = asyncio.create_task(_guarded(db, result))
    here.running.add(task)
    task.add_done_callback(partial(_finished, here, conversation_id))


def _finished(here: Runs, conversation_id: str, task: asyncio.Task[None]) -> None:
    here.running.discard(task)
    here.active.discard(conversation_id)
    for waiting_id in list(here.waiting):
        if len(here.running) >= MAX_RUNNING:
            break
        if waiting_id not in here.active:
            _start(here, *here.waiting.pop(waiting_id))


def visitor_message_stored(db: Database, result: SendResult) -> None:
    if not any(hook.wants(result) for hook in _visitor_message_hooks):
        return
    here = runs()
    conversation_id = result.conversation.id
    if conversation_id in here.active or len(here.running) >= MAX_RUNNING:
        here.waiting.pop(conversation_id, None)  # re-insert: it now waits behind the others
        here.waiting[conversation_id] = (db, result)
        return
    _start(here, db, result)


async def drain() -> None:
    """Wait for running and waiting hooks (tests, and a graceful shutdown)."""
    here = runs()
    while here.running:
        await asyncio.gather(*list(here.running), return_exceptions=True)


# Reactions to a committed change of a conversation's status, owner or team (routing:
# auto-assignment, queue positions, dropping viewers who lost access). Awaited in order
# after the change is announced; a failing hook is logged and never undoes the change.


@dataclass(frozen=True)
class Before:
    """What the conversation was before the change; None where the writer does not know."""

    status: str | None
    assignee_id: int | None = None
    team_id: int | None = None


ChangeHook = Callable[["Database", "Conversation | ConversationPublic", Before], Awaitable[None]]
_change_hooks: list[ChangeHook] = []


def on_conversation_change(hook: ChangeHook) -> ChangeHook:
    if hook not in _change_hooks:
        _change_hooks.append(hook)
    return hook


async def conversation_changed(
    db: Database, conversation: Conversation | ConversationPublic, before: Before
) -> None:
    for hook in list(_change_hooks):
        try:
            await hook(db, conversation, before)
        except Exception:
            log.exception("change hook %s failed for conversation %s", hook, conversation.id)
