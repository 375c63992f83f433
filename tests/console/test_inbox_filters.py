"""Inbox filters (team, status, handoff reason) and full-text search, on the list, the
counts and the details row (visitor page, earlier conversations)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.collab import service as collab
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.policy import load_scope
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, StaffUser, Team, utcnow
from relaydesk.widget import page
from tests.factories import bearer_for, default_team, make_conversation, make_site, make_staff

VIEWS = ("queue", "mine", "team", "all", "resolved")


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class World:
    site: Site
    team_a: Team
    team_b: Team
    foreign_team: Team
    agent: StaffUser
    agent2: StaffUser
    supervisor: StaffUser
    admin: StaffUser
    refund_zh: Conversation  # queued, team A, visitor_asked
    symbols: Conversation  # queued, team A, keyword:refund
    hello: Conversation  # bot, no team, with a private note
    mine: Conversation  # assigned to agent
    team_b_order: Conversation  # queued, team B: the agent may not see it
    foreign_order: Conversation  # another site
    theirs_order: Conversation  # assigned to agent2
    resolved_order: Conversation  # resolved by agent


async def _team(db: Database, site: Site, name: str) -> Team:
    async with db.write() as session:
        team = Team(site_id=site.id, name=name)
        session.add(team)
    return team


async def _queued(db: Database, conversation: Conversation, reason: str, team: Team) -> None:
    await transitions.request_handoff(
        db,
        conversation_id=conversation.id,
        actor=Actor.visitor(conversation.visitor_id),
        reason=reason,
        team_id=team.id,
    )


@pytest.fixture
async def world(db: Database) -> World:
    site = await make_site(db)
    other = await make_site(db)
    team_a = await default_team(db, site)
    team_b = await _team(db, site, "Billing")
    foreign_team = await default_team(db, other)
    agent = await make_staff(db, site=site)
    agent2 = await make_staff(db, site=site)
    supervisor = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    admin = await make_staff(db, roles=[Role.ADMIN])

    refund_zh = await make_conversation(db, site, text="请问退货政策是什么？")
    await _queued(db, refund_zh, "visitor_asked", team_a)
    symbols = await make_conversation(db, site, text=r"Discount 100% off_today in C:\temp")
    await _queued(db, symbols, "keyword:refund", team_a)
    hello = await make_conversation(db, site, text="Hello there")
    await collab.add_note(
        db,
        scope=await load_scope(db, supervisor),
        conversation_id=hello.id,
        client_id="n-1",
        text="VIP customer, be nice",
    )
    mine = await make_conversation(db, site, text="Where is my ORDER 42?")
    await transitions.accept(db, conversation_id=mine.id, agent=agent)
    team_b_order = await make_conversation(db, site, text="order for billing")
    await _queued(db, team_b_order, "low_confidence", team_b)
    foreign_order = await make_conversation(db, other, text="order on another site")
    theirs_order = await make_conversation(db, site, text="my order is late")
    await transitions.accept(db, conversation_id=theirs_order.id, agent=agent2)
    resolved_order = await make_conversation(db, site, text="order arrived, thanks")
    await transitions.accept(db, conversation_id=resolved_order.id, agent=agent)
    await transitions.resolve(db, conversation_id=resolved_order.id, actor=Actor.staff(agent))
    return World(
        site, team_a, team_b, foreign_team, agent, agent2, supervisor, admin,
        refund_zh, symbols, hello, mine, team_b_order, foreign_order, theirs_order,
        resolved_order,
    )  # fmt: skip


async def _get(
    client: httpx.AsyncClient, user: StaffUser, path: str, **params: Any
) -> httpx.Response:
    return await client.get(
        path, params=params, headers={"Authorization": f"Bearer {bearer_for(user)}"}
    )


async def _ids(client: httpx.AsyncClient, user: StaffUser, **params: Any) -> set[str]:
    response = await _get(client, user, "/api/v1/conversations", **params)
    assert response.status_code == 200, response.text
    return {row["id"] for row in response.json()["items"]}


async def _counts(client: httpx.AsyncClient, user: StaffUser, **params: Any) -> dict[str, Any]:
    response = await _get(client, user, "/api/v1/conversations/counts", **params)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.postgres
async def test_search_matches_any_message_case_insensitively(
    db: Database, client: httpx.AsyncClient, world: World
) -> None:
    w = world
    assert await _ids(client, w.agent, view="queue", q="退货") == {w.refund_zh.id}
    assert await _ids(client, w.agent, view="queue", q="HELLO") == {w.hello.id}
    assert await _ids(client, w.agent, view="mine", q="order 4") == {w.mine.id}
    # A private note matches too (staff only, like the inbox itself).
    assert await _ids(client, w.agent, view="queue", q="vip") == {w.hello.id}
    # Only a whole substring matches, not its words apart.
    assert await _ids(client, w.agent, view="queue", q="hello nobody") == set()
    # Blank text is no filter at all.
    assert await _ids(client, w.agent, view="queue", q="   ") == await _ids(
        client, w.agent, view="queue"
    )
    # Later messages are searched too, not only the first.
    await conversations.send_message(
        db,
        conversation_id=w.hello.id,
        sender=Actor.visitor(w.hello.visitor_id),
        client_id="v-2",
        text="second line about 发票",
    )
    assert await _ids(client, w.agent, view="queue", q="发票") == {w.hello.id}


@pytest.mark.postgres
async def test_like_wildcards_are_literal(client: httpx.AsyncClient, world: World) -> None:
    w = world
    live = await _ids(client, w.agent, view="queue")
    assert len(live) == 3
    # Search matches words through the blind index (core/blind_index.py): symbols are not
    # words, so a query of symbols alone matches nothing, and never everything.
    for text in ("%", "_", "\\"):
        assert await _ids(client, w.agent, view="queue", q=text) == set(), text
    for text in ("100%", "off_today", "C:\\temp", "% off"):
        assert await _ids(client, w.agent, view="queue", q=text) == {w.symbols.id}, text
    assert await _ids(client, w.agent, view="queue", q="100_") == set()
    assert await _ids(client, w.agent, view="queue", q="off%today") == set()


@pytest.mark.postgres
async def test_matching_conversations_the_caller_may_not_view_never_appear(
    client: httpx.AsyncClient, world: World
) -> None:
    w = world
    found = set()
    for view in ("queue", "mine", "team", "resolved"):
        found |= await _ids(client, w.agent, view=view, q="order")
    assert found == {w.mine.id, w.resolved_order.id}
    counts = await _counts(client, w.agent, q="order")
    assert counts == {"queue": 0, "mine": 1, "team": 0, "all": None, "resolved": 1}
    # The supervisor sees the team's conversations, never team B's or another site's.
    assert await _ids(client, w.supervisor, view="all", q="order") == {
        w.mine.id,
        w.theirs_order.id,
    }
    # The admin sees everything that matches.
    assert await _ids(client, w.admin, view="all", q="order") == {
        w.mine.id,
        w.theirs_order.id,
        w.team_b_order.id,
        w.foreign_order.id,
    }


@pytest.mark.postgres
async def test_status_team_and_reason_filters(client: httpx.AsyncClient, world: World) -> None:
    w = world
    queued = {w.refund_zh.id, w.symbols.id}
    assert await _ids(client, w.supervisor, view="all", status="queued") == queued
    assert await _ids(client, w.admin, view="all", status="queued") == queued | {w.team_b_order.id}
    assert await _ids(client, w.admin, view="all", status="bot", site=w.site.id) == {w.hello.id}
    assert await _ids(client, w.admin, view="resolved", status="resolved") == {w.resolved_order.id}
    assert await _ids(client, w.admin, view="queue", status="assigned") == set()

    assert await _ids(client, w.admin, view="all", team=w.team_b.id) == {w.team_b_order.id}
    assert await _ids(client, w.admin, view="all", team=w.team_a.id) == queued
    # A team of the caller's site that is not theirs: allowed, but they see none of it.
    assert await _ids(client, w.supervisor, view="all", team=w.team_b.id) == set()

    assert await _ids(client, w.admin, view="queue", reason="visitor_asked") == {w.refund_zh.id}
    assert await _ids(client, w.admin, view="queue", reason="keyword") == {w.symbols.id}
    assert await _ids(client, w.admin, view="queue", reason="keyword:refund") == {w.symbols.id}
    assert await _ids(client, w.admin, view="queue", reason="keyword:ref") == set()
    assert await _ids(client, w.admin, view="queue", reason="low") == set()
    assert await _ids(client, w.admin, view="queue", reason="low_confidence") == {w.team_b_order.id}


@pytest.mark.postgres
async def test_filters_combine(client: httpx.AsyncClient, world: World) -> None:
    w = world
    both = {"view": "all", "status": "queued", "team": w.team_a.id}
    assert await _ids(client, w.admin, **both, reason="visitor_asked", q="退货") == {w.refund_zh.id}
    assert await _ids(client, w.admin, **both, reason="visitor_asked", q="100%") == set()
    assert await _ids(client, w.admin, **both, reason="keyword", site=w.site.id) == {w.symbols.id}
    # Counts follow the same filters, view by view.
    counts = await _counts(client, w.admin, status="queued", team=w.team_a.id, q="退货")
    assert counts == {"queue": 1, "mine": 0, "team": 0, "all": 1, "resolved": 0}
    counts = await _counts(client, w.admin, status="queued")
    assert counts == {"queue": 3, "mine": 0, "team": 0, "all": 3, "resolved": 0}


async def test_counts_agree_with_the_lists(client: httpx.AsyncClient, world: World) -> None:
    w = world
    for user in (w.agent, w.supervisor, w.admin):
        for params in ({}, {"q": "order"}, {"status": "queued"}, {"reason": "keyword"}):
            counts = await _counts(client, user, **params)
            for view in VIEWS:
                if counts[view] is None:
                    continue
                ids = await _ids(client, user, view=view, limit=100, **params)
                assert counts[view] == len(ids), (user.name, params, view)


async def test_teams_and_sites_the_caller_may_not_see_are_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    w = world
    for path in ("/api/v1/conversations", "/api/v1/conversations/counts"):
        for params in ({"team": w.foreign_team.id}, {"team": 987654}):
            response = await _get(client, w.agent, path, **params)
            assert response.status_code == 404, response.text
            assert response.json()["error"]["code"] == "team_not_found"
        # The admin may filter by any existing team.
        assert (await _get(client, w.admin, path, team=w.foreign_team.id)).status_code == 200


async def test_bad_filter_values_are_refused(client: httpx.AsyncClient, world: World) -> None:
    for path in ("/api/v1/conversations", "/api/v1/conversations/counts"):
        for params in (
            {"q": "x" * 201},
            {"status": "waiting"},
            {"team": "billing"},
            {"team": 0},
            {"reason": ""},
            {"reason": "x" * 65},
            {"reason": "bad\x01code"},
            {"label": "vip"},
        ):
            response = await _get(client, world.agent, path, **params)
            assert response.status_code == 422, (path, params, response.text)
            error = response.json()["error"]
            assert error["code"] == "invalid_payload" and error["details"]["errors"], params
    # 200 characters is the limit, not an error.
    assert (
        await _get(client, world.agent, "/api/v1/conversations", q="x" * 200)
    ).status_code == 200


async def _started(
    db: Database, site: Site, visitor_id: str, *, minutes_ago: int, text: str
) -> Conversation:
    async with db.write() as session:
        conversation = Conversation(
            site_id=site.id,
            visitor_id=visitor_id,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        session.add(conversation)
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor_id),
        client_id="v-1",
        text=text,
    )
    return conversation


async def _resolved_by(db: Database, conversation: Conversation, agent: StaffUser) -> None:
    await transitions.accept(db, conversation_id=conversation.id, agent=agent)
    await transitions.resolve(db, conversation_id=conversation.id, actor=Actor.staff(agent))


@pytest.mark.postgres
async def test_details_list_earlier_conversations_the_caller_may_view(
    db: Database, client: httpx.AsyncClient, world: World
) -> None:
    w = world
    visitor = w.refund_zh.visitor_id
    old_mine = await _started(db, w.site, visitor, minutes_ago=60, text="where is my parcel")
    await _resolved_by(db, old_mine, w.agent)
    old_theirs = await _started(db, w.site, visitor, minutes_ago=120, text="invoice please")
    await _resolved_by(db, old_theirs, w.agent2)
    await page.record_page(
        db,
        site_id=w.site.id or 0,
        visitor_id=visitor,
        payload=page.VisitorPage(url="https://shop.example/cart?x=1", title="Cart · Shop"),
    )

    path = f"/api/v1/conversations/{w.refund_zh.id}"
    row = (await _get(client, w.agent, path)).json()
    assert row["visitor"]["last_page_url"] == "https://shop.example/cart?x=1"
    assert row["visitor"]["last_page_title"] == "Cart · Shop"
    # The agent sees their own resolved conversation, not agent 2's.
    assert [(e["id"], e["status"]) for e in row["earlier"]] == [(old_mine.id, "resolved")]
    assert row["earlier"][0]["last_message"] == "where is my parcel"
    supervised = (await _get(client, w.supervisor, path)).json()["earlier"]
    assert [e["id"] for e in supervised] == [old_mine.id, old_theirs.id]
    # Opening the older one lists only what came before it; the inbox list has no `earlier`.
    older = (await _get(client, w.admin, f"/api/v1/conversations/{old_mine.id}")).json()
    assert [e["id"] for e in older["earlier"]] == [old_theirs.id]
    listed = (await _get(client, w.admin, "/api/v1/conversations", view="queue")).json()
    assert all(item["earlier"] is None for item in listed["items"])

    for n in range(10):
        await _started(db, w.site, visitor, minutes_ago=200 + n, text=f"old {n}")
    earlier = (await _get(client, w.admin, path)).json()["earlier"]
    assert len(earlier) == 10
    assert [e["id"] for e in earlier[:2]] == [old_mine.id, old_theirs.id]
