"""Acceptance 4: who may call every `/api/v1` route, open every `/console` page and send
every `/console` Socket.IO event, for each role, across teams and sites.

The tables below are the matrix. The first tests enumerate the app's routes and the
console namespace's handlers and fail on any that has no row, so a new route or event
cannot ship unclassified: add a row (one line) saying who may use it.

The actors: an admin (no team); a supervisor and an agent of team A on site 1; an editor
of site 1; an agent of site 2; an unauthenticated caller; and a visitor of site 1 with a
valid visitor token. Each actor gets a fresh world (database), so rows never depend on
what another actor changed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import socketio
from PIL import Image
from sqlmodel import col, update

from relaydesk.accounts import manage, scopes
from relaydesk.accounts import tokens as api_tokens
from relaydesk.accounts.models import ApiTokenCreate, Scope
from relaydesk.agents_console.pages import _assets
from relaydesk.api.app import create_app
from relaydesk.canned import service as canned
from relaydesk.canned.models import CannedResponseCreate
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site, Team, utcnow
from relaydesk.core.security import CSRF_COOKIE
from relaydesk.knowledge import service as knowledge
from relaydesk.knowledge.models import ArticleCreate, ContentStatus
from relaydesk.privacy import requests as privacy_requests
from relaydesk.widget.events import visitor_token_for
from tests import sockets
from tests.factories import (
    PASSWORD,
    bearer_for,
    default_team,
    make_conversation,
    make_site,
    make_staff,
)

ADMIN, SUP, AGENT, EDITOR, AGENT2, ANON, VISITOR = (
    "admin",
    "supervisor",
    "agent",
    "editor",
    "agent2",
    "anon",
    "visitor",
)
ACTORS = (ADMIN, SUP, AGENT, EDITOR, AGENT2, ANON, VISITOR)
STAFF = frozenset({ADMIN, SUP, AGENT, EDITOR, AGENT2})
HANDLERS = frozenset({ADMIN, SUP, AGENT, AGENT2})  # roles that handle conversations
SITE1 = frozenset({ADMIN, SUP, AGENT, EDITOR})  # staff of site 1 (admins see every site)
SITE1_HANDLERS = frozenset({ADMIN, SUP, AGENT})
SITE1_LEADS = frozenset({ADMIN, SUP})
SITE2_HANDLERS = frozenset({ADMIN, AGENT2})
KB_READERS = STAFF
KB_WRITERS1 = frozenset({ADMIN, EDITOR})
ONLY_ADMIN = frozenset({ADMIN})
EVERYONE = frozenset(ACTORS)
NOBODY: frozenset[str] = frozenset()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Call:
    """One REST request or page load; `{name}` in the path is filled from the world."""

    method: str
    path: str
    allowed: frozenset[str]
    json: Any = None
    query: str = ""
    form: dict[str, Any] | None = None
    files: bool = False
    # What an allowed actor gets; default any 2xx (pages: 200, or a redirect not to /login).
    ok: tuple[int, ...] = ()
    # What every actor gets when the route is public by design (sign-in, assets).
    public: int | None = None


def R(method: str, path: str, allowed: frozenset[str], **kw: Any) -> Call:
    return Call(method, path, allowed, **kw)


# REST under /api/v1. Path names in braces come from World.ids.
API: list[Call] = [
    # auth and profile
    R("POST", "/api/v1/auth/token", EVERYONE, public=401),  # the sign-in itself
    R("GET", "/api/v1/auth/me", STAFF),
    R("PATCH", "/api/v1/auth/me", STAFF, json={"name": "Renamed"}),
    R("POST", "/api/v1/auth/me/avatar", STAFF, files=True),
    # personal API tokens: one's own only (someone else's token id is a 404)
    R("GET", "/api/v1/auth/me/tokens", STAFF),
    R(
        "POST",
        "/api/v1/auth/me/tokens",
        STAFF,
        json={"name": "CI", "scopes": ["knowledge:read"], "expires_in_days": 7},
    ),
    R("DELETE", "/api/v1/auth/me/tokens/{admin_token}", ONLY_ADMIN),
    # users (admins only)
    R("GET", "/api/v1/users", ONLY_ADMIN),
    R("GET", "/api/v1/encryption", ONLY_ADMIN),
    R(
        "POST",
        "/api/v1/users",
        ONLY_ADMIN,
        json={"email": "new@x.test", "password": PASSWORD, "roles": ["agent"]},
    ),
    R("GET", "/api/v1/users/{target}", ONLY_ADMIN),
    R("PATCH", "/api/v1/users/{target}", ONLY_ADMIN, json={"capacity": 4}),
    # teams
    R("GET", "/api/v1/teams", HANDLERS),
    R("POST", "/api/v1/teams", ONLY_ADMIN, json={"site_id": "{site1}", "name": "Night shift"}),
    R("GET", "/api/v1/teams/{team_a}", SITE1_LEADS),
    R("GET", "/api/v1/teams/{team_b}", ONLY_ADMIN),  # cross-team: the supervisor leads A only
    R("PATCH", "/api/v1/teams/{team_a}", ONLY_ADMIN, json={"name": "Support A"}),
    R("PUT", "/api/v1/teams/{team_a}/routing", SITE1_LEADS, json={"routing_mode": "manual"}),
    R("PUT", "/api/v1/teams/{team_b}/members/{target}", ONLY_ADMIN),
    R("DELETE", "/api/v1/teams/{team_a}/members/{leaver}", ONLY_ADMIN),
    # sites
    R("GET", "/api/v1/sites", STAFF),
    R("POST", "/api/v1/sites", ONLY_ADMIN, json={"name": "New shop"}),
    R("GET", "/api/v1/sites/{site1}", SITE1),
    R("GET", "/api/v1/sites/{site2}", SITE2_HANDLERS),
    R("PATCH", "/api/v1/sites/{site1}", ONLY_ADMIN, json={"name": "Shop one"}),
    R("POST", "/api/v1/sites/{site1}/identity-secret", ONLY_ADMIN),
    R("DELETE", "/api/v1/sites/{site1}/identity-secret", ONLY_ADMIN),
    # canned responses
    R("GET", "/api/v1/canned-responses", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/canned-responses", SITE2_HANDLERS, query="site={site2}"),
    R(
        "POST",
        "/api/v1/canned-responses",
        SITE1_LEADS,
        json={"site_id": "{site1}", "shortcut": "hi", "title": "Hi", "text": "Hello!"},
    ),
    R("GET", "/api/v1/canned-responses/{canned1}", SITE1_HANDLERS),
    R("GET", "/api/v1/canned-responses/{canned2}", SITE2_HANDLERS),
    R("PATCH", "/api/v1/canned-responses/{canned1}", SITE1_LEADS, json={"title": "Shipping times"}),
    R("DELETE", "/api/v1/canned-responses/{canned_gone}", SITE1_LEADS),
    # conversations: inbox, notes, labels, routing, attachments
    R("GET", "/api/v1/conversations", HANDLERS, query="view=queue"),
    R("GET", "/api/v1/conversations/counts", HANDLERS),
    # an analytics drill-down: scoped as the figure it came from (analytics/access.py)
    R(
        "GET",
        "/api/v1/conversations",
        SITE1_HANDLERS,
        query="drill=metric%3Dhandoffs%26site%3D{site1}",
    ),
    R(
        "GET",
        "/api/v1/conversations",
        SITE2_HANDLERS,
        query="drill=metric%3Dlive_open%26site%3D{site2}",
    ),
    R(
        "GET",
        "/api/v1/conversations",
        ONLY_ADMIN,
        query="drill=metric%3Dconversations%26site%3D{site1}%26team%3D{team_b}",
    ),
    R(
        "GET",
        "/api/v1/conversations",
        SITE1_LEADS,
        query="drill=metric%3Dresolved%26site%3D{site1}%26agent%3D{target}",
    ),
    R("GET", "/api/v1/conversations/{conv_q}", SITE1_HANDLERS),
    R("GET", "/api/v1/conversations/{conv_b}", ONLY_ADMIN),  # team B: cross-team
    R("GET", "/api/v1/conversations/{conv2}", SITE2_HANDLERS),  # site 2: cross-site
    R("GET", "/api/v1/conversations/{conv_q}/notes", SITE1_HANDLERS),
    R(
        "POST",
        "/api/v1/conversations/{conv_q}/notes",
        SITE1_HANDLERS,
        json={"client_id": "n-1", "text": "VIP"},
    ),
    R(
        "POST",
        "/api/v1/conversations/{conv2}/notes",
        SITE2_HANDLERS,
        json={"client_id": "n-2", "text": "VIP"},
    ),
    R("GET", "/api/v1/labels", HANDLERS),
    R("POST", "/api/v1/labels", SITE1_LEADS, json={"site_id": "{site1}", "name": "vip"}),
    R("DELETE", "/api/v1/labels/{label1}", SITE1_LEADS),
    R("GET", "/api/v1/conversations/{conv_q}/labels", SITE1_HANDLERS),
    R(
        "PUT",
        "/api/v1/conversations/{conv_q}/labels",
        SITE1_HANDLERS,
        json={"label_ids": ["{label_keep}"]},
    ),
    R(
        "POST",
        "/api/v1/conversations/reassign",
        SITE1_LEADS,
        json={"conversation_ids": ["{conv_mine}"], "team_id": "{team_a}"},
    ),
    R(
        "POST",
        "/api/v1/conversations/{conv_assign}/assign",
        SITE1_LEADS,
        json={"agent_id": "{agent}"},
    ),
    R(
        "POST",
        "/api/v1/conversations/{conv_transfer}/transfer",
        ONLY_ADMIN,
        json={"team_id": "{team_b}"},
    ),  # cross-team
    R(
        "POST",
        "/api/v1/conversations/{conv_transfer}/transfer",
        SITE1_LEADS,
        json={"agent_id": "{agent}"},
    ),
    R("GET", "/api/v1/me/presence", STAFF),  # one's own presence
    R("PUT", "/api/v1/me/presence", HANDLERS, json={"status": "away"}),
    R("GET", "/api/v1/agents", HANDLERS),
    R("POST", "/api/v1/conversations/{conv_q}/attachments", SITE1_HANDLERS | {VISITOR}, files=True),
    R("POST", "/api/v1/conversations/{conv2}/attachments", SITE2_HANDLERS, files=True),
    R("GET", "/api/v1/attachments/{attachment1}", SITE1_HANDLERS | {VISITOR}),
    R(
        "OPTIONS", "/api/v1/conversations/{conv_q}/attachments", EVERYONE, public=204
    ),  # CORS preflight
    R("OPTIONS", "/api/v1/attachments/{attachment1}", EVERYONE, public=204),
    # knowledge base: staff read their sites; editors and admins write
    R("GET", "/api/v1/knowledge/articles", KB_READERS),
    R(
        "POST",
        "/api/v1/knowledge/articles",
        KB_WRITERS1,
        json={"site_id": "{site1}", "title": "New", "body": "Text."},
    ),
    R("GET", "/api/v1/knowledge/articles/{article1}", SITE1),
    R("GET", "/api/v1/knowledge/articles/{article2}", SITE2_HANDLERS),
    R(
        "PATCH",
        "/api/v1/knowledge/articles/{article1}",
        KB_WRITERS1,
        json={"title": "Returns policy"},
    ),
    R("DELETE", "/api/v1/knowledge/articles/{article_gone}", KB_WRITERS1),
    R("POST", "/api/v1/knowledge/articles/{article1}/publish", KB_WRITERS1),
    R("POST", "/api/v1/knowledge/articles/{article1}/unpublish", KB_WRITERS1),
    R("GET", "/api/v1/knowledge/articles/{article1}/versions", SITE1),
    R("GET", "/api/v1/knowledge/articles/{article1}/versions/1", SITE1),
    R("POST", "/api/v1/knowledge/articles/{article1}/versions/1/restore", KB_WRITERS1),
    R("GET", "/api/v1/knowledge/faqs", KB_READERS),
    R(
        "POST",
        "/api/v1/knowledge/faqs",
        KB_WRITERS1,
        json={
            "site_id": "{site1}",
            "title": "Abroad",
            "questions": ["Do you ship abroad?"],
            "answer": "Yes.",
        },
    ),
    R("GET", "/api/v1/knowledge/faqs/{faq1}", SITE1),
    R("PATCH", "/api/v1/knowledge/faqs/{faq1}", KB_WRITERS1, json={"answer": "Yes, worldwide."}),
    R("DELETE", "/api/v1/knowledge/faqs/{faq_gone}", KB_WRITERS1),
    R("POST", "/api/v1/knowledge/faqs/{faq1}/publish", KB_WRITERS1),
    R("POST", "/api/v1/knowledge/faqs/{faq1}/unpublish", KB_WRITERS1),
    R("POST", "/api/v1/knowledge/import", KB_WRITERS1, form={"site": "{site1}"}, files=True),
    R(
        "POST",
        "/api/v1/knowledge/import/url",
        KB_WRITERS1,
        json={"site_id": "{site1}", "url": "http://127.0.0.1:9/nothing"},
        ok=(200, 422, 502),
    ),
    R("POST", "/api/v1/knowledge/reindex", KB_WRITERS1, query="site={site1}"),
    R("GET", "/api/v1/knowledge/search", SITE1, query="site={site1}&q=returns"),
    R("GET", "/api/v1/knowledge/suggestions", SITE1, query="site={site1}&q=ret"),
    # bot
    R(
        "POST",
        "/api/v1/bot/answer",
        SITE1,
        json={"site": "{site1}", "question": "Can I return shoes?"},
    ),
    R("GET", "/api/v1/bot/sites/{site1}/policy", SITE1),
    R("GET", "/api/v1/bot/sites/{site2}/policy", SITE2_HANDLERS),
    R(
        "PUT",
        "/api/v1/bot/sites/{site1}/policy",
        SITE1_LEADS,
        json={"handoff_keywords": ["lawyer"]},
    ),
    # analytics: agents see only their own figures; supervisors their sites and teams
    R("GET", "/api/v1/analytics/overview", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/overview", SITE2_HANDLERS, query="site={site2}"),
    R("GET", "/api/v1/analytics/overview", SITE1_HANDLERS, query="site={site1}&team={team_a}"),
    R("GET", "/api/v1/analytics/overview", ONLY_ADMIN, query="site={site1}&team={team_b}"),
    R("GET", "/api/v1/analytics/overview", SITE1_LEADS, query="site={site1}&agent={target}"),
    R("GET", "/api/v1/analytics/timeseries", SITE1_HANDLERS, query="site={site1}&metric=handoffs"),
    R("GET", "/api/v1/analytics/drilldown", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/live", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/agents", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/utilisation", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/utilisation", SITE1_LEADS, query="site={site1}&agent={target}"),
    R("GET", "/api/v1/analytics/utilisation.csv", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/handoff-reasons", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/hours", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/entries", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/conversations.csv", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/conversations.csv", SITE2_HANDLERS, query="site={site2}"),
    R("GET", "/api/v1/analytics/agents.csv", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/handoff-reasons.csv", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/hours.csv", SITE1_HANDLERS, query="site={site1}"),
    R("GET", "/api/v1/analytics/entries.csv", SITE1_HANDLERS, query="site={site1}"),
    # audit log and privacy: admins only (docs/security.md)
    R("GET", "/api/v1/audit", ONLY_ADMIN, query="action=user&limit=5"),
    R("GET", "/api/v1/audit.csv", ONLY_ADMIN, query="site={site1}"),
    R("GET", "/api/v1/privacy/sites/{site1}/retention", ONLY_ADMIN),
    R("PUT", "/api/v1/privacy/sites/{site1}/retention", ONLY_ADMIN, json={"retention_days": 90}),
    R("GET", "/api/v1/privacy/visitors/{visitor1}", ONLY_ADMIN),
    R("POST", "/api/v1/privacy/visitors/{visitor1}/export", ONLY_ADMIN),
    R("GET", "/api/v1/privacy/receipts", ONLY_ADMIN),
    R("GET", "/api/v1/privacy/receipts/{receipt1}", ONLY_ADMIN),
    R("GET", "/api/v1/privacy/receipts/{receipt1}/export", ONLY_ADMIN),
    R("DELETE", "/api/v1/privacy/visitors/{visitor_gone}", ONLY_ADMIN),
    # Last: a password change signs out every token, the caller's bearer too.
    R(
        "POST",
        "/api/v1/auth/me/password",
        STAFF,
        json={"current_password": PASSWORD, "new_password": PASSWORD},
    ),
]

# Console pages (cookie sessions). Anonymous callers and visitors are sent to sign in.
PAGES: list[Call] = [
    R("GET", "/console", STAFF),
    R("GET", "/console/static/{bundle}", EVERYONE, public=200),  # the hashed, public bundle
    R("GET", "/console/profile", STAFF),
    R("GET", "/console/analytics", HANDLERS),
    R("GET", "/console/admin", SITE1_LEADS),
    R("GET", "/console/admin/users", ONLY_ADMIN),
    R("GET", "/console/admin/users/{target}", ONLY_ADMIN),
    R("GET", "/console/admin/teams", SITE1_LEADS),
    R("GET", "/console/admin/teams/{team_a}", ONLY_ADMIN),
    R("GET", "/console/admin/sites", ONLY_ADMIN),
    R("GET", "/console/admin/sites/{site1}", ONLY_ADMIN),
    R("GET", "/console/admin/canned", SITE1_LEADS),
    R("GET", "/console/admin/canned/{canned1}", SITE1_LEADS),
    R("GET", "/console/admin/canned/{canned2}", ONLY_ADMIN),  # cross-site
    R("GET", "/console/admin/audit", ONLY_ADMIN),
    R("GET", "/console/admin/privacy", ONLY_ADMIN),
]


@dataclass(frozen=True)
class Emit:
    event: str
    allowed: frozenset[str]
    payload: dict[str, Any] = field(default_factory=dict)


def E(event: str, allowed: frozenset[str], **payload: Any) -> Emit:
    return Emit(event, allowed, payload)


# `/console` Socket.IO events. Anonymous callers and visitors cannot even connect.
EVENTS: list[Emit] = [
    E("conversation:join", SITE1_HANDLERS, conversation_id="{conv_q}"),
    E("conversation:join", ONLY_ADMIN, conversation_id="{conv_b}"),
    E("conversation:join", SITE2_HANDLERS, conversation_id="{conv2}"),
    E("conversation:leave", STAFF, conversation_id="{conv_q}"),  # only ever leaves a room
    E("sync", SITE1_HANDLERS, conversation_id="{conv_q}", after_seq=0),
    E("sync", SITE2_HANDLERS, conversation_id="{conv2}", after_seq=0),
    E("typing", SITE1_HANDLERS, conversation_id="{conv_q}", typing=True),
    E("read", SITE1_HANDLERS, conversation_id="{conv_q}", seq=1),
    E("message:send", SITE1_HANDLERS, conversation_id="{conv_q}", client_id="s-1", text="Hi"),
    E("message:send", SITE2_HANDLERS, conversation_id="{conv2}", client_id="s-2", text="Hi"),
    E("message:send", ONLY_ADMIN, conversation_id="{conv_b}", client_id="s-3", text="Hi"),
    E("note:add", SITE1_HANDLERS, conversation_id="{conv_q}", client_id="n-9", text="Note"),
    E(
        "conversation:labels",
        SITE1_HANDLERS,
        conversation_id="{conv_q}",
        label_ids=["{label_keep}"],
    ),
    E("assist:suggest", SITE1_HANDLERS, conversation_id="{conv_q}"),
    E("handoff:summary", SITE1_HANDLERS, conversation_id="{conv_q}"),
    E("conversation:accept", SITE1_HANDLERS, conversation_id="{conv_accept}"),
    E("conversation:accept", SITE2_HANDLERS, conversation_id="{conv2_accept}"),
    E("conversation:resolve", SITE1_HANDLERS, conversation_id="{conv_resolve}"),
    E("conversation:hand_back", SITE1_HANDLERS, conversation_id="{conv_hand_back}"),
    E("conversation:reopen", SITE1_HANDLERS, conversation_id="{conv_resolved}"),
    E("conversation:assign", SITE1_LEADS, conversation_id="{conv_assign}", agent_id="{agent}"),
    E("conversation:transfer", ONLY_ADMIN, conversation_id="{conv_transfer}", team_id="{team_b}"),
    E("conversation:transfer", SITE1_LEADS, conversation_id="{conv_transfer}", agent_id="{agent}"),
    E("conversation:reassign", SITE1_LEADS, conversation_ids=["{conv_mine}"], team_id="{team_a}"),
    E("presence:set", HANDLERS, status="away"),
]


def api_routes() -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves, through included routers."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:
                yield from walk(included.routes, prefix + route.include_context.prefix)
                continue
            for method in sorted(getattr(route, "methods", None) or ()):
                if method != "HEAD":
                    yield method, prefix + route.path

    yield from walk(create_app().api.routes, "")


def _template(path: str) -> str:
    """A row's path with its fills turned back into the route's own parameter syntax."""
    parts = ["{x}" if part.startswith("{") or part.isdigit() else part for part in path.split("/")]
    return "/".join(parts)


def test_every_route_is_in_the_matrix() -> None:
    classified = {(c.method, _template(c.path)) for c in API + PAGES}
    served = {
        (method, _template(path))
        for method, path in api_routes()
        if path.startswith(("/api/v1/", "/console"))
    }
    missing = sorted(served - classified)
    assert not missing, f"routes with no row in the authorization matrix: {missing}"
    stale = sorted(classified - served)
    assert not stale, f"matrix rows for routes that no longer exist: {stale}"


def test_every_console_event_is_in_the_matrix() -> None:
    handlers = set(create_app().sio.namespace_handlers["/console"]._handlers)
    classified = {e.event for e in EVENTS}
    assert handlers - classified == set(), f"unclassified events: {handlers - classified}"
    assert classified - handlers == set(), f"rows for unknown events: {classified - handlers}"


# The world each actor acts in


@dataclass
class World:
    ids: dict[str, Any]
    tokens: dict[str, str | None]
    users: dict[str, Any]

    def fill(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
            return self.ids[value[1:-1]]
        if isinstance(value, str):
            return value.format(**self.ids)
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        return value


async def _conversation(
    db: Database,
    site: Site,
    team: Team,
    status: ConversationStatus,
    assignee: int | None = None,
) -> Conversation:
    conversation = await make_conversation(db, site, text="I need help with my order")
    now = utcnow()
    # Straight to the state under test: no routing hooks, so nothing moves during the run.
    async with db.write() as session:
        await session.execute(
            update(Conversation)
            .where(col(Conversation.id) == conversation.id)
            .values(
                status=status,
                team_id=team.id,
                assignee_id=assignee,
                queued_at=now,
                assigned_at=now if assignee else None,
                resolved_at=now if status == ConversationStatus.RESOLVED else None,
            )
        )
    return conversation


async def build_world(db: Database, client: httpx.AsyncClient) -> World:
    site1, site2 = await make_site(db, name="Shop one"), await make_site(db, name="Shop two")
    team_a, team_c = await default_team(db, site1), await default_team(db, site2)
    assert site1.id is not None and site2.id is not None
    team_b = await manage.create_team(db, site_id=site1.id, name="Billing")
    for team in (team_a, team_b, team_c):
        assert team.id is not None
        await manage.update_team(db, team_id=team.id, routing_mode="manual")
    users = {
        ADMIN: await make_staff(db, roles=[Role.ADMIN], name="Ada Admin"),
        SUP: await make_staff(db, roles=[Role.SUPERVISOR], site=site1, name="Sam Lead"),
        AGENT: await make_staff(db, roles=[Role.AGENT], site=site1, name="Ava Agent"),
        EDITOR: await make_staff(db, roles=[Role.EDITOR], site=site1, name="Eli Editor"),
        AGENT2: await make_staff(db, roles=[Role.AGENT], site=site2, name="Bo Other"),
    }
    target = await make_staff(db, roles=[Role.AGENT], site=site1, name="Tia Target")
    leaver = await make_staff(db, roles=[Role.AGENT], site=site1, name="Lee Leaver")
    agent_id = users[AGENT].id
    q = ConversationStatus.QUEUED
    conv_q = await _conversation(db, site1, team_a, q)
    ids: dict[str, Any] = {
        "site1": site1.id,
        "site2": site2.id,
        "team_a": team_a.id,
        "team_b": team_b.id,
        "target": target.id,
        "leaver": leaver.id,
        "agent": agent_id,
        "conv_q": conv_q.id,
        "conv_b": (await _conversation(db, site1, team_b, q)).id,
        "conv2": (await _conversation(db, site2, team_c, q)).id,
        "conv2_accept": (await _conversation(db, site2, team_c, q)).id,
        "conv_accept": (await _conversation(db, site1, team_a, q)).id,
        "conv_assign": (await _conversation(db, site1, team_a, q)).id,
        "conv_transfer": (await _conversation(db, site1, team_a, q)).id,
        "conv_mine": (
            await _conversation(db, site1, team_a, ConversationStatus.ASSIGNED, agent_id)
        ).id,
        "conv_resolve": (
            await _conversation(db, site1, team_a, ConversationStatus.ASSIGNED, agent_id)
        ).id,
        "conv_hand_back": (
            await _conversation(db, site1, team_a, ConversationStatus.ASSIGNED, agent_id)
        ).id,
        "conv_resolved": (
            await _conversation(db, site1, team_a, ConversationStatus.RESOLVED, agent_id)
        ).id,
    }
    for key, site_id in (("canned1", site1.id), ("canned_gone", site1.id), ("canned2", site2.id)):
        row = await canned.create_canned(
            db,
            data=CannedResponseCreate(
                site_id=site_id, shortcut=key.replace("_", "-"), title=key, text="Text"
            ),
            created_by=None,
        )
        ids[key] = row.id
    for key, site_id in (
        ("article1", site1.id),
        ("article_gone", site1.id),
        ("article2", site2.id),
    ):
        article = await knowledge.create_article(
            db,
            data=ArticleCreate(
                site_id=site_id,
                title="Returns",
                body="Return within 30 days.",
                status=ContentStatus.PUBLISHED,
            ),
            actor=knowledge.SYSTEM,
        )
        ids[key] = article.id
    admin = {"Authorization": f"Bearer {bearer_for(users[ADMIN])}"}
    for key in ("faq1", "faq_gone"):
        faq = await client.post(
            "/api/v1/knowledge/faqs",
            json={
                "site_id": site1.id,
                "title": "Parcel",
                "questions": ["Where is my parcel?"],
                "answer": "Tracking.",
            },
            headers=admin,
        )
        assert faq.status_code == 201, faq.text
        ids[key] = faq.json()["id"]
    for key in ("label1", "label_keep"):
        label = await client.post(
            "/api/v1/labels", json={"site_id": site1.id, "name": key}, headers=admin
        )
        assert label.status_code == 201, label.text
        ids[key] = label.json()["id"]
    upload = await client.post(
        f"/api/v1/conversations/{conv_q.id}/attachments",
        files={"file": ("a.png", _png(), "image/png")},
        headers=admin,
    )
    assert upload.status_code == 201, upload.text
    ids["attachment1"] = upload.json()["attachment"]["id"]
    ids["bundle"] = _assets()[0]
    admin_token, _ = await api_tokens.issue(
        db, user=users[ADMIN], data=ApiTokenCreate(name="Admin's", scopes=[Scope.ADMIN])
    )
    ids["admin_token"] = admin_token.id
    ids["visitor1"] = conv_q.visitor_id
    ids["visitor_gone"] = (await _conversation(db, site1, team_a, q)).visitor_id
    receipt = await privacy_requests.export_visitor(
        db, visitor_id=conv_q.visitor_id, actor=users[ADMIN]
    )
    ids["receipt1"] = receipt.id
    tokens: dict[str, str | None] = {k: bearer_for(u) for k, u in users.items()}
    tokens[ANON] = None
    tokens[VISITOR] = visitor_token_for(visitor_id=conv_q.visitor_id, site_id=site1.id)
    return World(ids=ids, tokens=tokens, users=users)


DENIED = (401, 403, 404)
DENIED_CODES = (
    "forbidden",
    "outside_your_teams",
    "conversation_not_found",
    "not_found",
    "site_not_found",
)


def _verdict(call: Call, who: str, response: httpx.Response, *, page: bool) -> str | None:
    """None when the response is what the matrix says; else what went wrong."""
    status = response.status_code
    if call.public is not None:
        return None if status == call.public else f"public route answered {status}"
    location = response.headers.get("location", "")
    to_login = status == 303 and location.startswith("/login")
    if who in call.allowed:
        if call.ok:
            good = status in call.ok
        elif page:
            good = status == 200 or (status in (302, 303) and not to_login)
        else:
            good = 200 <= status < 300
        return None if good else f"allowed but got {status}: {response.text[:200]}"
    if page:
        signed_out = who in (ANON, VISITOR)
        good = to_login if signed_out else status in (403, 404)
    else:
        good = status in DENIED and (who != ANON or status == 401)
    return None if good else f"should be denied but got {status}: {response.text[:200]}"


async def _request(
    client: httpx.AsyncClient, world: World, call: Call, headers: dict[str, str]
) -> httpx.Response:
    url = world.fill(call.path) + (f"?{world.fill(call.query)}" if call.query else "")
    if call.method == "POST" and call.path == "/api/v1/auth/token":
        return await client.post(url, data={"username": "nobody@x.test", "password": "wrong"})
    kwargs: dict[str, Any] = {"headers": headers}
    if call.json is not None:
        kwargs["json"] = world.fill(call.json)
    if call.form is not None:
        kwargs["data"] = world.fill(call.form)
    if call.files:
        name, data, kind = (
            ("faq.md", b"# Gift cards\n\nGift cards never expire.", "text/markdown")
            if "knowledge" in call.path
            else ("a.png", _png(), "image/png")
        )
        kwargs["files"] = {"files" if "knowledge" in call.path else "file": (name, data, kind)}
    return await client.request(call.method, url, **kwargs)


async def _sign_in(client: httpx.AsyncClient, email: str) -> None:
    await client.get("/login")
    signed = await client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": client.cookies[CSRF_COOKIE]},
    )
    assert signed.status_code == 303, signed.text


@pytest.mark.parametrize("who", ACTORS)
async def test_rest_and_pages_by_role(db: Database, live_server: str, who: str) -> None:
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
        world = await build_world(db, client)
        token = world.tokens[who]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        problems = []
        for call in API:
            response = await _request(client, world, call, headers)
            problem = _verdict(call, who, response, page=False)
            if problem:
                problems.append(f"{call.method} {call.path} {call.query}: {problem}")
        if who in world.users:
            await _sign_in(client, world.users[who].email)
        for call in PAGES:
            response = await client.get(world.fill(call.path), follow_redirects=False)
            problem = _verdict(call, who, response, page=True)
            if problem:
                problems.append(f"page {call.path}: {problem}")
    assert not problems, f"{who}:\n" + "\n".join(problems)


def _session_only(call: Call) -> bool:
    return scopes.required(call.method, _route_of(call.path)) == scopes.SESSION_ONLY


def _route_of(path: str) -> str:
    """The route template a row's path reaches (its fills as the route names them)."""
    for method_path in api_routes():
        if _template(method_path[1]) == _template(path):
            return method_path[1]
    return path


@pytest.mark.parametrize("who", sorted(STAFF))
async def test_rest_by_role_with_personal_api_tokens(
    db: Database, live_server: str, who: str
) -> None:
    """The same rows with a personal API token holding every scope the role may hold: a
    token gets what its owner's role gets on REST, except the routes that need a real
    sign-in (the password, the profile, the tokens themselves), which answer 403."""
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
        world = await build_world(db, client)
        owner = world.users[who]
        _, token = await api_tokens.issue(
            db,
            user=owner,
            data=ApiTokenCreate(
                name="All I may", scopes=sorted(scopes.allowed_scopes(owner.roles))
            ),
        )
        headers = {"Authorization": f"Bearer {token}"}
        problems = []
        for call in API:
            response = await _request(client, world, call, headers)
            if _session_only(call) and call.public is None:
                if response.status_code != 403 or response.json()["error"]["code"] != (
                    "session_required"
                ):
                    problems.append(
                        f"{call.method} {call.path}: took a token: {response.status_code}"
                    )
                continue
            problem = _verdict(call, who, response, page=False)
            if problem:
                problems.append(f"{call.method} {call.path} {call.query}: {problem}")
        # Pages are cookie sessions: a token in the Authorization header opens none.
        for call in PAGES:
            if call.public is not None:
                continue
            page = await client.get(world.fill(call.path), headers=headers, follow_redirects=False)
            if not (page.status_code == 303 and page.headers["location"].startswith("/login")):
                problems.append(f"page {call.path} opened with a token: {page.status_code}")
    assert not problems, f"{who}:\n" + "\n".join(problems)


@pytest.mark.parametrize("who", ACTORS)
async def test_console_events_by_role(db: Database, live_server: str, who: str) -> None:
    async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
        world = await build_world(db, client)
    token = world.tokens[who]
    if who in (ANON, VISITOR):
        # No staff credentials: the /console namespace refuses the connection itself.
        peer = sockets.Peer("/console")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(live_server, {"token": token} if token else {})
        return
    assert token is not None
    peer = await sockets.staff(live_server, token)
    problems = []
    try:
        for row in EVENTS:
            ack = await peer.call(row.event, world.fill(row.payload))
            if who in row.allowed and ack.get("ok") is not True:
                problems.append(f"{row.event} {row.payload}: allowed but {ack}")
            if who not in row.allowed and (
                ack.get("ok") is not False or ack["error"]["code"] not in DENIED_CODES
            ):
                problems.append(f"{row.event} {row.payload}: should be denied but {ack}")
    finally:
        await peer.disconnect()
    assert not problems, f"{who}:\n" + "\n".join(problems)
