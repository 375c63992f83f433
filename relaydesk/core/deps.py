"""FastAPI dependencies: the app's state (`core/state.py`), its database, the signed-in
staff user."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from relaydesk.accounts import service as accounts
from relaydesk.accounts import tokens
from relaydesk.core.config import Settings, get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import Forbidden, Unauthorized
from relaydesk.core.models import Role, StaffUser
from relaydesk.core.security import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, decode_token
from relaydesk.core.state import AppState

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SettingsDep = Annotated[Settings, Depends(get_settings)]


def app_state(request: Request) -> AppState:
    """The state `create_app` keeps on the app it serves this request from."""
    found: AppState = request.app.state.relaydesk
    return found


StateDep = Annotated[AppState, Depends(app_state)]


def _database(app: StateDep) -> Database:
    return app.database


DbDep = Annotated[Database, Depends(_database)]


async def current_user(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    bearer: Annotated[str | None, Depends(oauth2_scheme)],
) -> StaffUser:
    """The staff user behind the bearer token (a signed access token, or a personal API
    token, whose scopes must cover the route), or else the console session cookie."""
    if bearer and tokens.looks_like_token(bearer):
        user, row = await tokens.authenticate(
            db, settings, token=bearer, ip=request.client.host if request.client else None
        )
        tokens.check_scope(request, row)
        request.state.api_token_id = row.id
        return user
    if bearer:
        claims = decode_token(settings, bearer, kind="access")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise Unauthorized("sign in or send a bearer token", code="unauthorized")
        claims = decode_token(settings, cookie, kind="session")
        # A cookie rides along on cross-site requests too: writes must also prove they come
        # from a console page (double submit: header equals the CSRF cookie).
        if request.method not in _SAFE_METHODS:
            expected = request.cookies.get(CSRF_COOKIE, "")
            sent = request.headers.get(CSRF_HEADER, "")
            if not expected or not hmac.compare_digest(expected, sent):
                raise Forbidden("CSRF token missing or wrong", code="csrf_failed")
    return await accounts.get_active_user(db, int(claims["sub"]), claims)


CurrentUser = Annotated[StaffUser, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, StaffUser]]:
    async def dependency(user: CurrentUser) -> StaffUser:
        if not user.has_role(*roles):
            raise Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        return user

    return dependency
