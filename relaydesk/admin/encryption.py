"""REST: encryption at rest, for admins: which key is current and how a rotation is doing.
Rotation itself is started from the command line (`relaydesk keys rotate`), where the key
file lives; this shows its progress to the admin UI and to monitoring."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from relaydesk.core import crypto, rotation
from relaydesk.core.deps import DbDep, require_roles
from relaydesk.core.models import Role, StaffUser

router = APIRouter(prefix="/api/v1/encryption", tags=["encryption"])
AdminUser = Annotated[StaffUser, Depends(require_roles(Role.ADMIN))]


class RotationPublic(BaseModel):
    id: int
    target_kid: str
    finished: bool
    # Per table (and `attachment_files`): {"after", "done", "finished"}.
    progress: dict[str, dict[str, Any]]


class EncryptionStatus(BaseModel):
    current_kid: str
    kids: list[str]
    # "settings" or "file" (never the file's path or any key material).
    source: str
    rotation: RotationPublic | None


@router.get("", response_model=EncryptionStatus)
async def encryption_status(db: DbDep, _admin: AdminUser) -> EncryptionStatus:
    ring = crypto.keyring()
    latest = await rotation.latest(db)
    return EncryptionStatus(
        current_kid=ring.current,
        kids=sorted(ring.keys),
        source="settings" if ring.source == "settings" else "file",
        rotation=RotationPublic(**latest.as_dict()) if latest else None,
    )
