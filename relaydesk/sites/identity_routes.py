"""REST for a site's identity secret (admins): the host site's server signs visitor ids
with it (`user_hash`), so `Relaydesk.identify` cannot be forged from a browser."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.core.deps import DbDep, require_roles
from relaydesk.core.models import Role, StaffUser
from relaydesk.sites import identity

router = APIRouter(prefix="/api/v1/sites", tags=["sites"])
AdminDep = Annotated[StaffUser, Depends(require_roles(Role.ADMIN))]


class IdentitySecretPublic(BaseModel):
    site_id: int
    identity_secret: str


@router.post("/{site_id}/identity-secret", response_model=IdentitySecretPublic)
async def rotate_identity_secret(
    site_id: int, db: DbDep, admin: AdminDep, ip: audit.ClientIp
) -> IdentitySecretPublic:
    """Turn identity verification on with a new random secret (replacing any old one).
    The secret is shown only in this answer: keep it on the host site's server."""
    secret = secrets.token_urlsafe(32)
    await identity.set_identity_secret(db, site_id=site_id, secret=secret)
    # The secret itself never goes into the log.
    await audit.record(
        db, action=AuditAction.IDENTITY_SECRET_ROTATE, actor=admin, ip=ip, site_id=site_id
    )
    return IdentitySecretPublic(site_id=site_id, identity_secret=secret)


@router.delete("/{site_id}/identity-secret", status_code=204)
async def clear_identity_secret(
    site_id: int, db: DbDep, admin: AdminDep, ip: audit.ClientIp
) -> Response:
    """Turn identity verification off: identities are then stored unverified."""
    await identity.set_identity_secret(db, site_id=site_id, secret=None)
    await audit.record(
        db, action=AuditAction.IDENTITY_SECRET_CLEAR, actor=admin, ip=ip, site_id=site_id
    )
    return Response(status_code=204)
