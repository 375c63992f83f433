"""REST: the authorization matrix (roles × actions, other sites), shapes and validation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.core import state
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.knowledge import server_link
from tests.factories import bearer_for, make_site, make_staff

ROLES = ["admin", "editor", "supervisor", "agent", "other_editor", "anonymous"]


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app().api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def _headers(db: Database) -> tuple[int, dict[str, dict[str, str]]]:
    site = await make_site(db)
    other = await make_site(db)
    assert site.id is not None
    users = {
        "admin": await make_staff(db, roles=[Role.ADMIN]),
        "editor": await make_staff(db, roles=[Role.EDITOR], site=site),
        "supervisor": await make_staff(db, roles=[Role.SUPERVISOR], site=site),
        "agent": await make_staff(db, roles=[Role.AGENT], site=site),
        "other_editor": await make_staff(db, roles=[Role.EDITOR], site=other),
    }
    headers = {name: {"Authorization": f"Bearer {bearer_for(u)}"} for name, u in users.items()}
    headers["anonymous"] = {}
    return site.id, headers


async def test_authorization_matrix(db: Database, client: httpx.AsyncClient) -> None:
    site_id, headers = await _headers(db)
    admin = headers["admin"]
    article = (
        await client.post(
            "/api/v1/knowledge/articles",
            json={
                "site_id": site_id,
                "title": "Gift cards",
                "body": "Gift cards never expire.",
                "status": "published",
            },
            headers=admin,
        )
    ).json()
    faq = (
        await client.post(
            "/api/v1/knowledge/faqs",
            json={
                "site_id": site_id,
                "title": "Do gift cards expire?",
                "answer": "Never.",
                "questions": ["gift card expiry"],
                "status": "published",
            },
            headers=admin,
        )
    ).json()
    a, f = article["id"], faq["id"]
    reads = [
        ("GET", f"/api/v1/knowledge/articles?site={site_id}", None),
        ("GET", f"/api/v1/knowledge/articles/{a}", None),
        ("GET", f"/api/v1/knowledge/articles/{a}/versions", None),
        ("GET", f"/api/v1/knowledge/articles/{a}/versions/1", None),
        ("GET", f"/api/v1/knowledge/faqs/{f}", None),
        ("GET", f"/api/v1/knowledge/search?q=gift+card&site={site_id}", None),
        ("GET", f"/api/v1/knowledge/suggestions?site={site_id}", None),
    ]
    writes = [
        ("POST", "/api/v1/knowledge/articles", {"site_id": site_id, "title": "New"}),
        ("PATCH", f"/api/v1/knowledge/articles/{a}", {"body": "Gift cards never expire at all."}),
        ("POST", f"/api/v1/knowledge/articles/{a}/unpublish", None),
        ("POST", f"/api/v1/knowledge/articles/{a}/publish", None),
        ("POST", f"/api/v1/knowledge/articles/{a}/versions/1/restore", None),
        ("POST", "/api/v1/knowledge/faqs", {"site_id": site_id, "title": "Q", "answer": "A"}),
        ("PATCH", f"/api/v1/knowledge/faqs/{f}", {"answer": "Never, ever."}),
        ("POST", f"/api/v1/knowledge/faqs/{f}/unpublish", None),
        ("POST", f"/api/v1/knowledge/faqs/{f}/publish", None),
        (
            "POST",
            "/api/v1/knowledge/import/url",
            {"site_id": site_id, "url": "http://127.0.0.1:9/x"},
        ),
    ]
    expected_read = {
        "admin": 200,
        "editor": 200,
        "supervisor": 200,
        "agent": 200,
        "other_editor": 404,
        "anonymous": 401,
    }
    expected_write = {
        "admin": (200, 201),
        "editor": (200, 201),
        "supervisor": (403,),
        "agent": (403,),
        "other_editor": (404,),
        "anonymous": (401,),
    }
    failures = []
    for role in ROLES:
        for method, url, body in reads:
            response = await client.request(method, url, json=body, headers=headers[role])
            if response.status_code != expected_read[role]:
                failures.append((role, method, url, response.status_code))
        for method, url, body in writes:
            response = await client.request(method, url, json=body, headers=headers[role])
            status = response.status_code
            allowed = expected_write[role]
            if url.endswith("/import/url") and role in ("admin", "editor"):
                allowed = (422,)  # allowed, and refused: nothing listens on port 9
            if status not in allowed:
                failures.append((role, method, url, status))
    assert failures == []
    # Deleting: other sites' staff and readers cannot, editors can.
    for role, status in [("other_editor", 404), ("agent", 403), ("editor", 204)]:
        response = await client.delete(f"/api/v1/knowledge/faqs/{f}", headers=headers[role])
        assert response.status_code == status, role


async def test_listing_is_scoped_to_the_staff_members_sites(
    db: Database, client: httpx.AsyncClient
) -> None:
    site_id, headers = await _headers(db)
    for title in ("One", "Two"):
        await client.post(
            "/api/v1/knowledge/articles",
            json={"site_id": site_id, "title": title},
            headers=headers["admin"],
        )
    mine = (await client.get("/api/v1/knowledge/articles", headers=headers["editor"])).json()
    theirs = (
        await client.get("/api/v1/knowledge/articles", headers=headers["other_editor"])
    ).json()
    assert mine["total"] == 2 and theirs == {"items": [], "total": 0}
    assert "body" not in mine["items"][0]


async def test_search_shape_and_versions_through_rest(
    db: Database, client: httpx.AsyncClient
) -> None:
    site_id, headers = await _headers(db)
    editor = headers["editor"]
    created = await client.post(
        "/api/v1/knowledge/articles",
        json={
            "site_id": site_id,
            "title": "Store pickup",
            "body": "Pick up orders in store.",
            "external_id": "pickup",
            "status": "published",
            "tags": ["stores", "stores "],
        },
        headers=editor,
    )
    assert created.status_code == 201 and created.json()["tags"] == ["stores"]
    article_id = created.json()["id"]
    result = await client.get(
        f"/api/v1/knowledge/search?q=pick+up+in+store&site={site_id}&k=3", headers=editor
    )
    body = result.json()
    assert set(body) >= {"hits", "took_ms"}
    hit = body["hits"][0]
    assert {"entry_id", "external_id", "title", "snippet", "score", "confidence"} <= set(hit)
    assert (hit["entry_id"], hit["external_id"], hit["title"]) == (
        f"article:{article_id}",
        "pickup",
        "Store pickup",
    )
    assert 0.0 <= hit["confidence"] <= 1.0

    await client.patch(
        f"/api/v1/knowledge/articles/{article_id}",
        json={"body": "Pickup is no longer offered."},
        headers=editor,
    )
    versions = (
        await client.get(f"/api/v1/knowledge/articles/{article_id}/versions", headers=editor)
    ).json()
    assert [v["version"] for v in versions] == [2, 1]
    restored = await client.post(
        f"/api/v1/knowledge/articles/{article_id}/versions/1/restore", headers=editor
    )
    assert restored.json()["body"] == "Pick up orders in store." and restored.json()["version"] == 3
    missing = await client.get(
        f"/api/v1/knowledge/articles/{article_id}/versions/9", headers=editor
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "version_not_found"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "ok", "locale": "not a locale"}, "locale"),
        ({"title": "ok", "source_url": "javascript:alert(1)"}, "source_url"),
        ({"title": "ok", "tags": ["t" * 65]}, "tags"),
        ({"title": "ok", "surprise": 1}, "surprise"),
        ({"title": "ok", "status": "archived"}, "status"),
    ],
)
async def test_article_payloads_are_validated(
    db: Database, client: httpx.AsyncClient, payload: dict[str, object], field: str
) -> None:
    site_id, headers = await _headers(db)
    response = await client.post(
        "/api/v1/knowledge/articles", json={"site_id": site_id, **payload}, headers=headers["admin"]
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_payload"
    assert any(field in [str(p) for p in e["loc"]] for e in error["details"]["errors"])


async def test_upload_import_returns_counts_and_refuses_bad_files(
    db: Database, client: httpx.AsyncClient
) -> None:
    site_id, headers = await _headers(db)
    files = [
        (
            "files",
            ("help/returns.md", b"# Returns\n\nReturn items within 30 days.", "text/markdown"),
        ),
        (
            "files",
            (
                "faq.jsonl",
                b'{"id": "1", "title": "Hours", "questions": ["When open?"], "answer": "9-5"}\n',
                "application/json",
            ),
        ),
    ]
    response = await client.post(
        "/api/v1/knowledge/import",
        data={"site": str(site_id)},
        files=files,
        headers=headers["editor"],
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["articles_created"], summary["faq_created"], summary["files"]) == (1, 1, 2)
    again = await client.post(
        "/api/v1/knowledge/import",
        data={"site": str(site_id)},
        files=files,
        headers=headers["editor"],
    )
    assert (again.json()["articles_unchanged"], again.json()["faq_unchanged"]) == (1, 1)
    bad = await client.post(
        "/api/v1/knowledge/import",
        data={"site": str(site_id)},
        files=[("files", ("scan.pdf", b"%PDF-1.4 broken", "application/pdf"))],
        headers=headers["editor"],
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "corrupt_file"
    denied = await client.post(
        "/api/v1/knowledge/import",
        data={"site": str(site_id)},
        files=files,
        headers=headers["agent"],
    )
    assert denied.status_code == 403
    cross = await client.post(
        "/api/v1/knowledge/import",
        data={"site": str(site_id)},
        files=files,
        headers=headers["other_editor"],
    )
    assert cross.status_code == 404


async def test_the_server_token_imports_and_nothing_else(
    db: Database, client: httpx.AsyncClient
) -> None:
    site_id, _ = await _headers(db)
    state.current().put(server_link.SERVER_TOKEN, "the-token-of-this-server")
    token = {"Authorization": "Bearer the-token-of-this-server"}
    files = [("files", ("a.md", b"# A\n\nSome text for the article.", "text/markdown"))]
    ok = await client.post(
        "/api/v1/knowledge/import", data={"site": str(site_id)}, files=files, headers=token
    )
    assert ok.status_code == 200
    listing = await client.get("/api/v1/knowledge/articles", headers=token)
    assert listing.status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await client.post("/api/v1/knowledge/reindex", headers=wrong)).status_code == 401
    assert (await client.post("/api/v1/knowledge/reindex", headers=token)).status_code == 200


async def test_language_is_detected_when_not_given_and_editable(
    db: Database, client: httpx.AsyncClient
) -> None:
    site_id, headers = await _headers(db)
    editor = headers["editor"]

    async def create(kind: str, **fields: object) -> dict[str, object]:
        response = await client.post(
            f"/api/v1/knowledge/{kind}", json={"site_id": site_id, **fields}, headers=editor
        )
        assert response.status_code == 201, response.text
        body: dict[str, object] = response.json()
        return body

    zh = await create("articles", title="退货政策", body="收货后 30 天内可以退货，欧盟境内免费。")
    en = await create("articles", title="Returns", body="Return within 30 days, free in the EU.")
    chosen = await create("articles", title="退货", body="…", locale="en")
    assert (zh["locale"], en["locale"], chosen["locale"]) == ("zh", "en", "en")
    faq = await create("faqs", title="运费", questions=["运费多少？"], answer="满 50 欧免运费。")
    assert faq["locale"] == "zh"
    faq_en = await create("faqs", title="Shipping", questions=["Cost?"], answer="4.90 €.")
    assert faq_en["locale"] == "en"

    edited = await client.patch(
        f"/api/v1/knowledge/articles/{chosen['id']}", json={"locale": "zh"}, headers=editor
    )
    assert edited.status_code == 200 and edited.json()["locale"] == "zh"
    listed = await client.get(f"/api/v1/knowledge/articles?site={site_id}", headers=editor)
    by_id = {a["id"]: a["locale"] for a in listed.json()["items"]}
    assert by_id[zh["id"]] == "zh" and by_id[chosen["id"]] == "zh" and by_id[en["id"]] == "en"
