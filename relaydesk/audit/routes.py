"""REST: reading the audit log (admins only), as JSON pages or as one CSV file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from relaydesk.audit import service
from relaydesk.audit.models import AuditEntryPublic, AuditPage
from relaydesk.core.deps import DbDep, require_roles
from relaydesk.core.errors import InvalidInput
from relaydesk.core.models import Role, StaffUser

router = APIRouter(prefix="/api/v1", tags=["audit"])
AdminUser = Annotated[StaffUser, Depends(require_roles(Role.ADMIN))]

ACTION_PATTERN = r"^[a-z_]+(\.[a-z_]+)?$"


def _utc(value: datetime | None) -> datetime | None:
    """A time without a zone is UTC; one with a zone is converted."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InvalidInput("date out of range", code="invalid_date") from None


def audit_filter(
    actor: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Staff user id")] = None,
    actor_email: Annotated[str | None, Query(min_length=1, max_length=320)] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=ACTION_PATTERN,
            description="An action (`user.roles`) or a family (`user`)",
        ),
    ] = None,
    site: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time")] = None,
) -> service.AuditFilter:
    return service.AuditFilter(
        actor_id=actor,
        actor_email=actor_email,
        action=action,
        site_id=site,
        since=_utc(since),
        until=_utc(until),
    )


FilterDep = Annotated[service.AuditFilter, Depends(audit_filter)]


@router.get("/audit", response_model=AuditPage)
async def list_audit(
    db: DbDep,
    _: AdminUser,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AuditPage:
    """Staff actions, newest first, filtered by actor, action, site and time."""
    rows, total = await service.list_entries(db, where=where, limit=limit, offset=offset)
    return AuditPage(
        items=[AuditEntryPublic.of(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/audit.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The matching entries"}},
)
async def audit_csv(db: DbDep, _: AdminUser, where: FilterDep) -> StreamingResponse:
    """Every matching entry as CSV (newest first). Cells that a spreadsheet would run as a
    formula (starting with = + - @) are prefixed with an apostrophe."""
    return StreamingResponse(
        service.csv_lines(db, where=where),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
