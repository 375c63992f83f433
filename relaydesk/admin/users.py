"""REST: staff users (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from relaydesk.accounts import manage
from relaydesk.accounts import service as accounts
from relaydesk.admin.schemas import UserCreate, UserPublic, UserUpdate
from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.core.deps import DbDep, require_roles
from relaydesk.core.models import Role, StaffUser

router = APIRouter(prefix="/api/v1/users", tags=["users"])
AdminUser = Annotated[StaffUser, Depends(require_roles(Role.ADMIN))]


def user_public(user: StaffUser, team_ids: list[int]) -> UserPublic:
    assert user.id is not None
    return UserPublic(
        id=user.id,
        email=user.email,
        name=user.name,
        roles=list(user.roles),
        availability=user.availability,
        avatar_url=user.avatar_url,
        capacity=user.capacity,
        is_active=user.is_active,
        team_ids=team_ids,
        created_at=user.created_at,
    )


async def _public(db: DbDep, user: StaffUser) -> UserPublic:
    assert user.id is not None
    return user_public(user, sorted(await accounts.team_ids_of(db, user.id)))


@router.get("", response_model=list[UserPublic])
async def list_users(db: DbDep, _: AdminUser) -> list[UserPublic]:
    teams = await manage.teams_by_user(db)
    return [
        user_public(u, teams.get(u.id, [])) for u in await manage.list_users(db) if u.id is not None
    ]


@router.post("", response_model=UserPublic, status_code=201)
async def create_user(
    body: UserCreate, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> UserPublic:
    user = await accounts.create_user(
        db,
        email=body.email,
        password=body.password,
        roles=body.roles,
        name=body.name,
        team_ids=body.team_ids,
    )
    assert user.id is not None
    if body.capacity != user.capacity:
        user = await manage.update_user(db, user_id=user.id, capacity=body.capacity)
    await audit.record(
        db,
        action=AuditAction.USER_CREATE,
        actor=admin,
        ip=ip,
        target_kind="user",
        target_id=user.id,
        details={"email": user.email, "roles": list(user.roles), "team_ids": body.team_ids},
    )
    return await _public(db, user)


@router.get("/{user_id}", response_model=UserPublic)
async def get_user(user_id: int, db: DbDep, _: AdminUser) -> UserPublic:
    return await _public(db, await manage.get_user(db, user_id))


@router.patch("/{user_id}", response_model=UserPublic)
async def update_user(
    user_id: int, body: UserUpdate, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> UserPublic:
    """Change name, roles, capacity, teams or `is_active` (false deactivates: the user can
    no longer sign in, and their tokens stop working). The last active admin cannot lose
    the admin role."""
    before = await manage.get_user(db, user_id)
    teams_before = set(await accounts.team_ids_of(db, user_id))
    user = await manage.update_user(
        db,
        user_id=user_id,
        name=body.name,
        roles=body.roles,
        capacity=body.capacity,
        is_active=body.is_active,
        team_ids=body.team_ids,
    )
    await _audit_changes(db, admin, ip, before, user, teams_before)
    return await _public(db, user)


async def _audit_changes(
    db: DbDep,
    admin: StaffUser,
    ip: str | None,
    before: StaffUser,
    after: StaffUser,
    teams_before: set[int],
) -> None:
    """One entry per kind of change, so the log can be filtered by it."""
    assert after.id is not None
    teams_after = set(await accounts.team_ids_of(db, after.id))
    changes: list[tuple[AuditAction, dict[str, Any]]] = []
    if sorted(before.roles) != sorted(after.roles):
        changes.append(
            (AuditAction.USER_ROLES, {"before": sorted(before.roles), "after": sorted(after.roles)})
        )
    if before.is_active != after.is_active:
        active = AuditAction.USER_ACTIVATE if after.is_active else AuditAction.USER_DEACTIVATE
        changes.append((active, {}))
    for team_id in sorted(teams_after - teams_before):
        changes.append((AuditAction.TEAM_MEMBER_ADD, {"team_id": team_id}))
    for team_id in sorted(teams_before - teams_after):
        changes.append((AuditAction.TEAM_MEMBER_REMOVE, {"team_id": team_id}))
    other = {
        field: {"before": getattr(before, field), "after": getattr(after, field)}
        for field in ("name", "capacity")
        if getattr(before, field) != getattr(after, field)
    }
    if other:
        changes.append((AuditAction.USER_UPDATE, other))
    for action, details in changes:
        await audit.record(
            db,
            action=action,
            actor=admin,
            ip=ip,
            target_kind="user",
            target_id=after.id,
            details={"email": after.email, **details},
        )
