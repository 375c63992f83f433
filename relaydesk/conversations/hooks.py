"""Reactions to stored messages that run after the sender has its ack (the bot's turn).

Hooks run as background tasks so a slow reaction never delays an acknowledgement; a
failing hook is logged and never affects the message, which is already committed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from relaydesk.conversations.service import SendResult

log = logging.getLogger(__name__)

MessageHook = Callable[["SendResult"], Awaitable[None]]
_visitor_message_hooks: list[MessageHook] = []
_running: set[asyncio.Task[None]] = set()


def on_visitor_message(hook: MessageHook) -> MessageHook:
    """Register `hook` to run after each new (non-duplicate) visitor message."""
    if hook not in _visitor_message_hooks:
        _visitor_message_hooks.append(hook)
    return hook


def clear_hooks() -> None:
    _visitor_message_hooks.clear()


async def _guarded(hook: MessageHook, result: SendResult) -> None:
    try:
        await hook(result)
    except Exception:
        log.exception("hook %s failed for message %s", hook, result.message.id)


def visitor_message_stored(result: SendResult) -> None:
    for hook in _visitor_message_hooks:
        task = asyncio.create_task(_guarded(hook, result))
        _running.add(task)
        task.add_done_callback(_running.discard)


async def drain() -> None:
    """Wait for running hooks (tests, and a graceful shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
