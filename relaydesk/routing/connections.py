"""Which staff users have a console tab connected, on this node or any node.

Without Redis one process serves everyone, so a dict is the truth. With Redis each node
keeps its own connections in a set `rd:presence:node:{node}` (members `"{user}:{sid}"`)
that expires unless the node's heartbeat renews it, and registers itself in the sorted set
`rd:presence:nodes` scored by when it stops counting as alive. A node that dies stops
renewing, so its connections age out after `NODE_TTL_SECONDS` and their agents go offline
at the next sweep of a surviving node.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from typing import Protocol

import redis.asyncio as aioredis

NODE_TTL_SECONDS = 30.0
HEARTBEAT_SECONDS = 10.0
NODES_KEY = "rd:presence:nodes"


def node_key(node_id: str) -> str:
    return f"rd:presence:node:{node_id}"


class ConnectionTracker(Protocol):
    async def add(self, user_id: int, sid: str) -> None: ...

    async def remove(self, user_id: int, sid: str) -> None: ...

    async def sids(self, user_id: int) -> list[str]:
        """Every connected console socket of the user, on any live node."""
        ...

    async def users(self) -> dict[int, list[str]]:
        """Every connected staff user with their sockets, on any live node."""
        ...

    async def heartbeat(self) -> None: ...

    async def close(self) -> None: ...


class MemoryTracker:
    def __init__(self) -> None:
        self.local: defaultdict[int, set[str]] = defaultdict(set)

    async def add(self, user_id: int, sid: str) -> None:
        self.local[user_id].add(sid)

    async def remove(self, user_id: int, sid: str) -> None:
        self.local[user_id].discard(sid)
        if not self.local[user_id]:
            del self.local[user_id]

    async def sids(self, user_id: int) -> list[str]:
        return sorted(self.local.get(user_id, ()))

    async def users(self) -> dict[int, list[str]]:
        return {user_id: sorted(sids) for user_id, sids in self.local.items() if sids}

    async def heartbeat(self) -> None:
        return None

    async def close(self) -> None:
        self.local.clear()


class RedisTracker(MemoryTracker):
    """The local dict stays this node's truth; Redis holds every node's copy."""

    def __init__(self, url: str, *, node_id: str | None = None) -> None:
        super().__init__()
        self.node_id = node_id or uuid.uuid4().hex
        self.redis = aioredis.Redis.from_url(url, decode_responses=True)

    async def add(self, user_id: int, sid: str) -> None:
        await super().add(user_id, sid)
        key = node_key(self.node_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, f"{user_id}:{sid}")
            pipe.expire(key, int(NODE_TTL_SECONDS))
            pipe.zadd(NODES_KEY, {self.node_id: time.time() + NODE_TTL_SECONDS})
            await pipe.execute()

    async def remove(self, user_id: int, sid: str) -> None:
        await super().remove(user_id, sid)
        await self.redis.srem(node_key(self.node_id), f"{user_id}:{sid}")

    async def _live_nodes(self) -> list[str]:
        now = time.time()
        await self.redis.zremrangebyscore(NODES_KEY, "-inf", now)
        nodes = await self.redis.zrangebyscore(NODES_KEY, now, "+inf")
        return [str(node) for node in nodes]

    async def users(self) -> dict[int, list[str]]:
        result: defaultdict[int, list[str]] = defaultdict(list)
        nodes = await self._live_nodes()
        if not nodes:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for node in nodes:
                pipe.smembers(node_key(node))
            members_per_node: list[set[str]] = await pipe.execute()
        for members in members_per_node:
            for member in members:
                user, _, sid = member.partition(":")
                if user.isdigit() and sid:
                    result[int(user)].append(sid)
        return {user_id: sorted(sids) for user_id, sids in result.items()}

    async def sids(self, user_id: int) -> list[str]:
        return (await self.users()).get(user_id, [])

    async def heartbeat(self) -> None:
        """Renew this node's lease and rewrite its set from the local truth (which also
        repairs it after Redis lost data)."""
        key = node_key(self.node_id)
        members = [f"{user}:{sid}" for user, sids in self.local.items() for sid in sids]
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if members:
                pipe.sadd(key, *members)
                pipe.expire(key, int(NODE_TTL_SECONDS))
            pipe.zadd(NODES_KEY, {self.node_id: time.time() + NODE_TTL_SECONDS})
            await pipe.execute()

    async def close(self) -> None:
        """A clean shutdown: this node's connections stop counting at once."""
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(node_key(self.node_id))
                pipe.zrem(NODES_KEY, self.node_id)
                await pipe.execute()
        finally:
            await super().close()
            await self.redis.aclose()


_tracker: ConnectionTracker | None = None
_tracker_url: str | None = None
_tracker_loop: asyncio.AbstractEventLoop | None = None


def get_tracker(redis_url: str | None) -> ConnectionTracker:
    """The tracker for the configured Redis (memory when there is none). It belongs to the
    event loop that made it, as its sockets and Redis connections do, so a new loop (a
    restarted server, each test) starts with a fresh one."""
    global _tracker, _tracker_url, _tracker_loop
    loop = asyncio.get_running_loop()
    if _tracker is None or _tracker_url != redis_url or _tracker_loop is not loop:
        _tracker = RedisTracker(redis_url) if redis_url else MemoryTracker()
        _tracker_url, _tracker_loop = redis_url, loop
    return _tracker


async def reset_tracker() -> None:
    """Close the tracker (a clean shutdown: this node's connections stop counting)."""
    global _tracker, _tracker_url, _tracker_loop
    if _tracker is not None and _tracker_loop is asyncio.get_running_loop():
        await _tracker.close()
    _tracker, _tracker_url, _tracker_loop = None, None, None
