"""Two app processes behind one PostgreSQL and one Redis: a visitor on node A and an agent
on node B talk; node A dies and the visitor carries on from node B with nothing lost; and
knowledge-base edits made through node A reach search on node B."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from relaydesk.core import state
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from tests import sockets
from tests.factories import bearer_for, make_site, make_staff
from tests.nodes import SHARED_KEY, Node
from tests.waiting import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster_url(shared_nodes: tuple[str, list[Node]]) -> str:
    return shared_nodes[0]


@pytest.fixture
def nodes(shared_nodes: tuple[str, list[Node]]) -> Iterator[list[Node]]:
    """The session's pair of nodes (tests/conftest.py `shared_nodes`)."""
    for process, base in shared_nodes[1]:
        assert process.poll() is None, f"shared node {base} died in an earlier test"
    # Tokens the test signs (bearer_for) must verify on the nodes.
    with override_settings(secret_key=SHARED_KEY):
        yield shared_nodes[1]


@contextlib.asynccontextmanager
async def seeding(cluster_url: str) -> AsyncIterator[Database]:
    """The shared database, for creating what a test needs before it talks to the nodes."""
    with override_settings(
        environment="development", database_url=cluster_url, secret_key=SHARED_KEY
    ):
        db = Database(cluster_url)
        try:
            with state.installed(state.AppState.for_database(db)):
                yield db
        finally:
            await db.dispose()


# It kills node A of the session's pair: tests/conftest.py orders it after every other
# test on the shared nodes (starting a pair of its own cost ~40 s of CPU).
@pytest.mark.kills_a_shared_node
async def test_visitor_and_agent_on_different_nodes(cluster_url: str, nodes: list[Node]) -> None:
    (node_a, url_a), (_, url_b) = nodes
    async with seeding(cluster_url) as db:
        site = await make_site(db)
        token = bearer_for(await make_staff(db, site=site))

    visitor = await sockets.visitor(url_a, site.site_key)
    visitor_token = visitor.received["session"][0]["visitor_token"]
    agent = await sockets.staff(url_b, token)
    conversation_id = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    assert (await agent.call("conversation:join", {"conversation_id": conversation_id}))["ok"]

    await visitor.call(
        "message:send",
        {"conversation_id": conversation_id, "client_id": "v1", "text": "from node A"},
    )
    [got] = await agent.wait_for("message:new")
    assert got["message"]["text"] == "from node A"
    await agent.call(
        "message:send",
        {"conversation_id": conversation_id, "client_id": "a1", "text": "from node B"},
    )
    await visitor.wait_for("message:new")
    assert [m["seq"] for m in visitor.messages()] == [2]  # its own came back in the ack

    node_a.kill()
    node_a.wait()
    await visitor.client.disconnect()
    await agent.call(
        "message:send",
        {"conversation_id": conversation_id, "client_id": "a2", "text": "while A was down"},
    )
    moved = await sockets.visitor(url_b, site.site_key, token=visitor_token)
    synced = await moved.call("sync", {"conversation_id": conversation_id, "after_seq": 2})
    assert [m["text"] for m in synced["messages"]] == ["while A was down"]
    await moved.disconnect()
    await agent.disconnect()


async def test_deactivating_an_agent_disconnects_them_on_another_node(
    cluster_url: str, nodes: list[Node]
) -> None:
    """Finding 5: a deactivated agent's open socket kept receiving new messages."""
    (_, url_a), (_, url_b) = nodes
    async with seeding(cluster_url) as db:
        site = await make_site(db)
        agent_user = await make_staff(db, site=site)
        admin_token = bearer_for(await make_staff(db, roles=[Role.ADMIN]))
        agent_token = bearer_for(agent_user)  # signed with the nodes' key
    agent = await sockets.staff(url_b, agent_token)
    gone = asyncio.Event()
    agent.client.on("disconnect", gone.set, namespace="/console")
    visitor = await sockets.visitor(url_a, site.site_key)
    conversation_id = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    assert (await agent.call("conversation:join", {"conversation_id": conversation_id}))["ok"]

    async with httpx.AsyncClient(base_url=url_a) as admin:
        changed = await admin.patch(
            f"/api/v1/users/{agent_user.id}",
            json={"is_active": False},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert changed.status_code == 200
    await asyncio.wait_for(gone.wait(), timeout=10)
    await visitor.call(
        "message:send",
        {"conversation_id": conversation_id, "client_id": "after", "text": "secret"},
    )
    assert agent.messages() == []
    with pytest.raises(Exception, match="failed to connect"):
        await sockets.staff(url_a, agent_token)  # the token was revoked
    await visitor.disconnect()


async def _search_titles(http: httpx.AsyncClient, site_id: int, query: str) -> list[str]:
    response = await http.get("/api/v1/knowledge/search", params={"q": query, "site": site_id})
    assert response.status_code == 200, response.text
    return [hit["title"] for hit in response.json()["hits"]]


async def test_knowledge_edits_on_one_node_reach_search_on_the_other(
    cluster_url: str, nodes: list[Node]
) -> None:
    (_, url_a), (_, url_b) = nodes
    async with seeding(cluster_url) as db:
        site = await make_site(db)
        editor = await make_staff(db, roles=[Role.EDITOR], site=site)
        headers = {"Authorization": f"Bearer {bearer_for(editor)}"}
    assert site.id is not None
    async with (
        httpx.AsyncClient(base_url=url_a, headers=headers, timeout=60) as node_a,
        httpx.AsyncClient(base_url=url_b, headers=headers, timeout=60) as node_b,
    ):
        created = await node_a.post(
            "/api/v1/knowledge/articles",
            json={
                "site_id": site.id,
                "title": "Bicycle repairs",
                "body": "We true wheels and replace broken spokes within two days.",
                "status": "published",
            },
        )
        assert created.status_code == 201, created.text
        article_id = created.json()["id"]

        async def b_finds(query: str, title: str) -> bool:
            return (await _search_titles(node_b, site.id, query))[:1] == [title]  # type: ignore[arg-type]

        await eventually(lambda: b_finds("broken spokes", "Bicycle repairs"), timeout=15)

        edited = await node_a.patch(
            f"/api/v1/knowledge/articles/{article_id}",
            json={"title": "Scooter repairs", "body": "We fix punctured scooter tyres."},
        )
        assert edited.status_code == 200, edited.text
        await eventually(lambda: b_finds("punctured tyres", "Scooter repairs"), timeout=15)

        unpublished = await node_a.post(f"/api/v1/knowledge/articles/{article_id}/unpublish")
        assert unpublished.status_code == 200, unpublished.text

        async def b_finds_nothing() -> bool:
            return await _search_titles(node_b, site.id, "scooter tyres") == []  # type: ignore[arg-type]

        await eventually(b_finds_nothing, timeout=15)
