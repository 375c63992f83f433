"""Console pages for the signed-in user's profile and the admin area (users, teams, sites,
canned responses). Server-rendered; every change goes through the REST API from
`console/src/admin.js` (one validation path, the same authorization)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.accounts import manage, tokens
from relaydesk.accounts import strings as _account_strings  # noqa: F401  (registers them)
from relaydesk.accounts.models import Scope
from relaydesk.accounts.scopes import allowed_scopes
from relaydesk.admin.teams import teams_public
from relaydesk.agents_console.admin_strings import STRINGS
from relaydesk.agents_console.pages import STATIC, _assets, _signed_in, render
from relaydesk.bot import service as bot_service
from relaydesk.canned import service as canned
from relaydesk.conversations.policy import StaffScope, load_scope
from relaydesk.core.deps import DbDep, SettingsDep
from relaydesk.core.errors import Forbidden, NotFound
from relaydesk.core.i18n import register
from relaydesk.core.models import Role, Site, StaffUser, utcnow
from relaydesk.core.security import CSRF_HEADER
from relaydesk.sites import service as sites
from relaydesk.sites.routes import embed_snippet, public_base

register(STRINGS)
router = APIRouter(include_in_schema=False)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@cache
def _admin_script() -> str:
    manifest = json.loads((STATIC / "manifest.json").read_text(encoding="utf-8"))
    return f"/console/static/{manifest['admin']}"


async def _page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    template: str,
    *,
    section: str,
    **context: Any,
) -> Response:
    user = context.pop("user")
    scope: StaffScope = context.pop("scope")
    _, styles = _assets()
    return render(
        request,
        template,
        user=user,
        scope=scope,
        section=section,
        is_admin=scope.is_admin,
        is_supervisor=user.has_role(Role.SUPERVISOR),
        styles=f"/console/static/{styles}",
        admin_js=_admin_script(),
        csrf_header=CSRF_HEADER,
        **context,
    )


async def _who(
    request: Request, db: DbDep, settings: SettingsDep, *roles: Role
) -> tuple[StaffUser, StaffScope] | Response:
    """The signed-in user and scope, or the response to send instead (sign in; 403)."""
    user = await _signed_in(request, db, settings)
    if user is None:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if roles and not user.has_role(*roles):
        return render(request, "admin/denied.html", 403, user=user, section="", styles=None)
    return user, await load_scope(db, user)


def _site_names(site_list: list[Site]) -> dict[int, str]:
    return {s.id: s.name for s in site_list if s.id is not None}


@router.get("/console/profile", response_class=HTMLResponse)
async def profile_page(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings)
    if isinstance(who, Response):
        return who
    user, scope = who
    assert user.id is not None
    return await _page(
        request,
        db,
        settings,
        "profile.html",
        section="profile",
        user=user,
        scope=scope,
        api_tokens=await tokens.list_tokens(db, user_id=user.id),
        token_scopes=[s for s in Scope if s in allowed_scopes(user.roles)],
        now=utcnow(),
    )


@router.get("/console/admin", response_class=HTMLResponse)
async def admin_home(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings, Role.ADMIN, Role.SUPERVISOR)
    if isinstance(who, Response):
        return who
    target = "users" if who[1].is_admin else "canned"
    return RedirectResponse(f"/console/admin/{target}", status_code=303)


@router.get("/console/admin/users", response_class=HTMLResponse)
async def users_page(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings, Role.ADMIN)
    if isinstance(who, Response):
        return who
    user, scope = who
    site_list = await sites.list_sites(db)
    return await _page(
        request,
        db,
        settings,
        "admin/users.html",
        section="users",
        user=user,
        scope=scope,
        users=await manage.list_users(db),
        user_teams=await manage.teams_by_user(db),
        teams=await manage.list_teams(db),
        site_names=_site_names(site_list),
        roles=[r.value for r in Role],
    )


@router.get("/console/admin/users/{user_id}", response_class=HTMLResponse)
async def user_page(user_id: int, request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings, Role.ADMIN)
    if isinstance(who, Response):
        return who
    user, scope = who
    try:
        target = await manage.get_user(db, user_id)
    except NotFound:
        return render(request, "admin/denied.html", 404, user=user, section="", styles=None)
    return await _page(
        request,
        db,
        settings,
        "admin/user_edit.html",
        section="users",
        user=user,
        scope=scope,
        target=target,
        target_teams=(await manage.teams_by_user(db)).get(user_id, []),
        teams=await manage.list_teams(db),
        site_names=_site_names(await sites.list_sites(db)),
        roles=[r.value for r in Role],
    )


@router.get("/console/admin/teams", response_class=HTMLResponse)
async def teams_page(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings, Role.ADMIN, Role.SUPERVISOR)
    if isinstance(who, Response):
        return who
    user, scope = who
    teams = [t for t in await manage.list_teams(db) if scope.is_admin or t.id in scope.team_ids]
    site_list = await sites.list_sites(db)
    return await _page(
        request,
        db,
        settings,
        "admin/teams.html",
        section="teams",
        user=user,
        scope=scope,
        teams=await teams_public(db, teams),
        site_list=site_list,
        site_names=_site_names(site_list),
    )


@router.get("/console/admin/teams/{team_id}", response_class=HTMLResponse)
async def team_page(team_id: int, request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings, Role.ADMIN)
    if isinstance(who, Response):
        return who
    user, scope = who
    try:
        team = await manage.get_team(db, team_id)
    except NotFound:
        return render(request, "admin/denied.html", 404, user=user, section="", styles=None)
    [public] = await teams_public(db, [team])
    member_ids = {m.id for m in public.members}
    return await _page(
        request,
        db,
        settings,
        "admin/team_edit.html",
        section="teams",
        user=user,
        scope=scope,
        team=public,
        site=await sites.get_site(db, team.site_id),
        candidates=[
            u for u in await manage.list_users(db) if u.id not in member_ids and u.is_active
        ],
    )


@router.get("/console/admin/sites", response_class=HTMLResponse)
async def sites_page(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings, Role.ADMIN)
    if isinstance(who, Response):
        return who
    user, scope = who
    return await _page(
        request,
        db,
        settings,
        "admin/sites.html",
        section="sites",
        user=user,
        scope=scope,
        site_list=await sites.list_sites(db),
    )


@router.get("/console/admin/sites/{site_id}", response_class=HTMLResponse)
async def site_page(site_id: int, request: Request, db: DbDep, settings: SettingsDep) -> Response:
    who = await _who(request, db, settings, Role.ADMIN)
    if isinstance(who, Response):
        return who
    user, scope = who
    try:
        site = await sites.get_site(db, site_id)
    except NotFound:
        return render(request, "admin/denied.html", 404, user=user, section="", styles=None)
    hours = site.business_hours or {}
    weekly = hours.get("weekly", {})
    days = [
        {
            "key": day,
            "open": bool(weekly.get(day)),
            "start": weekly[day][0][0] if weekly.get(day) else "09:00",
            "end": weekly[day][0][1] if weekly.get(day) else "18:00",
        }
        for day in DAYS
    ]
    return await _page(
        request,
        db,
        settings,
        "admin/site_edit.html",
        section="sites",
        user=user,
        scope=scope,
        site=site,
        snippet=embed_snippet(public_base(request, settings), site.site_key),
        always_open=not hours,
        timezone=hours.get("timezone", "UTC"),
        days=days,
        policy=await bot_service.get_policy(db, site_id),
    )


def _canned_sites(scope: StaffScope, site_list: list[Site]) -> list[Site]:
    return [s for s in site_list if s.id is not None and canned.may_read(scope, s.id)]


@router.get("/console/admin/canned", response_class=HTMLResponse)
async def canned_page(
    request: Request, db: DbDep, settings: SettingsDep, site: int | None = None
) -> Response:
    who = await _who(request, db, settings, Role.ADMIN, Role.SUPERVISOR)
    if isinstance(who, Response):
        return who
    user, scope = who
    choices = _canned_sites(scope, await sites.list_sites(db))
    current = next((s for s in choices if s.id == site), choices[0] if choices else None)
    rows = await canned.list_canned(db, site_id=current.id) if current and current.id else []
    return await _page(
        request,
        db,
        settings,
        "admin/canned.html",
        section="canned",
        user=user,
        scope=scope,
        site_list=choices,
        current=current,
        rows=rows,
        writable=current is not None
        and current.id is not None
        and canned.may_write(scope, current.id),
    )


@router.get("/console/admin/canned/{canned_id}", response_class=HTMLResponse)
async def canned_edit_page(
    canned_id: int, request: Request, db: DbDep, settings: SettingsDep
) -> Response:
    who = await _who(request, db, settings, Role.ADMIN, Role.SUPERVISOR)
    if isinstance(who, Response):
        return who
    user, scope = who
    try:
        row = await canned.get_canned(db, canned_id)
        canned.require_write(scope, row.site_id)
    except (NotFound, Forbidden):
        return render(request, "admin/denied.html", 404, user=user, section="", styles=None)
    return await _page(
        request,
        db,
        settings,
        "admin/canned_edit.html",
        section="canned",
        user=user,
        scope=scope,
        row=row,
        site=await sites.get_site(db, row.site_id),
    )
