"""The console's privacy page, `/console/admin/privacy` (admins): each site's retention,
a visitor lookup with export and erase buttons, and the receipts. Changes go through the
REST API from console/src/admin.js, like the other admin pages."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from relaydesk.agents_console.admin_pages import _page, _who
from relaydesk.core.deps import DbDep, SettingsDep
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Role
from relaydesk.privacy import (
    requests,
    service,
    strings,  # noqa: F401  (registers the page strings)
)
from relaydesk.privacy.schemas import ReceiptPublic
from relaydesk.sites import service as sites

router = APIRouter(include_in_schema=False)
_VISITOR_ID = re.compile(r"^[0-9a-f]{32}$")


@router.get("/console/admin/privacy", response_class=HTMLResponse)
async def privacy_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    visitor: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    who = await _who(request, db, settings, Role.ADMIN)
    if isinstance(who, Response):
        return who
    user, scope = who
    site_list = await sites.list_sites(db)
    retention = await service.retention_by_site(db)
    visitor = visitor.strip().lower()
    found: dict[str, Any] | None = None
    missing = False
    if visitor:
        try:
            if not _VISITOR_ID.match(visitor):
                raise NotFound("no such visitor")
            found = await requests.summary(db, visitor)
        except NotFound:
            missing = True
    return await _page(
        request,
        db,
        settings,
        "admin/privacy.html",
        section="privacy",
        user=user,
        scope=scope,
        site_list=site_list,
        site_names={s.id: s.name for s in site_list},
        retention=retention,
        visitor_id=visitor,
        found=found,
        missing=missing,
        receipts=[ReceiptPublic.of(r) for r in await service.list_receipts(db, limit=100)],
    )
