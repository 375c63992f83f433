"""Routing fixtures: routing's change hook installed (as `create_app` does), and helpers
to make queued conversations and agents with a given presence."""

from __future__ import annotations

import itertools

import pytest
from sqlmodel import select

from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.service import BOT
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, StaffUser, Team
from relaydesk.routing import presence
from relaydesk.routing import service as routing
from tests.factories import make_conversation, make_staff

_sids = itertools.count(1)


@pytest.fixture(autouse=True)
def routing_installed() -> None:
    # Each test's event loop gets its own connection tracker: nothing to reset.
    routing.install()


async def add_team(db: Database, site: Site, name: str, *, mode: str = "auto") -> Team:
    assert site.id is not None
    team = Team(site_id=site.id, name=name, routing_mode=mode)
    async with db.write() as session:
        session.add(team)
    return team


async def set_mode(db: Database, team: Team, mode: str) -> None:
    async with db.write() as session:
        row = await session.get(Team, team.id)
        assert row is not None
        row.routing_mode = mode


async def agent(
    db: Database,
    site: Site,
    teams: list[Team] | None = None,
    *,
    capacity: int = 5,
    status: str | None = "online",
    roles: list[Role] | None = None,
    name: str | None = None,
) -> StaffUser:
    """A staff user; with `status`, connected through one (fake) console tab and set to it."""
    user = await make_staff(db, site=site, teams=teams, roles=roles or [Role.AGENT], name=name)
    async with db.write() as session:
        row = await session.get(StaffUser, user.id)
        assert row is not None
        row.capacity = capacity
    user.capacity = capacity
    if status is not None:
        assert user.id is not None
        await presence.connected(db, user_id=user.id, sid=f"tab-{next(_sids)}")
        await presence.set_presence(db, user_id=user.id, status=status)
    return user


async def new_conversation(db: Database, site: Site) -> Conversation:
    """A visitor's conversation with its first message: an empty one is in no inbox."""
    return await make_conversation(db, site)


async def queued(db: Database, site: Site, team: Team | None = None) -> Conversation:
    conversation = await new_conversation(db, site)
    return await transitions.request_handoff(
        db,
        conversation_id=conversation.id,
        actor=BOT,
        reason="visitor_request",
        team_id=team.id if team is not None else None,
    )


async def fetch_all(db: Database, site: Site) -> list[Conversation]:
    async with db.read() as session:
        rows = await session.execute(select(Conversation).where(Conversation.site_id == site.id))
        return list(rows.scalars())
