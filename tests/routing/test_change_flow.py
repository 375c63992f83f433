"""Changes flow one way: a conversation change runs routing's hook, which may start an
auto-assignment pass, and the pass announces its own assignments without running the change
hooks again (no re-entry, nothing to guard with a flag). Dropping sockets that lost access
reads only the users the change can have taken the conversation from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from relaydesk.conversations import hooks, transitions
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.schemas import ConversationPublic
from relaydesk.conversations.service import Actor, describe
from relaydesk.core.db import Database
from relaydesk.routing import access, presence
from tests.factories import make_site
from tests.routing.conftest import add_team, agent, queued


async def test_a_pass_runs_no_change_hooks(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    site = await make_site(db)
    team = await add_team(db, site, "Support")
    ann = await agent(db, site, [team])
    seen: list[tuple[str, str | None]] = []

    async def spy(
        _: Database, conversation: Conversation | ConversationPublic, before: hooks.Before
    ) -> None:
        seen.append((conversation.status, before.status))

    monkeypatch.setattr(hooks, "_change_hooks", [*hooks._change_hooks, spy])
    conversation = await queued(db, site, team)
    async with db.read() as session:
        row = await session.get(Conversation, conversation.id)
    assert row is not None
    # The handoff ran the hooks once; routing's hook assigned it to Ann without a second run.
    assert row.status == ConversationStatus.ASSIGNED and row.assignee_id == ann.id
    assert seen == [(ConversationStatus.QUEUED, ConversationStatus.BOT)]


class _NoUsersRead:
    async def users(self) -> dict[int, list[str]]:
        raise AssertionError("this change cannot take access from anyone: nothing to read")


async def test_changes_that_take_access_from_nobody_read_nothing(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = await make_site(db)
    team = await add_team(db, site, "Support", mode="manual")
    ann = await agent(db, site, [team])
    conversation = await queued(db, site, team)  # bot -> queued, same team
    await transitions.accept(db, conversation_id=conversation.id, agent=ann)
    monkeypatch.setattr(presence, "tracker", lambda: _NoUsersRead())
    resolved = await transitions.resolve(
        db, conversation_id=conversation.id, actor=Actor.staff(ann)
    )
    assert resolved.status == ConversationStatus.RESOLVED
    before = hooks.Before(status=ConversationStatus.ASSIGNED, assignee_id=ann.id, team_id=team.id)
    assert await access.revoke_lost_access(db, resolved, before) == 0


def _view(status: str, assignee_id: int | None = None, team_id: int | None = None) -> Conversation:
    return Conversation(
        id="c", site_id=1, visitor_id="v", status=status, assignee_id=assignee_id, team_id=team_id
    )


@pytest.mark.parametrize(
    ("after", "before", "who"),
    [
        # Unknown before (a message changed the status): everyone is checked.
        (_view("assigned", 7), hooks.Before(status=None), "anyone"),
        # Accepted from the queue: its viewers may lose it.
        (_view("assigned", 7, 1), hooks.Before("queued", None, 1), "anyone"),
        # Into a team's queue: those outside the team may lose it.
        (_view("queued", None, 2), hooks.Before("assigned", 7, 1), "anyone"),
        # Transferred between agents: only the one it was taken from.
        (_view("assigned", 8, 1), hooks.Before("assigned", 7, 1), {7}),
        # Handed back to the bot: the former owner (who may not be in its team).
        (_view("bot", None, None), hooks.Before("assigned", 7, None), {7}),
        # Handoff, resolve: nobody.
        (_view("queued", None, None), hooks.Before("bot", None, None), set()),
        (_view("resolved", 7, 1), hooks.Before("assigned", 7, 1), set()),
    ],
)
def test_who_may_lose_access(
    after: Conversation, before: hooks.Before, who: set[int] | str
) -> None:
    assert access._who_may_lose(after, before) == who


class _NoReads(Database):
    def __init__(self) -> None:
        pass

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        raise AssertionError("the assignee was given: nothing to read")
        yield


async def test_announcing_a_new_owner_does_not_read_them_again(db: Database) -> None:
    site = await make_site(db)
    ann = await agent(db, site, status=None, name="Ann")
    public = await describe(_NoReads(), _view("assigned", ann.id), assignee=ann)
    assert public.assignee is not None and public.assignee.name == "Ann"
