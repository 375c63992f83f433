"""Against a real Chroma server (`chroma run`, started here): vectors are stored there,
and a second node builds its index from them without embedding the content again."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest

from relaydesk.core import state
from relaydesk.core.config import get_settings, override_settings
from relaydesk.core.db import Database
from relaydesk.knowledge import search, service
from relaydesk.knowledge.models import ArticleUpdate
from relaydesk.testing.servers import free_port
from tests.factories import make_site
from tests.waiting import wait_until_serving

pytestmark = pytest.mark.integration

DOCS = [
    ("bikes.md", b"# Bike servicing\n\nWe service city bikes in 48 hours, brakes included.\n"),
    ("rental.md", b"# Bike rental\n\nRent an e-bike for a day for 35 euros, helmet included.\n"),
]


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("chroma")
    if binary is None:
        pytest.fail("the `chroma` CLI (installed with the chromadb package) is not on PATH")
    port = free_port()
    log = tmp_path / "chroma.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                "run",
                "--path",
                str(tmp_path / "chroma"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(
            f"{url}/api/v2/heartbeat",
            process,
            timeout=60,
            what="`chroma run`",
            detail=lambda: log.read_text()[-2000:],
        )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_vectors_live_in_the_chroma_server_and_are_shared(
    db: Database, database_url: str, chroma_server: str, counting_embedder: object
) -> None:
    site = await make_site(db)
    assert site.id is not None
    with override_settings(chroma_url=chroma_server):
        summary = await service.import_files(db, site_id=site.id, files=DOCS, actor=service.SYSTEM)
        first = await search.search(db, site_id=site.id, query="can I hire an electric bike")
        assert first.hits[0].title == "Bike rental" and not first.lexical_only
        assert search.retrieval_status(state.current())["vector_store"] == "chroma server"
        assert "vector_store_error" not in search.retrieval_status(state.current())

        port = chroma_server.rsplit(":", 1)[1]
        client = chromadb.HttpClient(host="127.0.0.1", port=int(port))
        collection = client.get_collection(f"relaydesk_site_{site.id}")
        assert collection.count() == 2  # one passage per article

        # A second node: same database, same Chroma server, its own index.
        other_db = Database(database_url)
        other = search.IndexManager(get_settings(), embedder=counting_embedder)  # type: ignore[arg-type]
        try:
            hits = (await other.search(other_db, site_id=site.id, query="brake service")).hits
            assert hits[0].title == "Bike servicing"
            assert counting_embedder.embedded == 1  # type: ignore[attr-defined]  # the query only

            article_id = summary.items[0].id
            await service.update_article(
                db,
                article_id=article_id,
                changes=ArticleUpdate(body="Servicing now takes one week."),
                actor=service.SYSTEM,
            )
            await asyncio.sleep(search.VERSION_TTL_SECONDS + 0.1)
            hit = (await other.search(other_db, site_id=site.id, query="servicing")).hits[0]
            assert "one week" in hit.text
        finally:
            await other_db.dispose()
