"""`relaydesk kb import` and `kb reindex`: directly into a data dir, and through a running
server that owns the data dir (its embedded Chroma must not be opened twice).

The commands whose process is the point run as real subprocesses: an import that is
searchable once its process has exited, and an import that a separate process sends
through the running server. The rest (set-up, updates, refusals and their exit codes,
reindexing) run in this process (tests/cli.py): a subprocess pays a fresh interpreter's
imports and the embedding model's load, ~8 s of CPU a command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from relaydesk.core.config import Settings
from relaydesk.core.db import Database
from relaydesk.knowledge import search
from relaydesk.testing.servers import free_port
from tests.cli import invoke
from tests.conftest import MODEL_DIR
from tests.waiting import wait_until_serving

CLI = [sys.executable, "-m", "relaydesk"]
ENV = {**os.environ, "RELAYDESK_EMBEDDING_MODEL_DIR": str(MODEL_DIR)}


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env=ENV,
    )


def _content(folder: Path) -> Path:
    (folder / "guides").mkdir(parents=True)
    (folder / "guides" / "plants.md").write_text(
        "# Plant care\n\nWater succulents once every two weeks in summer.\n"
    )
    (folder / "faq.jsonl").write_text(
        json.dumps(
            {
                "id": "soil",
                "title": "Which soil?",
                "questions": ["What soil should I use for cactus?"],
                "answer": "Use a gritty cactus mix that drains fast.",
            }
        )
        + "\n"
    )
    (folder / ".hidden.md").write_text("# Hidden\n\nnot imported")
    (folder / "notes.xyz").write_text("ignored: unsupported suffix")
    return folder


@pytest.fixture(autouse=True)
def _model_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process commands find the model as the subprocesses do (ENV)."""
    monkeypatch.setenv("RELAYDESK_EMBEDDING_MODEL_DIR", str(MODEL_DIR))


async def _search(data_dir: Path, query: str) -> list[str]:
    settings = Settings(data_dir=data_dir, embedding_model_dir=MODEL_DIR, environment="test")
    db = Database(settings.effective_database_url)
    try:
        manager = search.IndexManager(settings)
        result = await manager.search(db, site_id=1, query=query)
        assert not result.lexical_only
        return [h.title for h in result.hits]
    finally:
        await db.dispose()


def test_direct_import_is_searchable_when_the_command_returns(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert (
        invoke("sites", "create", "--name", "Garden", "--any-origin", data_dir=data_dir).returncode
        == 0
    )
    folder = _content(tmp_path / "kb")

    done = run("kb", "import", str(folder), "--site", "1", "--json", data_dir=data_dir)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["articles_created"], summary["faq_created"], summary["files"]) == (1, 1, 2)
    assert summary["items"][0]["external_id"] == "file:guides/plants.md"
    assert (data_dir / "chroma").is_dir()
    assert asyncio.run(_search(data_dir, "how often should I water succulents"))[0] == "Plant care"
    assert asyncio.run(_search(data_dir, "cactus soil"))[0] == "Which soil?"

    # The same folder again: updated in place, nothing duplicated.
    (folder / "guides" / "plants.md").write_text(
        "# Plant care\n\nWater succulents once a month in winter.\n"
    )
    again = invoke("kb", "import", str(folder), "--site", "1", "--json", data_dir=data_dir)
    summary = json.loads(again.stdout)
    assert (summary["articles_updated"], summary["faq_unchanged"]) == (1, 1)

    # A bad file refuses the whole import unless told to skip it.
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    refused = invoke("kb", "import", str(folder), "--site", "1", data_dir=data_dir)
    assert refused.returncode == 2 and "corrupt_file" in refused.stderr
    skipped = invoke("kb", "import", str(folder), "--site", "1", "--skip-bad", data_dir=data_dir)
    assert skipped.returncode == 0 and "broken.pdf" in skipped.stderr

    missing_site = invoke(
        "kb", "import", str(folder / "faq.jsonl"), "--site", "9", data_dir=data_dir
    )
    assert missing_site.returncode == 2 and "site_not_found" in missing_site.stderr

    reindex = invoke("kb", "reindex", "--json", data_dir=data_dir)
    assert reindex.returncode == 0, reindex.stderr
    report = json.loads(reindex.stdout)
    assert report["mode"] == "hybrid" and report["sites"][0]["entries"] == 2


def test_import_goes_through_the_running_server(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert (
        invoke("sites", "create", "--name", "Garden", "--any-origin", data_dir=data_dir).returncode
        == 0
    )
    user = invoke(
        "users",
        "create",
        "--email",
        "ed@example.test",
        "--password",
        "long-enough-pw",
        "--role",
        "editor",
        "--team",
        "1",
        data_dir=data_dir,
    )
    assert user.returncode == 0, user.stderr
    folder = _content(tmp_path / "kb")
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--no-demo", "--port", str(port), "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/readyz", server)
        server_file = data_dir / "server.json"
        assert oct(server_file.stat().st_mode & 0o777) == "0o600"
        assert json.loads(server_file.read_text())["url"] == base

        done = run("kb", "import", str(folder), "--site", "1", data_dir=data_dir)
        assert done.returncode == 0, done.stderr
        assert f"through the server at {base}" in done.stdout
        assert "articles 1 new" in done.stdout

        token = httpx.post(
            f"{base}/api/v1/auth/token",
            data={"username": "ed@example.test", "password": "long-enough-pw"},
        ).json()["access_token"]
        found = httpx.get(
            f"{base}/api/v1/knowledge/search",
            params={"q": "how often do I water succulents", "site": 1},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert found["hits"][0]["title"] == "Plant care"
        ready = httpx.get(f"{base}/readyz").json()
        assert ready["details"]["retrieval"]["mode"] == "hybrid"

        reindex = invoke("kb", "reindex", "--site", "1", data_dir=data_dir)
        assert reindex.returncode == 0 and "site 1: 2 entries" in reindex.stdout
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert not (data_dir / "server.json").exists()
