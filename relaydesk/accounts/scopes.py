"""What a personal API token's scopes let it call.

A token acts as its owner, so every route's own role and team checks still run: a scope
can only narrow what the owner may do, never widen it. On top of those, each REST route
needs one scope, found here from the route's path template and whether the method reads
or writes. Routes this table does not name need `admin` (fail closed: a route added later
is not open to every token by accident; tests/security/test_api_tokens.py fails on any
route missing here, so it gets a deliberate row).

Some routes refuse tokens outright (`SESSION_ONLY`): the caller's password, profile and the
tokens themselves. A leaked token must not be able to mint further tokens or lock its owner
out.
"""

from __future__ import annotations

from typing import Final, Literal

from relaydesk.accounts.models import Scope
from relaydesk.core.models import Role

Requirement = Scope | Literal["any", "session_only"]
ANY: Final = "any"
SESSION_ONLY: Final = "session_only"

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CR, CW = Scope.CONVERSATIONS_READ, Scope.CONVERSATIONS_WRITE
KR, KW = Scope.KNOWLEDGE_READ, Scope.KNOWLEDGE_WRITE

# (path template or its parent, what a read needs, what a write needs); the longest
# matching path wins.
RULES: dict[str, tuple[Requirement, Requirement]] = {
    "/api/v1/auth/me": (ANY, SESSION_ONLY),
    "/api/v1/auth/me/avatar": (SESSION_ONLY, SESSION_ONLY),
    "/api/v1/auth/me/password": (SESSION_ONLY, SESSION_ONLY),
    "/api/v1/auth/me/tokens": (SESSION_ONLY, SESSION_ONLY),
    "/api/v1/users": (Scope.ADMIN, Scope.ADMIN),
    "/api/v1/teams": (CR, Scope.ADMIN),
    "/api/v1/teams/{team_id}/routing": (CR, CW),
    "/api/v1/sites": (ANY, Scope.ADMIN),
    "/api/v1/canned-responses": (CR, CW),
    "/api/v1/conversations": (CR, CW),
    "/api/v1/labels": (CR, CW),
    "/api/v1/attachments": (CR, CW),
    "/api/v1/agents": (CR, CW),
    "/api/v1/me/presence": (ANY, CW),  # reading one's own presence
    "/api/v1/knowledge": (KR, KW),
    # Asking the bot reads the knowledge base; it changes nothing.
    "/api/v1/bot/answer": (KR, KR),
    # The bot's policy: readable with the knowledge base it answers from; changing it
    # decides where conversations go, so it is the conversation routers' scope.
    "/api/v1/bot/sites/{site_id}/policy": (KR, CW),
    "/api/v1/analytics": (Scope.ANALYTICS_READ, Scope.ADMIN),
    # Admin-only areas: who did what, personal data requests and retention, the keys.
    # A token for them is an admin's deliberate choice (e.g. automating erasure requests).
    "/api/v1/audit": (Scope.ADMIN, Scope.ADMIN),
    "/api/v1/audit.csv": (Scope.ADMIN, Scope.ADMIN),
    "/api/v1/privacy": (Scope.ADMIN, Scope.ADMIN),
    "/api/v1/encryption": (Scope.ADMIN, Scope.ADMIN),
}

# Which roles may hold each scope: a token is refused at creation for a scope its owner's
# roles could never use.
ROLES_FOR: dict[Scope, frozenset[Role]] = {
    CR: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
    CW: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
    KR: frozenset(Role),
    KW: frozenset({Role.ADMIN, Role.EDITOR}),
    Scope.ANALYTICS_READ: frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
    Scope.ADMIN: frozenset({Role.ADMIN}),
}


def rule_for(path: str) -> tuple[Requirement, Requirement] | None:
    """The row naming this path template or its nearest parent, None when there is none."""
    candidate = path
    while candidate:
        if candidate in RULES:
            return RULES[candidate]
        candidate = candidate.rpartition("/")[0]
    return None


def required(method: str, path: str) -> Requirement:
    rule = rule_for(path) or (Scope.ADMIN, Scope.ADMIN)
    return rule[0] if method.upper() in _READ_METHODS else rule[1]


def grants(scopes: list[str], requirement: Requirement) -> bool:
    if requirement == SESSION_ONLY:
        return False
    if requirement == ANY or Scope.ADMIN in scopes:
        return True
    # Writing implies reading what one writes.
    implied = {s.replace(":write", ":read") for s in scopes if s.endswith(":write")}
    return requirement in scopes or requirement in implied


def allowed_scopes(roles: list[str]) -> set[Scope]:
    return {scope for scope, holders in ROLES_FOR.items() if any(r in holders for r in roles)}
