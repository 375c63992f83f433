"""Relaydesk nodes as separate processes (`relaydesk serve`) behind one PostgreSQL and one
Redis, for the multi-node tests. Starting one takes seconds (imports, embedding model,
knowledge indexes before /readyz), so the nodes of a pair start side by side, and tests
that leave their nodes running share one pair per session (tests/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from relaydesk.testing.servers import free_port
from tests.waiting import wait_until_serving

# Nodes of one install share the signing key (each would otherwise generate its own).
SHARED_KEY = "two-nodes-test-key-4f9c2a7e1b8d3f6a0c5e9b2d7a4f1c8e"

Node = tuple[subprocess.Popen[bytes], str]


def _spawn(data_dir: Path, env: dict[str, str]) -> Node:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relaydesk",
            "serve",
            "--no-demo",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_ready(node: Node, deadline: float) -> None:
    process, base = node
    # Ready includes the knowledge indexes built (/readyz), which takes a while on a busy machine.
    wait_until_serving(
        f"{base}/readyz",
        process,
        timeout=max(0.0, deadline - time.monotonic()),
        what=f"node {base}",
    )


@contextlib.contextmanager
def running_nodes(
    data_dir: Path, database_url: str, redis_url: str, count: int = 2
) -> Iterator[list[Node]]:
    """`count` nodes of one install, started together; all killed on exit, whatever failed."""
    env = {
        "RELAYDESK_DATABASE_URL": database_url,
        "RELAYDESK_REDIS_URL": redis_url,
        "RELAYDESK_SECRET_KEY": SHARED_KEY,
    }
    started: list[Node] = []
    try:
        # Appended one by one: if one fails to spawn, the others are still stopped.
        for name in "abcdefgh"[:count]:
            started.append(_spawn(data_dir / name, env))
        deadline = time.monotonic() + 180
        for node in started:
            _wait_ready(node, deadline)
        yield started
    finally:
        for process, _ in started:
            process.kill()
            process.wait()
