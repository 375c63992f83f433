"""Fixtures shared by the whole suite: a fresh database per test (SQLite by default, and
PostgreSQL too for tests marked `postgres`), a recording realtime emitter, a live server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
import pytest
import uvicorn
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from relaydesk.api.app import create_app
from relaydesk.core import migrate, security, state
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder, Vectors
from relaydesk.testing.servers import MissingBinary, PostgresCluster, RedisServer, free_port
from tests.nodes import Node, running_nodes

REPO = Path(__file__).resolve().parent.parent
MODEL_DIR = Path(
    os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR", REPO.parent / "shared/models/all-MiniLM-L6-v2")
)
TEMPLATE_DB = "relaydesk_template"


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Argon2 with production costs takes ~0.3 s a hash; tests create many users."""
    original = security._password_hash
    security._password_hash = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024),))
    yield
    security._password_hash = original


# Vectors this worker has computed, by (model, text). Many tests build an index of the same
# knowledge base (the demo's ~500 texts cost ~4 s of CPU to embed each time); the model is
# deterministic (tests/knowledge/test_embedding.py, which embeds for real), so a text's
# vector is computed once per worker.
_VECTORS: dict[tuple[str, str], Vectors] = {}
_model_embed = OnnxMiniLMEmbedder.embed


def _remembered_embed(self: OnnxMiniLMEmbedder, texts: Sequence[str]) -> Vectors:
    model = self.model_id
    missing = list(dict.fromkeys(t for t in texts if (model, t) not in _VECTORS))
    if missing:
        for text, vector in zip(missing, _model_embed(self, missing), strict=True):
            _VECTORS[(model, text)] = vector
    if not texts:
        return _model_embed(self, texts)
    return np.vstack([_VECTORS[(model, text)] for text in texts])


@pytest.fixture(autouse=True)
def _embeddings_remembered(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("fresh_embeddings") is None:
        monkeypatch.setattr(OnnxMiniLMEmbedder, "embed", _remembered_embed)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if metafunc.definition.get_closest_marker("postgres"):
            backends.append("postgres")
        if metafunc.definition.get_closest_marker("postgres_only"):
            backends = ["postgres"]
        metafunc.parametrize("backend", backends)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "relaydesk.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster().start()
    except MissingBinary as exc:
        pytest.fail(str(exc))

    async def create_template() -> None:
        conn = await asyncpg.connect(cluster.admin_dsn)
        await conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        await conn.close()

    # Session fixtures may be first needed inside a test's running loop: use a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, create_template()).result()
    migrate.upgrade(cluster.url(TEMPLATE_DB))
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except MissingBinary as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


async def _pg_admin(cluster: PostgresCluster, sql: str) -> None:
    conn = await asyncpg.connect(cluster.admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """A fresh, migrated database for this test: a copy of a migrated template."""
    if backend == "sqlite":
        target = tmp_path / "relaydesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _pg_admin(cluster, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    yield cluster.url(name)
    await _pg_admin(cluster, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def db(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    with override_settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        embedding_model_dir=MODEL_DIR,
    ):
        # A fresh app state per test: its emitter, index manager and knowledge source
        # start over with it, so no test inherits another's.
        database = Database(database_url)
        try:
            with state.installed(state.AppState.for_database(database)):
                yield database
        finally:
            await database.dispose()


class RecordingEmitter:
    """Captures what would go out on the sockets, in order."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def emit(
        self, event: str, data: Any, *, room: str, namespace: str, skip_sid: str | None = None
    ) -> None:
        self.sent.append({"event": event, "data": data, "room": room, "namespace": namespace})

    def of(self, event: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.sent
            if e["event"] == event and (namespace is None or e["namespace"] == namespace)
        ]


@pytest.fixture
def emitted(db: Database) -> RecordingEmitter:
    """Records the emits of this test's app state (which goes with the `db` fixture)."""
    recorder = RecordingEmitter()
    state.current().emitter = recorder
    return recorder


@pytest.fixture
async def live_server(db: Database) -> AsyncIterator[str]:
    """The real ASGI app under uvicorn on a free loopback port, in this test's loop."""
    app = create_app()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


def new_pg_database(cluster: PostgresCluster, prefix: str) -> str:
    """A fresh copy of the migrated template, from sync code (session fixtures)."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    # Session fixtures may be first needed inside a test's running loop: use a thread.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        sql = f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"
        pool.submit(asyncio.run, _pg_admin(cluster, sql)).result()
    return cluster.url(name)


@pytest.fixture(scope="session")
def shared_nodes(
    pg_cluster: PostgresCluster, redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, list[Node]]]:
    """Two `relaydesk serve` nodes on one database, shared by the multi-node tests (each test
    makes its own site): starting a pair costs ~10 s. The test that kills a node runs after
    the others (`pytest_collection_modifyitems`)."""
    url = new_pg_database(pg_cluster, "nodes")
    with running_nodes(tmp_path_factory.mktemp("nodes"), url, redis_server.url) as started:
        yield url, started


# Minute-long tests (benchmark smoke runs, CLI processes) go first: xdist's worksteal hands
# each worker a contiguous share and the first worker to run dry takes half of what the other
# has left, so a long test near the end would leave one worker idle while it finishes.
SLOW_FILES = ("tests/test_benchmarks_smoke.py", "tests/knowledge/test_kb_cli.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in SLOW_FILES)  # stable
    _group_shared_node_tests(items)


def _group_shared_node_tests(items: list[pytest.Item]) -> None:
    """The tests on the session's shared nodes run one after another: under xdist's worksteal
    each worker takes a contiguous share of the tests, so together they land on one worker,
    which starts one pair of nodes rather than a pair on each worker (a pair's start-up, with
    its embedding model and indexes, measured ~40 s of CPU). A test that kills one of the
    nodes (`kills_a_shared_node`) comes last: the tests after it would find the pair broken
    (the `nodes` fixture checks)."""
    on_nodes = [item for item in items if "shared_nodes" in getattr(item, "fixturenames", ())]
    if not on_nodes:
        return
    moved = {id(item) for item in on_nodes}
    first = items.index(on_nodes[0])
    on_nodes.sort(key=lambda item: item.get_closest_marker("kills_a_shared_node") is not None)
    rest = [item for item in items if id(item) not in moved]
    items[:] = rest[:first] + on_nodes + rest[first:]
