"""Visitor-message hooks are bounded: one run per conversation at a time (later messages
coalesce to the newest) and at most `MAX_RUNNING` runs per process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import cast

import pytest

from relaydesk.conversations import hooks
from relaydesk.conversations.models import SenderKind
from relaydesk.conversations.schemas import ConversationPublic, MessagePublic, SenderPublic
from relaydesk.conversations.service import SendResult
from relaydesk.core.db import Database
from relaydesk.core.models import utcnow


class _UntouchedDatabase:
    """The hooks here never touch the database they are handed; the hook runner only asks
    it to wait for the runs before it is disposed."""

    def on_dispose(self, callback: object) -> None:
        pass


DB = cast(Database, _UntouchedDatabase())


def _result(conversation_id: str, seq: int, status: str = "bot") -> SendResult:
    conversation = ConversationPublic.model_validate(
        {
            "id": conversation_id,
            "site_id": 1,
            "visitor_id": "v",
            "status": status,
            "assignee_id": None,
            "team_id": None,
            "handoff_reason": None,
            "last_seq": seq,
            "created_at": utcnow(),
            "updated_at": utcnow(),
        }
    )
    message = MessagePublic(
        id=f"{conversation_id}-{seq}",
        conversation_id=conversation_id,
        seq=seq,
        client_id=f"c{seq}",
        sender=SenderPublic(kind=SenderKind.VISITOR, id="v", name=None),
        text="hi",
        payload={},
        created_at=utcnow(),
    )
    return SendResult(message=message, conversation=conversation, created=True)


@pytest.fixture
def recorded() -> Iterator[tuple[list[tuple[str, int]], asyncio.Event, list[int]]]:
    seen: list[tuple[str, int]] = []
    release = asyncio.Event()
    concurrency = [0, 0]  # now, peak

    async def hook(_: Database, result: SendResult) -> None:
        concurrency[0] += 1
        concurrency[1] = max(concurrency[1], concurrency[0])
        seen.append((result.conversation.id, result.message.seq))
        await release.wait()
        concurrency[0] -= 1

    hooks.clear_hooks()
    hooks.on_visitor_message(hook)
    yield seen, release, concurrency
    hooks.clear_hooks()


async def test_a_burst_in_one_conversation_runs_the_first_then_the_newest(
    recorded: tuple[list[tuple[str, int]], asyncio.Event, list[int]],
) -> None:
    seen, release, _ = recorded
    for seq in range(1, 6):
        hooks.visitor_message_stored(DB, _result("c1", seq))
    await asyncio.sleep(0)
    assert seen == [("c1", 1)]
    release.set()
    await hooks.drain()
    assert seen == [("c1", 1), ("c1", 5)]


async def test_runs_are_capped_per_process(
    recorded: tuple[list[tuple[str, int]], asyncio.Event, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen, release, concurrency = recorded
    monkeypatch.setattr(hooks, "MAX_RUNNING", 2)
    for n in range(6):
        hooks.visitor_message_stored(DB, _result(f"c{n}", 1))
    await asyncio.sleep(0.01)
    assert len(seen) == 2
    release.set()
    await hooks.drain()
    assert concurrency[1] == 2
    assert sorted(seen) == [(f"c{n}", 1) for n in range(6)]


async def test_a_message_no_hook_wants_starts_no_task() -> None:
    seen: list[int] = []

    async def hook(_: Database, result: SendResult) -> None:
        seen.append(result.message.seq)

    async def every(_: Database, result: SendResult) -> None:
        seen.append(-result.message.seq)

    hooks.clear_hooks()
    try:
        hooks.on_visitor_message(hook, wants=lambda r: r.conversation.status == "bot")
        hooks.visitor_message_stored(DB, _result("c1", 1, status="assigned"))
        assert not hooks.runs().running and not hooks.runs().waiting
        hooks.visitor_message_stored(DB, _result("c1", 2))
        await hooks.drain()
        assert seen == [2]
        # Another hook that wants everything: each runs only for what it wants.
        hooks.on_visitor_message(every)
        hooks.visitor_message_stored(DB, _result("c1", 3, status="assigned"))
        await hooks.drain()
        assert seen == [2, -3]
    finally:
        hooks.clear_hooks()
