"""REST: canned responses per site (read by whoever handles the site's conversations,
written by its supervisors and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from relaydesk.canned import service
from relaydesk.canned.models import (
    CannedResponse,
    CannedResponseCreate,
    CannedResponsePublic,
    CannedResponseUpdate,
)
from relaydesk.conversations.policy import load_scope
from relaydesk.core.deps import CurrentUser, DbDep

router = APIRouter(prefix="/api/v1/canned-responses", tags=["canned responses"])


def _public(row: CannedResponse) -> CannedResponsePublic:
    return CannedResponsePublic.model_validate(row, from_attributes=True)


@router.get("", response_model=list[CannedResponsePublic])
async def list_canned(
    db: DbDep,
    user: CurrentUser,
    site: Annotated[int, Query(ge=1, description="the site whose responses to list")],
    prefix: Annotated[
        str | None, Query(max_length=32, description="only shortcuts starting with this")
    ] = None,
) -> list[CannedResponsePublic]:
    service.require_read(await load_scope(db, user), site)
    return [_public(r) for r in await service.list_canned(db, site_id=site, prefix=prefix)]


@router.post("", response_model=CannedResponsePublic, status_code=201)
async def create_canned(
    body: CannedResponseCreate, db: DbDep, user: CurrentUser
) -> CannedResponsePublic:
    service.require_write(await load_scope(db, user), body.site_id)
    return _public(await service.create_canned(db, data=body, created_by=user.id))


@router.get("/{canned_id}", response_model=CannedResponsePublic)
async def get_canned(canned_id: int, db: DbDep, user: CurrentUser) -> CannedResponsePublic:
    row = await service.get_canned(db, canned_id)
    service.require_read(await load_scope(db, user), row.site_id)
    return _public(row)


@router.patch("/{canned_id}", response_model=CannedResponsePublic)
async def update_canned(
    canned_id: int, body: CannedResponseUpdate, db: DbDep, user: CurrentUser
) -> CannedResponsePublic:
    row = await service.get_canned(db, canned_id)
    service.require_write(await load_scope(db, user), row.site_id)
    return _public(await service.update_canned(db, canned_id=canned_id, data=body))


@router.delete("/{canned_id}", status_code=204)
async def delete_canned(canned_id: int, db: DbDep, user: CurrentUser) -> Response:
    row = await service.get_canned(db, canned_id)
    service.require_write(await load_scope(db, user), row.site_id)
    await service.delete_canned(db, canned_id=canned_id)
    return Response(status_code=204)
