"""Erasure closes the visitor's widget sockets on every node: two servers share the
database and Redis; the visitor is connected to node B, the admin erases them through
node A, and node B closes the socket (the announcement goes over Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import uvicorn

from relaydesk.api.app import create_app
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.privacy import sockets as privacy_sockets
from relaydesk.testing.servers import RedisServer, free_port
from tests.factories import make_site, make_staff
from tests.privacy.helpers import admin_client, visitor_with_data
from tests.waiting import eventually


@asynccontextmanager
async def node() -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


async def test_erasure_disconnects_the_visitor_on_another_node(
    db: Database, redis_server: RedisServer
) -> None:
    site = await make_site(db, name="Shop")
    admin = await make_staff(db, roles=[Role.ADMIN])
    redis = aioredis.from_url(redis_server.url)
    await redis.flushall()

    async def listening() -> int:
        counts = await redis.pubsub_numsub(privacy_sockets.CHANNEL)
        return int(counts[0][1]) if counts else 0

    # Nodes other tests keep running for the session (tests/conftest.py `shared_nodes`)
    # may share this Redis and listen too.
    others = await listening()
    with override_settings(redis_url=redis_server.url):
        async with node() as node_a, node() as node_b:

            async def both_listening() -> bool:
                return await listening() == others + 2

            await eventually(both_listening)
            world = await visitor_with_data(node_b, site, "TWO-NODES")
            async with await admin_client(node_a, admin) as client:
                erased = await client.delete(f"/api/v1/privacy/visitors/{world.visitor_id}")
            assert erased.status_code == 200, erased.text
            assert erased.json()["counts"]["sockets"] == others + 2  # both nodes heard it
            await world.peer.wait_until(lambda: not world.peer.client.connected)
    await redis.aclose()
