"""`/widget/…` assets and the `/demo` page over HTTP, and the committed bundle's freshness."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.core.db import Database
from relaydesk.widget import routes

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "relaydesk" / "widget" / "static"
MANIFEST = json.loads((STATIC / "manifest.json").read_text())


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_loader_is_small_short_cached_and_gzipped(client: httpx.AsyncClient) -> None:
    response = await client.get("/widget/loader.js", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) <= 2048
    # The loader names the current hashed bundle.
    assert MANIFEST["bundle"] in response.text


async def test_bundle_is_immutable_and_within_budget(client: httpx.AsyncClient) -> None:
    name = MANIFEST["bundle"]
    assert re.fullmatch(r"widget\.[0-9a-f]{12}\.js", name)
    response = await client.get(f"/widget/{name}", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-encoding"] == "gzip"
    assert int(response.headers["content-length"]) <= 45 * 1024
    assert response.content == (STATIC / name).read_bytes()  # httpx decoded it


async def test_identity_encoding_and_etag(client: httpx.AsyncClient) -> None:
    plain = await client.get("/widget/loader.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == (STATIC / "loader.js").read_bytes()
    refused = await client.get("/widget/loader.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    again = await client.get("/widget/loader.js", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = await client.head("/widget/loader.js")
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize(
    "name",
    [
        "nope.js",
        "manifest.json",
        "..%2F..%2Fpyproject.toml",
        "..%2Froutes.py",
        "%2Fetc%2Fpasswd",
        "loader.js.map",
        ".js",
        "loader.JS%00.js",
        "x" * 300 + ".js",
    ],
)
async def test_unknown_or_unsafe_names_are_404(client: httpx.AsyncClient, name: str) -> None:
    response = await client.get(f"/widget/{name}")
    assert response.status_code == 404
    if "%2F" not in name:  # names with a slash never reach the route at all
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["error"]["code"] == "not_found"


async def test_path_traversal_never_escapes_static(client: httpx.AsyncClient) -> None:
    for path in ("/widget/../api/app.py", "/widget/%2e%2e/routes.py", "/widget/static/loader.js"):
        response = await client.get(path)
        assert response.status_code == 404, path


def test_accepts_gzip_parsing() -> None:
    assert routes.accepts_gzip("gzip, deflate, br")
    assert routes.accepts_gzip("*")
    assert routes.accepts_gzip("br;q=1.0, GZIP;q=0.5")
    assert not routes.accepts_gzip(None)
    assert not routes.accepts_gzip("br")
    assert not routes.accepts_gzip("gzip;q=0")
    assert not routes.accepts_gzip("gzip;q=bogus")


def test_gzip_is_deterministic() -> None:
    first = routes._load.__wrapped__(STATIC / "loader.js", 0)
    second = routes._load.__wrapped__(STATIC / "loader.js", 1)
    assert first.gzipped == second.gzipped
    assert gzip.decompress(first.gzipped) == first.body


async def test_demo_page_embeds_the_demo_site(client: httpx.AsyncClient) -> None:
    response = await client.get("/demo")
    assert response.status_code == 200
    assert 'src="/widget/loader.js"' in response.text
    assert 'data-site-key="demo-site"' in response.text
    assert '<html lang="en">' in response.text
    zh = await client.get("/demo", params={"lang": "zh-CN"})
    assert '<html lang="zh-CN">' in zh.text
    odd = await client.get("/demo", params={"lang": "<script>"})
    assert odd.status_code == 200 and '<script>"' not in odd.text
    too_long = await client.get("/demo", params={"lang": "x" * 50})
    assert too_long.status_code == 422


def test_committed_bundle_is_a_fresh_build() -> None:
    """`npm run check`: the committed files are exactly what the sources build to."""
    npm = shutil.which("npm")
    if npm is None or not (REPO / "widget" / "node_modules").is_dir():
        pytest.fail(
            "node/npm and widget/node_modules are needed: run `npm ci` in widget/ "
            "(scripts/test does this)"
        )
    result = subprocess.run(
        [npm, "run", "--silent", "check"],
        cwd=REPO / "widget",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
