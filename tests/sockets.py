"""Real python-socketio clients for tests: a visitor on /widget and staff on /console."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import socketio


class Peer:
    """One Socket.IO client that records every event it receives."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: defaultdict[str, list[Any]] = defaultdict(list)
        self._changed = asyncio.Condition()

        async def record(event: str, *args: Any) -> None:
            async with self._changed:
                self.received[event].append(args[0] if len(args) == 1 else args)
                self._changed.notify_all()

        self.client.on("*", record, namespace=namespace)

    async def connect(
        self, base_url: str, auth: Any, headers: dict[str, str] | None = None
    ) -> None:
        await self.client.connect(
            base_url,
            namespaces=[self.namespace],
            auth=auth,
            headers=headers or {},
            transports=["websocket"],
            wait_timeout=10,
        )

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return await self.client.call(event, data, namespace=self.namespace, timeout=timeout)

    async def wait_for(self, event: str, count: int = 1, timeout: float = 5) -> list[Any]:
        """The first `count` payloads of `event`, waiting for them to arrive."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.received[event]) >= count), timeout
            )
            return self.received[event][:count]

    async def wait_until(self, check: Callable[[], bool], timeout: float = 5) -> None:
        """Until `check()` holds, re-checked on every event received."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(check), timeout)

    def messages(self) -> list[dict[str, Any]]:
        return [payload["message"] for payload in self.received["message:new"]]

    async def disconnect(self) -> None:
        await self.client.disconnect()


async def visitor(base_url: str, site_key: str, token: str | None = None) -> Peer:
    peer = Peer("/widget")
    await peer.connect(base_url, {"site_key": site_key, "visitor_token": token})
    await peer.wait_for("session")
    return peer


async def staff(base_url: str, token: str) -> Peer:
    peer = Peer("/console")
    await peer.connect(base_url, {"token": token})
    return peer
