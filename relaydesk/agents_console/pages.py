"""Console pages: sign in and out (cookie session with a double-submit CSRF token), and the
console itself: a server-rendered shell that loads the bundle built from `console/`."""

from __future__ import annotations

import hmac
import json
import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from relaydesk.accounts import service as accounts
from relaydesk.accounts import sessions, throttle
from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.conversations.policy import load_scope
from relaydesk.core.config import get_settings
from relaydesk.core.deps import DbDep, SettingsDep
from relaydesk.core.errors import NotFound, RateLimited, Unauthorized
from relaydesk.core.i18n import (
    LOCALE_COOKIE,
    MESSAGES,
    normalise_locale,
    request_locale,
    translator,
)
from relaydesk.core.models import Role, StaffUser
from relaydesk.core.security import (
    CSRF_COOKIE,
    CSRF_HEADER,
    SESSION_COOKIE,
    decode_token,
    new_csrf_token,
)
from relaydesk.sites import service as sites

STATIC = Path(__file__).parent / "static"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    locale = request_locale(request)
    settings = get_settings()
    csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    # The login page offers "Sign in with <provider>" when single sign-on is configured.
    sso = settings.oidc_provider_name if settings.oidc_enabled else None
    response = templates.TemplateResponse(
        request,
        name,
        {"locale": locale, "t": translator(locale), "csrf_token": csrf, "sso_provider": sso}
        | context,
        status_code=status_code,
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=sessions.cookie_secure(request, settings),
    )
    if normalise_locale(request.query_params.get("lang")):
        response.set_cookie(LOCALE_COOKIE, locale, samesite="lax", max_age=365 * 86400)
    return response


def _csrf_ok(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(CSRF_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, submitted)


def safe_next(target: str) -> str:
    # Only same-site paths: an absolute or protocol-relative URL would be an open redirect.
    return target if target.startswith("/") and not target.startswith("//") else "/console"


@router.get("/", response_class=RedirectResponse)
async def root() -> RedirectResponse:
    return RedirectResponse("/console", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/console") -> Response:
    return render(request, "login.html", next=safe_next(next), error=None, email=None)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    remember: Annotated[str | None, Form(max_length=8)] = None,
    next: Annotated[str, Form(max_length=2000)] = "/console",
) -> Response:
    if not _csrf_ok(request, csrf_token):
        return render(
            request, "login.html", 400, next=safe_next(next), error="login.csrf", email=email
        )
    try:
        user = await throttle.sign_in(
            db,
            settings,
            email=email,
            password=password,
            ip=request.client.host if request.client else None,
        )
    except Unauthorized:
        return render(
            request, "login.html", 401, next=safe_next(next), error="login.failed", email=email
        )
    except RateLimited as exc:
        response = render(
            request, "login.html", 429, next=safe_next(next), error="login.locked", email=email
        )
        response.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
        return response
    response = RedirectResponse(safe_next(next), status_code=303)
    sessions.set_session_cookie(response, request, settings, user, remember=bool(remember))
    return response


@router.post("/logout")
async def logout(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    if not _csrf_ok(request, csrf_token):
        return Response("CSRF token missing or wrong", status_code=400)
    user = await _signed_in(request, db, settings)
    if user is not None and user.id is not None:
        # Deleting the cookie is not enough: a copy of it would work for 14 more days.
        await sessions.revoke(db, user_id=user.id)
        await audit.record(db, action=AuditAction.LOGOUT, actor=user, ip=audit.client_ip(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@cache
def _assets() -> tuple[str, str]:
    manifest = json.loads((STATIC / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["bundle"]), str(manifest["css"])


async def _signed_in(request: Request, db: DbDep, settings: SettingsDep) -> StaffUser | None:
    try:
        claims = decode_token(settings, request.cookies.get(SESSION_COOKIE), kind="session")
        return await accounts.get_active_user(db, int(claims["sub"]), claims)
    except Unauthorized:
        return None


@router.get("/console", response_class=HTMLResponse)
async def console_home(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    user = await _signed_in(request, db, settings)
    if user is None:
        return RedirectResponse("/login?next=/console", status_code=303)
    assert user.id is not None
    scope = await load_scope(db, user)
    site_list = [
        {"id": s.id, "name": s.name}
        for s in await sites.list_sites(db)
        if scope.is_admin or s.id in scope.site_ids
    ]
    locale = request_locale(request)
    prefix = ("console.", "lang.", "app.")
    strings = {k: v for k, v in MESSAGES[locale].items() if k.startswith(prefix)}
    boot = {
        "user": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "roles": user.roles,
            "availability": user.availability,
            "team_ids": sorted(scope.team_ids),
        },
        "sites": site_list,
        "locale": locale,
        "strings": strings,
        "csrf_header": CSRF_HEADER,
        "can_inbox": scope.handles_conversations,
        "can_edit_kb": user.has_role(Role.ADMIN, Role.EDITOR),
    }
    bundle, styles = _assets()
    return render(
        request,
        "console.html",
        user=user,
        boot=boot,
        bundle=f"/console/static/{bundle}",
        styles=f"/console/static/{styles}",
    )


_ASSET = re.compile(r"^(console|admin|analytics)\.[0-9a-f]{12}\.(js|css)$")


@router.get("/console/static/{name}")
async def console_asset(name: str) -> Response:
    """The hashed console bundle: immutable, so cached for a year."""
    if not _ASSET.match(name) or not (STATIC / name).is_file():
        raise NotFound("no such file", code="not_found")
    return FileResponse(
        STATIC / name,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )
