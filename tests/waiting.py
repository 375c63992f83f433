"""Waiting in tests without sleeping and hoping: `eventually` polls a condition until it
holds, `assert_quiet` checks that nothing more arrived once a later sentinel event has,
`wait_until_serving` polls a server process's URL until it answers."""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx

from tests.sockets import Peer

POLL_S = 0.05


def wait_until_serving(
    url: str,
    process: subprocess.Popen[Any],
    *,
    timeout: float = 180,
    what: str = "server",
    detail: Callable[[], str] = lambda: "",
) -> None:
    """Poll `url` until it answers 200 (a started process's /readyz, say), failing as soon as
    `process` exits or `timeout` seconds have passed; `detail()` (its log) goes in the error.
    One client for every poll: `httpx.get` makes a client per call, and each loads the CA
    bundle, ~50 ms of CPU, so polling a minute-long start-up ten times a second burned more
    CPU than the test itself."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1, trust_env=False) as http:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"{what} exited with {process.returncode}\n{detail()}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what} not ready at {url} within {timeout:.0f} s\n{detail()}"
                )
            time.sleep(0.1)


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
