"""The inbox endpoint (`GET /api/v1/conversations`) and the console pages, by role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, StaffUser
from relaydesk.core.security import CSRF_COOKIE, CSRF_HEADER
from tests.factories import PASSWORD, bearer_for, make_conversation, make_site, make_staff


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class World:
    site: Site
    other_site: Site
    agent: StaffUser
    agent2: StaffUser
    supervisor: StaffUser
    admin: StaffUser
    editor: StaffUser
    bot: Conversation
    queued: Conversation
    mine: Conversation
    theirs: Conversation
    resolved_mine: Conversation
    foreign: Conversation


@pytest.fixture
async def world(db: Database) -> World:
    site = await make_site(db)
    other = await make_site(db)
    agent = await make_staff(db, site=site)
    agent2 = await make_staff(db, site=site)
    supervisor = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    admin = await make_staff(db, roles=[Role.ADMIN])
    editor = await make_staff(db, site=site, roles=[Role.EDITOR])
    bot = await make_conversation(db, site, text="still with the bot")
    queued = await make_conversation(db, site, text="I want a human")
    await transitions.request_handoff(
        db, conversation_id=queued.id, actor=Actor.visitor(queued.visitor_id), reason="visitor"
    )
    mine = await make_conversation(db, site)
    await transitions.accept(db, conversation_id=mine.id, agent=agent)
    theirs = await make_conversation(db, site, text="secret of agent 2")
    await transitions.accept(db, conversation_id=theirs.id, agent=agent2)
    resolved = await make_conversation(db, site)
    await transitions.accept(db, conversation_id=resolved.id, agent=agent)
    await transitions.resolve(db, conversation_id=resolved.id, actor=Actor.staff(agent))
    foreign = await make_conversation(db, other)
    return World(
        site, other, agent, agent2, supervisor, admin, editor,
        bot, queued, mine, theirs, resolved, foreign,
    )  # fmt: skip


async def _ids(client: httpx.AsyncClient, user: StaffUser, **params: object) -> set[str]:
    response = await client.get(
        "/api/v1/conversations",
        params=params,
        headers={"Authorization": f"Bearer {bearer_for(user)}"},
    )
    assert response.status_code == 200, response.text
    return {row["id"] for row in response.json()["items"]}


async def test_role_by_view_matrix(client: httpx.AsyncClient, world: World) -> None:
    w = world
    live = {w.bot.id, w.queued.id}
    assert await _ids(client, w.agent, view="queue") == live
    assert await _ids(client, w.agent, view="mine") == {w.mine.id}
    assert await _ids(client, w.agent, view="resolved") == {w.resolved_mine.id}
    assert await _ids(client, w.agent2, view="mine") == {w.theirs.id}
    assert await _ids(client, w.agent2, view="resolved") == set()
    # Supervisors see their sites' conversations, whoever owns them; never another site's.
    assert await _ids(client, w.supervisor, view="all") == live | {w.mine.id, w.theirs.id}
    assert await _ids(client, w.supervisor, view="resolved") == {w.resolved_mine.id}
    assert await _ids(client, w.supervisor, view="queue") == live
    assert await _ids(client, w.admin, view="queue") == live | {w.foreign.id}
    assert await _ids(client, w.admin, view="all") == live | {
        w.mine.id,
        w.theirs.id,
        w.foreign.id,
    }
    assert await _ids(client, w.admin, view="all", site=w.site.id) == live | {
        w.mine.id,
        w.theirs.id,
    }


async def test_rows_carry_what_the_inbox_shows(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        "/api/v1/conversations",
        params={"view": "queue"},
        headers={"Authorization": f"Bearer {bearer_for(world.agent)}"},
    )
    rows = {r["id"]: r for r in response.json()["items"]}
    queued = rows[world.queued.id]
    assert queued["status"] == "queued" and queued["queued_at"]
    assert queued["last_message"] == "I want a human" and queued["last_sender"] == "visitor"
    assert queued["unread"] == 1 and queued["visitor"]["id"] == world.queued.visitor_id


async def test_agents_never_see_others_conversations(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = {"Authorization": f"Bearer {bearer_for(world.agent)}"}
    denied = await client.get("/api/v1/conversations", params={"view": "all"}, headers=headers)
    assert denied.status_code == 403
    for conversation in (world.theirs, world.foreign):
        one = await client.get(f"/api/v1/conversations/{conversation.id}", headers=headers)
        assert one.status_code == 404
        assert one.json()["error"]["code"] == "conversation_not_found"
    assert (
        await client.get(f"/api/v1/conversations/{world.mine.id}", headers=headers)
    ).status_code == 200


async def test_cross_site_denied(client: httpx.AsyncClient, world: World) -> None:
    for user in (world.agent, world.supervisor):
        response = await client.get(
            "/api/v1/conversations",
            params={"view": "queue", "site": world.other_site.id},
            headers={"Authorization": f"Bearer {bearer_for(user)}"},
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "site_not_found"


async def test_editors_have_no_inbox_and_strangers_none_at_all(
    client: httpx.AsyncClient, world: World
) -> None:
    editor = {"Authorization": f"Bearer {bearer_for(world.editor)}"}
    assert (await client.get("/api/v1/conversations", headers=editor)).status_code == 403
    assert (await client.get("/api/v1/conversations")).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"view": "everything"},
        {"limit": 0},
        {"limit": 101},
        {"cursor": "not a cursor!"},
        {"cursor": "bm9waXBl"},
        {"site": "x"},
    ],
)
async def test_bad_params(
    client: httpx.AsyncClient, world: World, params: dict[str, object]
) -> None:
    response = await client.get(
        "/api/v1/conversations",
        params=params,
        headers={"Authorization": f"Bearer {bearer_for(world.admin)}"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] in {"invalid_payload", "invalid_cursor"}


async def test_cursor_pagination_walks_every_row_once(
    db: Database, client: httpx.AsyncClient, world: World
) -> None:
    for n in range(5):
        await make_conversation(db, world.site, text=f"more {n}")
    headers = {"Authorization": f"Bearer {bearer_for(world.supervisor)}"}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"view": "queue", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/conversations", params=params, headers=headers)).json()
        assert len(page["items"]) <= 2
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7


async def _sign_in(client: httpx.AsyncClient, user: StaffUser) -> None:
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]},
    )
    assert response.status_code == 303


async def test_console_page_by_role(client: httpx.AsyncClient, world: World) -> None:
    anonymous = await client.get("/console")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    for user, inbox in ((world.agent, True), (world.editor, False), (world.admin, True)):
        client.cookies.clear()
        await _sign_in(client, user)
        page = await client.get("/console")
        assert page.status_code == 200
        assert user.name in page.text
        assert ('href="#/inbox/queue"' in page.text) is inbox
        assert 'href="#/kb"' in page.text
        bundle = page.text.split('<script src="')[1].split('"')[0]
        asset = await client.get(bundle)
        assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    zh = await client.get("/console?lang=zh")
    assert "收件箱" in zh.text or "知识库" in zh.text
    assert (await client.get("/console/static/../pages.py")).status_code == 404


async def test_cookie_writes_need_the_csrf_header(client: httpx.AsyncClient, world: World) -> None:
    await _sign_in(client, world.editor)
    await client.get("/console")
    article = {"site_id": world.site.id, "title": "Returns", "body": "30 days."}
    forged = await client.post("/api/v1/knowledge/articles", json=article)
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(
        "/api/v1/knowledge/articles", json=article, headers={CSRF_HEADER: "nope"}
    )
    assert wrong.status_code == 403
    good = await client.post(
        "/api/v1/knowledge/articles",
        json=article,
        headers={CSRF_HEADER: client.cookies[CSRF_COOKIE]},
    )
    assert good.status_code == 201
    # Reads need no header; bearer-token clients are not affected.
    assert (await client.get("/api/v1/knowledge/articles")).status_code == 200
