"""Closing an erased visitor's widget sockets on every node.

Each widget connection joins its visitor's room, but Socket.IO rooms are per node, and
python-socketio's pub/sub manager carries emits between nodes, not "disconnect this
room". So an erasure is announced on a Redis channel that every node listens to (started
in the app's lifespan), and each node closes the sockets it holds in that room. Without
Redis there is one node, which closes them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import redis.asyncio as aioredis

from relaydesk.core import realtime
from relaydesk.core.config import get_settings

log = logging.getLogger(__name__)

CHANNEL = "relaydesk:privacy:visitor-erased"
RETRY_SECONDS = 1.0


async def disconnect_here(server: Any, visitor_id: str) -> int:
    """Close this node's widget sockets of the visitor; returns how many."""
    room = realtime.visitor_room(visitor_id)
    sids = [sid for sid, _ in server.manager.get_participants(realtime.WIDGET, room)]
    for sid in sids:
        await server.disconnect(sid, namespace=realtime.WIDGET, ignore_queue=True)
    return len(sids)


async def announce_erased(visitor_id: str) -> int:
    """Have every node close the visitor's sockets. With Redis: how many nodes heard it;
    without: how many sockets this (only) node closed."""
    settings = get_settings()
    if settings.redis_url:
        client = aioredis.from_url(settings.redis_url)
        try:
            return int(await client.publish(CHANNEL, visitor_id))
        finally:
            await client.aclose()
    server = getattr(realtime.get_emitter(), "server", None)
    return await disconnect_here(server, visitor_id) if server is not None else 0


async def listen(server: Any, redis_url: str) -> None:
    """This node's listener (app lifespan), until cancelled; reconnects if Redis drops."""
    while True:
        client = aioredis.from_url(redis_url)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                data = message["data"]
                visitor_id = data.decode() if isinstance(data, bytes) else str(data)
                await disconnect_here(server, visitor_id[:64])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("privacy listener lost Redis; retrying")
            await asyncio.sleep(RETRY_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                await client.aclose()
