"""Factories for the objects most tests need."""

from __future__ import annotations

import itertools
from datetime import timedelta

import httpx
from sqlmodel import select

from relaydesk.accounts import service as accounts
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.service import Actor
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, StaffUser, Team
from relaydesk.core.security import CSRF_COOKIE, create_token
from relaydesk.sites import service as sites

_counter = itertools.count(1)
PASSWORD = "correct horse battery"


async def make_site(
    db: Database, *, name: str | None = None, origins: list[str] | None = None
) -> Site:
    return await sites.create_site(
        db, name=name or f"Site {next(_counter)}", allowed_origins=origins
    )


async def default_team(db: Database, site: Site) -> Team:
    async with db.read() as session:
        team = (
            (await session.execute(select(Team).where(Team.site_id == site.id))).scalars().first()
        )
    assert team is not None
    return team


async def make_conversation(db: Database, site: Site, *, text: str = "hello") -> Conversation:
    """A new visitor's conversation on `site`, opened with one visitor message."""
    assert site.id is not None
    visitor = await sites.create_visitor(db, site_id=site.id, locale="en")
    conversation, _ = await conversations.open_conversation(
        db, site_id=site.id, visitor_id=visitor.id
    )
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="v-1",
        text=text,
    )
    return conversation


async def route_manually(db: Database, site: Site) -> None:
    """Every team of the site routes by hand: queued conversations wait for an Accept
    instead of going straight to an online agent (teams default to auto-assignment)."""
    async with db.write() as session:
        teams = (await session.execute(select(Team).where(Team.site_id == site.id))).scalars()
        for team in teams:
            team.routing_mode = "manual"


async def make_staff(
    db: Database,
    *,
    roles: list[Role] | None = None,
    site: Site | None = None,
    teams: list[Team] | None = None,
    name: str | None = None,
) -> StaffUser:
    team_ids = [t.id for t in teams or [] if t.id is not None]
    if site is not None and not team_ids:
        team = await default_team(db, site)
        assert team.id is not None
        team_ids = [team.id]
    n = next(_counter)
    return await accounts.create_user(
        db,
        email=f"staff{n}@example.test",
        password=PASSWORD,
        roles=roles or [Role.AGENT],
        name=name or f"Agent {n}",
        team_ids=team_ids,
    )


def bearer_for(user: StaffUser, *, lifetime: timedelta = timedelta(hours=1)) -> str:
    return create_token(get_settings(), kind="access", subject=str(user.id), lifetime=lifetime)


async def form_login(client: httpx.AsyncClient, email: str) -> httpx.Response:
    """Sign `email` in through the real login form (its CSRF cookie first), as a browser."""
    await client.get("/login")
    return await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]},
    )
