"""REST: retention settings, a visitor's export and erasure, and their receipts.

Admins only. Supervisors lead teams, but an export or an erasure reaches every
conversation a visitor had with the site, across teams, and retention deletes a whole
site's history: both are decisions for whoever answers for the site's data
(docs/security.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import FileResponse

from relaydesk.audit import service as audit
from relaydesk.core.deps import DbDep, require_roles
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Role, StaffUser
from relaydesk.privacy import requests, service
from relaydesk.privacy.schemas import (
    ID_PATTERN,
    ReceiptPublic,
    RetentionPublic,
    RetentionUpdate,
    VisitorSummary,
)

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])
AdminUser = Annotated[StaffUser, Depends(require_roles(Role.ADMIN))]
SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
VisitorId = Annotated[str, Path(pattern=ID_PATTERN, description="The visitor's id")]
ReceiptId = Annotated[str, Path(pattern=ID_PATTERN)]


@router.get("/sites/{site_id}/retention", response_model=RetentionPublic)
async def get_retention(site_id: SiteId, db: DbDep, _: AdminUser) -> RetentionPublic:
    return RetentionPublic(site_id=site_id, retention_days=await service.get_retention(db, site_id))


@router.put("/sites/{site_id}/retention", response_model=RetentionPublic)
async def put_retention(
    site_id: SiteId, body: RetentionUpdate, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> RetentionPublic:
    """Conversations idle for longer are deleted (with their messages, files, notes and
    analytics facts) by the next purge, which runs hourly on every node."""
    days = await service.set_retention(
        db, site_id=site_id, days=body.retention_days, actor=admin, ip=ip
    )
    return RetentionPublic(site_id=site_id, retention_days=days)


@router.get("/visitors/{visitor_id}", response_model=VisitorSummary)
async def visitor_summary(visitor_id: VisitorId, db: DbDep, _: AdminUser) -> VisitorSummary:
    """The visitor's profile and how much data is held about them."""
    return VisitorSummary(**await requests.summary(db, visitor_id))


@router.post("/visitors/{visitor_id}/export", response_model=ReceiptPublic, status_code=201)
async def export_visitor(
    visitor_id: VisitorId, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> ReceiptPublic:
    """Export everything held about the visitor as a zip (export.json and the attachment
    files). The receipt has the file's SHA-256 and its download link."""
    receipt = await requests.export_visitor(db, visitor_id=visitor_id, actor=admin, ip=ip)
    return ReceiptPublic.of(receipt)


@router.delete("/visitors/{visitor_id}", response_model=ReceiptPublic)
async def delete_visitor(
    visitor_id: VisitorId, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> ReceiptPublic:
    """Erase the visitor: profile, conversations, messages, files, feedback, and earlier
    exports; their open widget is disconnected. Cannot be undone."""
    receipt = await requests.delete_visitor(db, visitor_id=visitor_id, actor=admin, ip=ip)
    return ReceiptPublic.of(receipt)


@router.get("/receipts", response_model=list[ReceiptPublic])
async def list_receipts(
    db: DbDep, _: AdminUser, site: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
) -> list[ReceiptPublic]:
    return [ReceiptPublic.of(r) for r in await service.list_receipts(db, site_id=site)]


@router.get("/receipts/{receipt_id}", response_model=ReceiptPublic)
async def get_receipt(receipt_id: ReceiptId, db: DbDep, _: AdminUser) -> ReceiptPublic:
    return ReceiptPublic.of(await service.get_receipt(db, receipt_id))


@router.get(
    "/receipts/{receipt_id}/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The export"}},
)
async def download_export(receipt_id: ReceiptId, db: DbDep, _: AdminUser) -> FileResponse:
    receipt = await service.get_receipt(db, receipt_id)
    path = requests.export_path(receipt)
    if path is None or not path.is_file():
        raise NotFound("this export is no longer kept", code="export_gone")
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"visitor-{receipt.visitor_id}-{receipt.id}.zip",
    )
