"""The console's audit-log page, `/console/admin/audit` (admins): filters in the query
string, one server-rendered page of entries, and a CSV link with the same filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from relaydesk.agents_console.admin_pages import _page, _who
from relaydesk.audit import service
from relaydesk.audit.models import AuditAction
from relaydesk.core.deps import DbDep, SettingsDep
from relaydesk.core.models import Role
from relaydesk.privacy import strings  # noqa: F401  (registers the page strings)
from relaydesk.sites import service as sites

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is None:
        return None
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start + timedelta(days=1) if end else start


@router.get("/console/admin/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    actor_email: Annotated[str, Query(max_length=320)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    site: Annotated[str, Query(max_length=12)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    who = await _who(request, db, settings, Role.ADMIN)
    if isinstance(who, Response):
        return who
    user, scope = who
    site_id = int(site) if site.isdigit() else None
    actions = [a.value for a in AuditAction]
    where = service.AuditFilter(
        actor_email=actor_email.strip() or None,
        action=action if action in actions else None,
        site_id=site_id,
        since=_day(since),
        until=_day(until, end=True),
    )
    rows, total = await service.list_entries(
        db, where=where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    # The REST API's names for the same filters: the CSV link exports what is shown.
    api_query = {
        "actor_email": where.actor_email,
        "action": where.action,
        "site": site_id,
        "since": where.since.isoformat() if where.since else None,
        "until": where.until.isoformat() if where.until else None,
    }
    page_query = {
        "actor_email": actor_email,
        "action": action,
        "site": site,
        "since": since,
        "until": until,
    }

    def page_link(number: int) -> str:
        kept = {k: v for k, v in page_query.items() if v}
        return "?" + urlencode({**kept, "page": number})

    site_list = await sites.list_sites(db)
    return await _page(
        request,
        db,
        settings,
        "admin/audit.html",
        section="audit",
        user=user,
        scope=scope,
        entries=rows,
        total=total,
        actions=actions,
        filters=page_query,
        site_list=site_list,
        site_names={s.id: s.name for s in site_list},
        csv_url="/api/v1/audit.csv?" + urlencode({k: v for k, v in api_query.items() if v}),
        prev_url=page_link(page - 1) if page > 1 else None,
        next_url=page_link(page + 1) if page * PAGE_SIZE < total else None,
    )
