"""The dashboard page, `/console/analytics`: a server-rendered shell that loads its own
bundle (console/src/analytics.js, with the charting library), so the inbox's bundle does
not carry the charts."""

from __future__ import annotations

import json
from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from relaydesk.agents_console.pages import STATIC, _signed_in, render
from relaydesk.analytics import strings  # noqa: F401  (registers the dashboard strings)
from relaydesk.conversations.policy import load_scope
from relaydesk.core.deps import DbDep, SettingsDep
from relaydesk.core.i18n import MESSAGES, request_locale
from relaydesk.core.models import Role
from relaydesk.core.security import CSRF_HEADER
from relaydesk.sites import service as sites

router = APIRouter(include_in_schema=False)


@cache
def _assets() -> tuple[str, str]:
    manifest = json.loads((STATIC / "manifest.json").read_text(encoding="utf-8"))
    return str(manifest["analytics"]), str(manifest["analytics_css"])


@router.get("/console/analytics", response_class=HTMLResponse)
async def analytics_page(request: Request, db: DbDep, settings: SettingsDep) -> Response:
    user = await _signed_in(request, db, settings)
    if user is None:
        return RedirectResponse("/login?next=/console/analytics", status_code=303)
    scope = await load_scope(db, user)
    if not scope.handles_conversations:
        return render(request, "admin/denied.html", 403, user=user, section="", styles=None)
    locale = request_locale(request)
    prefix = ("analytics.", "console.nav", "console.reason.", "lang.", "app.")
    boot = {
        "user": {"id": user.id, "name": user.name, "roles": user.roles},
        "lead": user.has_role(Role.ADMIN, Role.SUPERVISOR),
        "sites": [
            {"id": s.id, "name": s.name}
            for s in await sites.list_sites(db)
            if scope.is_admin or s.id in scope.site_ids
        ],
        "locale": locale,
        "strings": {k: v for k, v in MESSAGES[locale].items() if k.startswith(prefix)},
        "csrf_header": CSRF_HEADER,
    }
    bundle, styles = _assets()
    return render(
        request,
        "analytics.html",
        user=user,
        boot=boot,
        bundle=f"/console/static/{bundle}",
        styles=f"/console/static/{styles}",
    )
