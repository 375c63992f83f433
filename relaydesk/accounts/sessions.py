"""Revoking staff sessions.

Every staff token (bearer or console cookie) carries `sv`, the user's session version when
it was issued; a token whose version is not the user's current one is refused on every
REST call and socket event. Signing out, changing the password and deactivating bump the
version, which revokes every token at once; the open console sockets are disconnected on
every node (their rooms were joined at connect, so only a disconnect stops the stream).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from relaydesk.core import realtime
from relaydesk.core.config import Settings, get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound, Unauthorized
from relaydesk.core.models import StaffUser
from relaydesk.core.security import CSRF_COOKIE, SESSION_COOKIE, create_token, new_csrf_token

VERSION_CLAIM = "sv"


def claims_for(user: StaffUser) -> dict[str, Any]:
    return {VERSION_CLAIM: user.session_version}


def check_version(user: StaffUser, claims: dict[str, Any]) -> None:
    if claims.get(VERSION_CLAIM, 0) != user.session_version:
        raise Unauthorized("this session was signed out", code="session_revoked")


async def bump(db: Database, *, user_id: int) -> StaffUser:
    """Revoke every token of the user; returns the user at its new version."""
    async with db.write() as session:
        user = await session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("no such user", code="user_not_found")
        user.session_version += 1
        session.add(user)
    return user


async def disconnect_consoles(user_id: int) -> None:
    """Close the user's console sockets wherever they are connected. Their clients
    reconnect, and the connect checks the account and the token afresh."""
    # Imported here: the tracker lives with routing, which sits above accounts.
    from relaydesk.routing import connections

    sids = await connections.get_tracker(get_settings().redis_url).sids(user_id)
    await realtime.disconnect_console(sids)


async def revoke(db: Database, *, user_id: int) -> StaffUser:
    user = await bump(db, user_id=user_id)
    await disconnect_consoles(user_id)
    return user


def cookie_secure(request: Request, settings: Settings) -> bool:
    """Cookies are Secure whenever the console is reached over https: directly, through a
    proxy uvicorn trusts (X-Forwarded-Proto), or as the configured public URL says."""
    public = (settings.public_url or "").lower()
    return request.url.scheme == "https" or public.startswith("https://")


def set_session_cookie(
    response: Response, request: Request, settings: Settings, user: StaffUser, *, remember: bool
) -> None:
    """Sign the user in on this response: a session cookie at the user's current version,
    and a fresh CSRF token (a token known before sign-in must not survive it)."""
    lifetime = timedelta(days=settings.session_days) if remember else timedelta(hours=12)
    token = create_token(
        settings, kind="session", subject=str(user.id), lifetime=lifetime, **claims_for(user)
    )
    secure = cookie_secure(request, settings)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=int(lifetime.total_seconds()) if remember else None,
    )
    response.set_cookie(
        CSRF_COOKIE, new_csrf_token(), httponly=True, samesite="strict", secure=secure
    )
