"""Labels: per-site labels managed by supervisors and admins, set on conversations by
anyone who may write in them, shown and filtered in the inbox, pushed live to staff.
Also the inbox's Team view and counts, and reopening over the socket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from relaydesk.api.app import create_app
from relaydesk.collab import service as collab
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.policy import load_scope
from relaydesk.conversations.schemas import dump
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import Role, Site, StaffUser
from tests import sockets
from tests.conftest import RecordingEmitter
from tests.factories import bearer_for, default_team, make_conversation, make_site, make_staff
from tests.waiting import eventually


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    transport = httpx.ASGITransport(app=app.api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def auth(user: StaffUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer_for(user)}"}


async def _conversation(db: Database, site: Site, *, team_id: int | None = None) -> Conversation:
    conversation = await make_conversation(db, site)
    if team_id is not None:
        conversation = await transitions.request_handoff(
            db,
            conversation_id=conversation.id,
            actor=Actor.visitor(conversation.visitor_id),
            reason="visitor",
            team_id=team_id,
        )
    return conversation


async def _label(
    client: httpx.AsyncClient, user: StaffUser, site: Site, name: str, color: str = "#f79009"
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/labels",
        json={"site_id": site.id, "name": name, "color": color},
        headers=auth(user),
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.postgres
async def test_manage_labels_by_role(db: Database, client: httpx.AsyncClient, backend: str) -> None:
    site, other = await make_site(db), await make_site(db)
    supervisor = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    admin = await make_staff(db, roles=[Role.ADMIN])
    agent = await make_staff(db, site=site)
    editor = await make_staff(db, site=site, roles=[Role.EDITOR])
    other_lead = await make_staff(db, site=other, roles=[Role.SUPERVISOR])

    vip = await _label(client, supervisor, site, "  VIP   customer ", "#AABBCC")
    assert vip["name"] == "VIP customer" and vip["color"] == "#aabbcc"
    await _label(client, admin, other, "Billing")
    body = {"site_id": site.id, "name": "Refund"}
    forbidden = await client.post("/api/v1/labels", json=body, headers=auth(agent))
    assert forbidden.status_code == 403
    hidden = await client.post("/api/v1/labels", json=body, headers=auth(other_lead))
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "site_not_found"
    dup = await client.post(
        "/api/v1/labels", json={"site_id": site.id, "name": "VIP customer"}, headers=auth(admin)
    )
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "label_exists"
    for bad in (
        {"site_id": site.id, "name": ""},
        {"site_id": site.id, "name": "x" * 41},
        {"site_id": site.id, "name": "tab\x01"},
        {"site_id": site.id, "name": "ok", "color": "red"},
        {"site_id": site.id, "name": "ok", "color": "#12345g"},
        {"site_id": str(site.id), "name": "ok"},
        {"name": "ok"},
    ):
        response = await client.post("/api/v1/labels", json=bad, headers=auth(admin))
        assert response.status_code == 422, (bad, response.text)

    listed = await client.get("/api/v1/labels", params={"site": site.id}, headers=auth(agent))
    assert [label["name"] for label in listed.json()] == ["VIP customer"]
    mine = await client.get("/api/v1/labels", headers=auth(agent))
    assert [label["name"] for label in mine.json()] == ["VIP customer"]
    everything = await client.get("/api/v1/labels", headers=auth(admin))
    assert {label["name"] for label in everything.json()} == {"VIP customer", "Billing"}
    assert (await client.get("/api/v1/labels", headers=auth(editor))).status_code == 403
    foreign = await client.get("/api/v1/labels", params={"site": other.id}, headers=auth(agent))
    assert foreign.status_code == 404
    assert (await client.get("/api/v1/labels")).status_code == 401

    url = f"/api/v1/labels/{vip['id']}"
    assert (await client.delete(url, headers=auth(agent))).status_code == 403
    assert (await client.delete(url, headers=auth(other_lead))).status_code == 404
    assert (await client.delete(url, headers=auth(supervisor))).status_code == 204
    assert (await client.delete(url, headers=auth(supervisor))).status_code == 404


async def test_conversation_labels_inbox_rows_filter_and_counts(
    db: Database, client: httpx.AsyncClient
) -> None:
    site, other = await make_site(db), await make_site(db)
    team = await default_team(db, site)
    assert team.id is not None
    supervisor = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    agent = await make_staff(db, site=site)
    colleague = await make_staff(db, site=site)
    editor = await make_staff(db, site=site, roles=[Role.EDITOR])
    vip = await _label(client, supervisor, site, "VIP")
    refund = await _label(client, supervisor, site, "Refund")
    foreign = await _label(client, await make_staff(db, roles=[Role.ADMIN]), other, "Elsewhere")
    routed = await _conversation(db, site, team_id=team.id)
    plain = await _conversation(db, site)
    owned = await _conversation(db, site)
    await transitions.accept(db, conversation_id=owned.id, agent=colleague)

    url = f"/api/v1/conversations/{routed.id}/labels"
    put = await client.put(url, json={"label_ids": [refund["id"], vip["id"]]}, headers=auth(agent))
    assert put.status_code == 200, put.text
    assert [label["name"] for label in put.json()] == ["Refund", "VIP"]
    for bad, code in (
        ({"label_ids": [foreign["id"]]}, "invalid_label"),
        ({"label_ids": [999_999]}, "invalid_label"),
        ({"label_ids": ["1"]}, "invalid_payload"),
        ({"label_ids": list(range(51))}, "invalid_payload"),
        ({}, "invalid_payload"),
    ):
        response = await client.put(url, json=bad, headers=auth(agent))
        assert response.status_code == 422 and response.json()["error"]["code"] == code
    for user in (editor, agent):
        denied = await client.put(
            f"/api/v1/conversations/{owned.id if user is agent else routed.id}/labels",
            json={"label_ids": [vip["id"]]},
            headers=auth(user),
        )
        assert denied.status_code == 404, denied.text
    assert (await client.put(url, json={"label_ids": []})).status_code == 401
    got = await client.get(url, headers=auth(supervisor))
    assert [label["name"] for label in got.json()] == ["Refund", "VIP"]

    async def ids(user: StaffUser, **params: Any) -> list[str]:
        response = await client.get("/api/v1/conversations", params=params, headers=auth(user))
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["items"]]

    queue = await client.get("/api/v1/conversations", params={"view": "queue"}, headers=auth(agent))
    rows = {row["id"]: row for row in queue.json()["items"]}
    assert [label["name"] for label in rows[routed.id]["labels"]] == ["Refund", "VIP"]
    assert rows[plain.id]["labels"] == []
    assert await ids(agent, view="queue", label=vip["id"]) == [routed.id]
    assert await ids(agent, view="queue", label=foreign["id"]) == []
    one = await client.get(f"/api/v1/conversations/{routed.id}", headers=auth(agent))
    assert [label["name"] for label in one.json()["labels"]] == ["Refund", "VIP"]

    # Team view: conversations routed to one of the caller's teams.
    assert await ids(agent, view="team") == [routed.id]
    assert await ids(supervisor, view="team") == [routed.id]
    counts = await client.get("/api/v1/conversations/counts", headers=auth(agent))
    assert counts.json() == {"queue": 2, "mine": 0, "team": 1, "all": None, "resolved": 0}
    lead_counts = await client.get("/api/v1/conversations/counts", headers=auth(supervisor))
    assert lead_counts.json() == {"queue": 2, "mine": 0, "team": 1, "all": 3, "resolved": 0}
    filtered = await client.get(
        "/api/v1/conversations/counts", params={"label": vip["id"]}, headers=auth(supervisor)
    )
    assert filtered.json() == {"queue": 1, "mine": 0, "team": 1, "all": 1, "resolved": 0}
    assert (
        await client.get("/api/v1/conversations/counts", headers=auth(editor))
    ).status_code == 403

    # Deleting a label takes it off its conversations.
    await client.delete(f"/api/v1/labels/{vip['id']}", headers=auth(supervisor))
    got = await client.get(url, headers=auth(supervisor))
    assert [label["name"] for label in got.json()] == ["Refund"]


async def test_label_events_rebuild_the_inbox_labels(
    db: Database, client: httpx.AsyncClient, emitted: RecordingEmitter
) -> None:
    """state + events = fresh fetch for `conversation:labels`, per audience, and no label
    event reaches the visitor side."""
    site = await make_site(db)
    supervisor = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    agent = await make_staff(db, site=site)
    vip = await _label(client, supervisor, site, "VIP")
    refund = await _label(client, supervisor, site, "Refund")
    conversation = await _conversation(db, site)
    scope = await load_scope(db, agent)

    async def put(ids: list[int]) -> None:
        await collab.set_labels(db, scope=scope, conversation_id=conversation.id, label_ids=ids)

    await put([vip["id"]])
    await put([vip["id"], refund["id"]])
    await put([vip["id"], refund["id"]])  # no change: no event
    await transitions.accept(db, conversation_id=conversation.id, agent=agent)
    await put([refund["id"]])
    with pytest.raises(DomainError):
        await put([12345])

    def applied(rooms: set[str]) -> list[str] | None:
        seen = None
        for e in emitted.of("conversation:labels", namespace="/console"):
            if e["room"] in rooms and e["data"]["conversation_id"] == conversation.id:
                seen = [label["name"] for label in e["data"]["labels"]]
        return seen

    fresh = [
        label.name
        for label in await collab.conversation_labels(
            db, scope=scope, conversation_id=conversation.id
        )
    ]
    assert fresh == ["Refund"]
    assert applied({f"site:{site.id}", f"staff:{agent.id}"}) == fresh
    assert applied({f"site:{site.id}", f"site:{site.id}:leads"}) == fresh
    # Other agents of the site saw the live conversation's labels, not the owned one's.
    assert applied({f"site:{site.id}"}) == ["Refund", "VIP"]
    assert len(emitted.of("conversation:labels", namespace="/console")) == 2 * 2 + 3
    assert [e for e in emitted.sent if e["namespace"] == "/widget" and "label" in e["event"]] == []


async def test_socket_labels_and_reopen(db: Database, live_server: str) -> None:
    site = await make_site(db)
    agent = await make_staff(db, site=site, name="Ava")
    lead = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    editor = await make_staff(db, site=site, roles=[Role.EDITOR])
    scope = await load_scope(db, lead)
    assert site.id is not None
    vip = await collab.create_label(db, scope=scope, site_id=site.id, name="VIP", color="#f79009")
    visitor = await sockets.visitor(live_server, site.site_key)
    cid = (await visitor.call("conversation:open", {}))["conversation"]["id"]
    await visitor.call("message:send", {"conversation_id": cid, "client_id": "v1", "text": "hi"})
    agent_peer = await sockets.staff(live_server, bearer_for(agent))
    lead_peer = await sockets.staff(live_server, bearer_for(lead))
    editor_peer = await sockets.staff(live_server, bearer_for(editor))

    ack = await agent_peer.call(
        "conversation:labels", {"conversation_id": cid, "label_ids": [vip.id]}
    )
    assert ack["ok"] and [label["name"] for label in ack["labels"]] == ["VIP"]
    [update] = await lead_peer.wait_for("conversation:labels")
    assert update == {"conversation_id": cid, "site_id": site.id, "labels": ack["labels"]}
    joined = await agent_peer.call("conversation:join", {"conversation_id": cid})
    assert joined["labels"] == ack["labels"]
    for bad, code in (
        ({"conversation_id": cid, "label_ids": "1"}, "invalid_payload"),
        ({"conversation_id": cid, "label_ids": [True]}, "invalid_payload"),
        ({"conversation_id": cid, "label_ids": [4242]}, "invalid_label"),
    ):
        refused = await agent_peer.call("conversation:labels", bad)
        assert refused["ok"] is False and refused["error"]["code"] == code, refused
    refused = await editor_peer.call(
        "conversation:labels", {"conversation_id": cid, "label_ids": []}
    )
    assert refused["ok"] is False

    # Reopen: only a resolved conversation, and then it is the bot's again.
    early = await agent_peer.call("conversation:reopen", {"conversation_id": cid})
    assert early["ok"] is False and early["error"]["code"] == "illegal_transition"
    assert (await agent_peer.call("conversation:accept", {"conversation_id": cid}))["ok"]
    assert (await agent_peer.call("conversation:resolve", {"conversation_id": cid}))["ok"]
    denied = await editor_peer.call("conversation:reopen", {"conversation_id": cid})
    assert denied["ok"] is False
    reopened = await agent_peer.call("conversation:reopen", {"conversation_id": cid})
    assert reopened["ok"], reopened
    assert reopened["conversation"]["status"] == "bot"
    assert reopened["conversation"]["assignee_id"] is None
    await eventually(
        lambda: any(
            u["conversation"]["status"] == "bot"
            and u["conversation"]["updated_at"] == reopened["conversation"]["updated_at"]
            for u in visitor.received["conversation:updated"]
        )
    )
    fresh = await conversations.get_conversation(db, cid)
    assert fresh.status == "bot" and fresh.resolved_at is None
    # Labels are kept across resolve and reopen; the visitor never heard of them.
    assert [label.name for label in (await collab.labels_of(db, [cid]))[cid]] == ["VIP"]
    assert "conversation:labels" not in visitor.received and "VIP" not in repr(visitor.received)
    for peer in (visitor, agent_peer, lead_peer, editor_peer):
        await peer.disconnect()


def test_console_strings_exist_in_every_locale() -> None:
    from relaydesk.collab.strings import STRINGS
    from relaydesk.core.i18n import MESSAGES, SUPPORTED

    assert set(STRINGS) == set(SUPPORTED)
    assert len({frozenset(table) for table in STRINGS.values()}) == 1
    for locale, table in STRINGS.items():
        assert all(MESSAGES[locale][key] == text for key, text in table.items())


async def test_label_catalogue_events_match_the_list(
    db: Database, emitted: RecordingEmitter
) -> None:
    """`label:created` / `label:deleted` applied in order give the site's label list."""
    site = await make_site(db)
    lead = await make_staff(db, site=site, roles=[Role.SUPERVISOR])
    scope = await load_scope(db, lead)
    assert site.id is not None
    made = [
        await collab.create_label(db, scope=scope, site_id=site.id, name=name, color="#123456")
        for name in ("Billing", "Bug", "VIP")
    ]
    with pytest.raises(DomainError):
        await collab.create_label(db, scope=scope, site_id=site.id, name="VIP", color="#123456")
    assert made[1].id is not None
    await collab.delete_label(db, scope=scope, label_id=made[1].id)
    view: dict[int, dict[str, Any]] = {}
    for e in emitted.sent:
        assert e["namespace"] == "/console" and e["room"] == f"site:{site.id}"
        if e["event"] == "label:created":
            view[e["data"]["label"]["id"]] = e["data"]["label"]
        elif e["event"] == "label:deleted":
            view.pop(e["data"]["label_id"])
    fresh = await collab.list_labels(db, scope=scope, site_id=site.id)
    assert sorted(view.values(), key=lambda label: label["name"]) == [
        label.model_dump(mode="json") for label in fresh
    ]
    assert [label.name for label in fresh] == ["Billing", "VIP"]


async def test_reopen_event_matches_a_fresh_fetch(db: Database, emitted: RecordingEmitter) -> None:
    site = await make_site(db)
    agent = await make_staff(db, site=site)
    conversation = await _conversation(db, site)
    await transitions.accept(db, conversation_id=conversation.id, agent=agent)
    await transitions.resolve(db, conversation_id=conversation.id, actor=Actor.staff(agent))
    before = len(emitted.sent)
    await transitions.reopen(db, conversation_id=conversation.id, actor=Actor.staff(agent))
    updates = [e for e in emitted.sent[before:] if e["event"] == "conversation:updated"]
    fresh = dump(
        await conversations.describe(db, await conversations.get_conversation(db, conversation.id))
    )
    assert fresh["status"] == "bot" and fresh["assignee_id"] is None
    assert {e["namespace"] for e in updates} == {"/console", "/widget"}
    assert all(e["data"]["conversation"] == fresh for e in updates)
