"""Canned responses: the only writer of `canned_response`, and who may read or write them."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.canned.models import CannedResponse, CannedResponseCreate, CannedResponseUpdate
from relaydesk.conversations.policy import StaffScope
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, Forbidden, NotFound
from relaydesk.core.models import Role, Site, utcnow


def may_read(scope: StaffScope, site_id: int) -> bool:
    """Whoever handles the site's conversations may use its canned responses."""
    return scope.is_admin or (scope.handles_conversations and site_id in scope.site_ids)


def may_write(scope: StaffScope, site_id: int) -> bool:
    return scope.is_admin or (scope.user.has_role(Role.SUPERVISOR) and site_id in scope.site_ids)


def require_read(scope: StaffScope, site_id: int) -> None:
    if not may_read(scope, site_id):
        # Same answer as a missing site: other sites' ids leak nothing.
        raise NotFound("no such site", code="site_not_found")


def require_write(scope: StaffScope, site_id: int) -> None:
    require_read(scope, site_id)
    if not may_write(scope, site_id):
        raise Forbidden("only supervisors and admins may change canned responses")


def _taken(shortcut: str) -> Conflict:
    return Conflict(f"the shortcut /{shortcut} exists on this site", code="shortcut_taken")


async def list_canned(
    db: Database, *, site_id: int, prefix: str | None = None
) -> list[CannedResponse]:
    query = select(CannedResponse).where(CannedResponse.site_id == site_id)
    if prefix:
        query = query.where(col(CannedResponse.shortcut).startswith(prefix.lower()))
    async with db.read() as session:
        rows = await session.execute(query.order_by(col(CannedResponse.shortcut)))
        return list(rows.scalars())


async def get_canned(db: Database, canned_id: int) -> CannedResponse:
    async with db.read() as session:
        row = await session.get(CannedResponse, canned_id)
    if row is None:
        raise NotFound("no such canned response", code="canned_not_found")
    return row


async def create_canned(
    db: Database, *, data: CannedResponseCreate, created_by: int | None
) -> CannedResponse:
    row = CannedResponse(
        site_id=data.site_id,
        shortcut=data.shortcut,
        title=data.title,
        text=data.text,
        created_by=created_by,
    )
    try:
        async with db.write() as session:
            if await session.get(Site, data.site_id) is None:
                raise NotFound("no such site", code="site_not_found")
            if await _exists(session, data.site_id, data.shortcut):
                raise _taken(data.shortcut)
            session.add(row)
    except IntegrityError as exc:  # a concurrent create won the unique constraint
        raise _taken(data.shortcut) from exc
    return row


async def update_canned(
    db: Database, *, canned_id: int, data: CannedResponseUpdate
) -> CannedResponse:
    try:
        async with db.write() as session:
            row = await session.get(CannedResponse, canned_id)
            if row is None:
                raise NotFound("no such canned response", code="canned_not_found")
            if data.shortcut is not None and data.shortcut != row.shortcut:
                if await _exists(session, row.site_id, data.shortcut):
                    raise _taken(data.shortcut)
                row.shortcut = data.shortcut
            if data.title is not None:
                row.title = data.title
            if data.text is not None:
                row.text = data.text
            row.updated_at = utcnow()
    except IntegrityError as exc:
        raise _taken(data.shortcut or "") from exc
    return row


async def delete_canned(db: Database, *, canned_id: int) -> None:
    async with db.write() as session:
        row = await session.get(CannedResponse, canned_id)
        if row is None:
            raise NotFound("no such canned response", code="canned_not_found")
        await session.delete(row)


async def _exists(session: AsyncSession, site_id: int, shortcut: str) -> bool:
    found = await session.execute(
        select(CannedResponse.id).where(
            CannedResponse.site_id == site_id, CannedResponse.shortcut == shortcut
        )
    )
    return found.first() is not None
