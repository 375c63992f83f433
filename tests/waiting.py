"""Waiting in tests without sleeping and hoping: `eventually` polls a condition until it
holds, `assert_quiet` checks that nothing more arrived once a later sentinel event has."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from tests.sockets import Peer

POLL_S = 0.05


async def eventually(
    check: Callable[[], Any], timeout: float = 10, message: str = "condition not met in time"
) -> Any:
    """Poll `check` (sync or async) until it returns something truthy, and return that.
    An AssertionError inside `check` counts as "not yet" until the deadline, then is raised."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
        except AssertionError:
            if loop.time() > deadline:
                raise
        if loop.time() > deadline:
            raise AssertionError(message)
        await asyncio.sleep(POLL_S)


async def assert_quiet(
    peer: Peer,
    event: str,
    *,
    after: int,
    sentinel: str,
    is_sentinel: Callable[[Any], bool] = lambda _: True,
    timeout: float = 10,
) -> None:
    """`peer` received no `event` beyond its first `after` ones. Checked once the sentinel
    (a `sentinel` event matching `is_sentinel`, which the caller made the server send
    `peer` after anything the code under test could have sent) has arrived: a socket
    delivers in order, so waiting for it is waiting long enough, however slow delivery is."""
    await peer.wait_until(lambda: any(is_sentinel(p) for p in peer.received[sentinel]), timeout)
    extra = [p for p in peer.received[event][after:] if not (event == sentinel and is_sentinel(p))]
    assert extra == [], f"unexpected {event}: {extra}"
