"""Personal API tokens: issuing, listing, revoking, and authenticating a REST request.

A token is a credential of its own, apart from the owner's sessions: signing out (which
bumps the session version) leaves it working, as does a password change, so that an
integration keeps running when its owner signs out or rotates a password. What ends it:
revoking it, its expiry, or the owner's deactivation (every token revoked, and reactivation
does not revive them). See docs/security.md, "Personal API tokens".
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from fastapi import Request
from sqlalchemy import Update, update
from sqlmodel import col, select

from relaydesk.accounts import scopes, throttle
from relaydesk.accounts.models import TOKEN_PREFIX, ApiToken, ApiTokenCreate
from relaydesk.core.config import Settings
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from relaydesk.core.models import StaffUser, utcnow

# 32 random bytes are 43 base64url characters.
_TOKEN_BYTES = 32
_TOKEN_CHARS = len(TOKEN_PREFIX) + 43
MAX_ACTIVE_TOKENS = 50
# `last_used_at` is written at most this often per token, not on every request.
_LAST_USED_GRANULARITY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(bearer: str) -> bool:
    return bearer.startswith(TOKEN_PREFIX)


async def issue(db: Database, *, user: StaffUser, data: ApiTokenCreate) -> tuple[ApiToken, str]:
    """A new token for `user`: the row and the token itself (returned this once)."""
    assert user.id is not None
    beyond = sorted(set(data.scopes) - scopes.allowed_scopes(user.roles))
    if beyond:
        raise Forbidden(
            f"your roles do not allow these scopes: {', '.join(beyond)}",
            code="scope_exceeds_role",
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    now = utcnow()
    row = ApiToken(
        user_id=user.id,
        name=data.name,
        token_hash=digest(token),
        prefix=token[: len(TOKEN_PREFIX) + 4],
        scopes=sorted({s.value for s in data.scopes}),
        created_at=now,
        expires_at=now + timedelta(days=data.expires_in_days),
    )
    async with db.write() as session:
        active = (
            await session.execute(
                select(ApiToken.id).where(
                    ApiToken.user_id == user.id,
                    col(ApiToken.revoked_at).is_(None),
                    col(ApiToken.expires_at) > now,
                )
            )
        ).all()
        if len(active) >= MAX_ACTIVE_TOKENS:
            raise Conflict(
                f"you have {MAX_ACTIVE_TOKENS} active tokens: revoke one first",
                code="too_many_tokens",
            )
        session.add(row)
    return row, token


async def list_tokens(db: Database, *, user_id: int) -> list[ApiToken]:
    async with db.read() as session:
        rows = await session.execute(
            select(ApiToken)
            .where(ApiToken.user_id == user_id)
            .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc())
        )
        return list(rows.scalars())


async def revoke(db: Database, *, user_id: int, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens (someone else's is a 404, like a missing one)."""
    async with db.write() as session:
        row = await session.get(ApiToken, token_id)
        if row is None or row.user_id != user_id:
            raise NotFound("no such token", code="token_not_found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            session.add(row)
    return row


def revoke_all_statement(user_id: int) -> Update:
    """Revokes every live token of a user, inside the caller's transaction (deactivation)."""
    return (
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=utcnow())
    )


def _throttle_keys(settings: Settings, ip: str | None) -> list[tuple[str, int]]:
    if not ip or not settings.rate_limits_on:
        return []
    return [(f"pat-ip:{ip}", settings.login_max_failures_per_ip)]


async def authenticate(
    db: Database, settings: Settings, *, token: str, ip: str | None
) -> tuple[StaffUser, ApiToken]:
    """The active owner and the row of a live token. Failures count like failed sign-ins
    from the address, and lock it out the same way (429 `too_many_attempts`)."""
    keys = _throttle_keys(settings, ip)
    await throttle.guard(settings, keys)
    now = utcnow()
    found: tuple[StaffUser, ApiToken] | None = None
    if len(token) == _TOKEN_CHARS:
        async with db.read() as session:
            row = (
                await session.execute(select(ApiToken).where(ApiToken.token_hash == digest(token)))
            ).scalar_one_or_none()
            if row is not None and row.revoked_at is None and row.expires_at > now:
                user = await session.get(StaffUser, row.user_id)
                if user is not None and user.is_active:
                    found = (user, row)
    if found is None:
        await throttle.failed(settings, keys)
        raise Unauthorized("the API token is unknown, expired or revoked", code="invalid_token")
    user, row = found
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_GRANULARITY:
        async with db.write() as session:
            await session.execute(
                update(ApiToken)
                .where(col(ApiToken.id) == row.id)
                .values(last_used_at=now, last_used_ip=(ip or "")[:64] or None)
            )
    return user, row


def check_scope(request: Request, row: ApiToken) -> None:
    """Refuse the request unless the token's scopes cover the route it reached."""
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    requirement = scopes.required(request.method, path)
    if requirement == scopes.SESSION_ONLY:
        raise Forbidden(
            "API tokens cannot call this route: sign in instead", code="session_required"
        )
    if not scopes.grants(row.scopes, requirement):
        raise Forbidden(
            f"this API token lacks the scope {requirement}",
            code="insufficient_scope",
            required_scope=str(requirement),
        )
