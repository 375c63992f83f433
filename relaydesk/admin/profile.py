"""REST: the signed-in staff member's own profile (name, avatar, password), and the
avatar files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, Response, UploadFile
from fastapi.responses import FileResponse

from relaydesk.accounts import manage, sessions
from relaydesk.accounts.routes import StaffUserPublic
from relaydesk.admin import avatars
from relaydesk.admin.schemas import PasswordChange, ProfileUpdate
from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.core.deps import CurrentUser, DbDep, SettingsDep
from relaydesk.core.errors import InvalidInput, NotFound
from relaydesk.core.security import SESSION_COOKIE
from relaydesk.sites.routes import public_base

router = APIRouter(prefix="/api/v1/auth/me", tags=["auth"])
files = APIRouter(include_in_schema=False)


def _public(user: object) -> StaffUserPublic:
    return StaffUserPublic.model_validate(user, from_attributes=True)


@router.patch("", response_model=StaffUserPublic)
async def update_me(body: ProfileUpdate, db: DbDep, user: CurrentUser) -> StaffUserPublic:
    """Change your name, or set (`"https://…"`) or remove (`""`) your avatar URL."""
    assert user.id is not None
    updated = await manage.update_profile(
        db,
        user_id=user.id,
        name=body.name,
        avatar_url=body.avatar_url or None,
        clear_avatar=body.avatar_url == "",
    )
    return _public(updated)


@router.post("/password", status_code=204)
async def change_password(
    request: Request, body: PasswordChange, db: DbDep, settings: SettingsDep, user: CurrentUser
) -> Response:
    """Needs the current password, so a borrowed session cannot lock the owner out. Every
    other session and token is signed out; a console session making the change gets a
    fresh cookie, a bearer-token caller must request a new token."""
    assert user.id is not None
    updated = await manage.change_password(
        db,
        user_id=user.id,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    await audit.record(
        db, action=AuditAction.PASSWORD_CHANGE, actor=user, ip=audit.client_ip(request)
    )
    response = Response(status_code=204)
    if "authorization" not in request.headers and SESSION_COOKIE in request.cookies:
        sessions.set_session_cookie(response, request, settings, updated, remember=False)
    return response


@router.post("/avatar", response_model=StaffUserPublic)
async def upload_avatar(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="PNG, JPEG, GIF or WebP, at most 512 KB")],
) -> StaffUserPublic:
    assert user.id is not None
    data = await file.read(avatars.MAX_AVATAR_BYTES + 1)
    if not data:
        raise InvalidInput("the file is empty", code="bad_image")
    name = await avatars.store(settings, data)
    url = f"{public_base(request, settings)}/avatars/{name}"
    return _public(await manage.update_profile(db, user_id=user.id, avatar_url=url))


@files.get("/avatars/{name}")
async def avatar_file(name: str, settings: SettingsDep) -> Response:
    path = avatars.directory(settings) / name
    if not avatars.NAME.match(name) or not path.is_file():
        raise NotFound("no such avatar", code="not_found")
    return FileResponse(
        path,
        media_type=avatars.MEDIA_TYPES[name.rsplit(".", 1)[1]],
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )
