"""Console pages of single sign-on: `/login/sso` sends the browser to the OpenID provider,
`/login/sso/callback` brings it back signed in.

What the callback must match (state, nonce, PKCE verifier, where to go next) waits in a
signed, http-only cookie scoped to `/login/sso` and valid for ten minutes. It is SameSite=Lax,
which browsers send on the provider's top-level redirect back; it binds the sign-in to the
browser that started it, so a code or state lifted from another browser is refused. It is
deleted by the callback, whatever the outcome, so a callback can be used once.

The session this ends in is exactly the password sign-in's: the same cookie, CSRF token
and session version, so sign-out, revocation and deactivation apply alike.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from relaydesk.accounts import oidc, sessions, signin, sso
from relaydesk.accounts import strings as _strings  # noqa: F401  (registers the login strings)
from relaydesk.agents_console.pages import render, safe_next
from relaydesk.core.config import Settings
from relaydesk.core.deps import DbDep, SettingsDep
from relaydesk.core.errors import NotFound, Unauthorized
from relaydesk.core.security import create_token, decode_token

router = APIRouter(include_in_schema=False)

SSO_COOKIE = "relaydesk_sso"
_COOKIE_PATH = "/login/sso"
_LIFETIME = timedelta(minutes=10)


def redirect_uri(request: Request, settings: Settings) -> str:
    """Where the provider sends the browser back: registered with the provider, so it comes
    from the configured public URL when there is one rather than from the Host header."""
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/login/sso/callback"


def _client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _refused(request: Request, next_path: str, key: str, status: int) -> Response:
    response = render(request, "login.html", status, next=next_path, error=key, email=None)
    response.delete_cookie(SSO_COOKIE, path=_COOKIE_PATH)
    return response


@router.get("/login/sso")
async def sso_start(request: Request, settings: SettingsDep, next: str = "/console") -> Response:
    if not settings.oidc_enabled:
        raise NotFound("single sign-on is not configured", code="not_found")
    target = safe_next(next[:2000])
    try:
        provider = await oidc.discover(settings)
    except oidc.SsoError:
        return _refused(request, target, "login.sso_unavailable", 502)
    url, transaction = oidc.begin(settings, provider, redirect_uri=redirect_uri(request, settings))
    cookie = create_token(
        settings,
        kind="sso",
        subject="sso",
        lifetime=_LIFETIME,
        state=transaction.state,
        nonce=transaction.nonce,
        verifier=transaction.verifier,
        next=target,
    )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        SSO_COOKIE,
        cookie,
        max_age=int(_LIFETIME.total_seconds()),
        path=_COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=sessions.cookie_secure(request, settings),
    )
    return response


@router.get("/login/sso/callback")
async def sso_callback(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    code: str = "",
    state: str = "",
    error: str = "",
) -> Response:
    if not settings.oidc_enabled:
        raise NotFound("single sign-on is not configured", code="not_found")
    ip = _client_ip(request)
    target = "/console"
    email: str | None = None
    try:
        try:
            pending = decode_token(settings, request.cookies.get(SSO_COOKIE), kind="sso")
        except Unauthorized as exc:
            raise oidc.SsoError(
                "no sign-in is in progress in this browser", code="sso_state"
            ) from exc
        target = safe_next(str(pending.get("next", "/console")))
        expected = str(pending.get("state", ""))
        if not expected or not hmac.compare_digest(expected.encode(), state[:200].encode()):
            raise oidc.SsoError("the state does not match this browser's sign-in", code="sso_state")
        if error or not code or len(code) > 2000:
            raise oidc.SsoError(f"the provider returned no code ({error[:60]})", code="sso_denied")
        provider = await oidc.discover(settings)
        transaction = oidc.Transaction(
            state=expected, nonce=str(pending["nonce"]), verifier=str(pending["verifier"])
        )
        identity = await oidc.finish(
            settings,
            provider,
            transaction,
            code=code,
            redirect_uri=redirect_uri(request, settings),
        )
        email = identity.email
        user = await sso.staff_for(db, settings, identity)
    except oidc.SsoError as exc:
        await signin.outcome(db, method="sso", email=email, ip=ip, failure=exc.code)
        unavailable = exc.code == "sso_provider"
        return _refused(
            request,
            target,
            "login.sso_unavailable" if unavailable else "login.sso_failed",
            502 if unavailable else 401,
        )
    await signin.outcome(db, method="sso", email=email, ip=ip, user=user)
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(SSO_COOKIE, path=_COOKIE_PATH)
    sessions.set_session_cookie(response, request, settings, user, remember=False)
    return response
