"""REST: teams and their members (admins write; supervisors read the teams they are in).

The list of teams (`GET /api/v1/teams`, every handler's sites) is served by
`relaydesk.routing.routes`, which the transfer picker uses too."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from relaydesk.accounts import manage
from relaydesk.admin.schemas import TeamCreate, TeamMemberPublic, TeamPublic, TeamUpdate
from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.conversations.policy import StaffScope, load_scope
from relaydesk.core.deps import CurrentUser, DbDep, require_roles
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Role, StaffUser, Team

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])
AdminUser = Annotated[StaffUser, Depends(require_roles(Role.ADMIN))]


def _may_read(scope: StaffScope, team: Team) -> bool:
    return scope.is_admin or (scope.user.has_role(Role.SUPERVISOR) and team.id in scope.team_ids)


async def teams_public(db: DbDep, teams: list[Team]) -> list[TeamPublic]:
    members = await manage.members_by_team(db, [t.id for t in teams if t.id is not None])
    result = []
    for team in teams:
        assert team.id is not None
        result.append(
            TeamPublic(
                id=team.id,
                site_id=team.site_id,
                name=team.name,
                routing_mode=team.routing_mode,
                members=[
                    TeamMemberPublic(id=u.id, name=u.name, email=u.email, roles=list(u.roles))
                    for u in members[team.id]
                    if u.id is not None
                ],
                created_at=team.created_at,
            )
        )
    return result


@router.post("", response_model=TeamPublic, status_code=201)
async def create_team(
    body: TeamCreate, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> TeamPublic:
    team = await manage.create_team(
        db, site_id=body.site_id, name=body.name, routing_mode=body.routing_mode
    )
    await audit.record(
        db,
        action=AuditAction.TEAM_CREATE,
        actor=admin,
        ip=ip,
        site_id=team.site_id,
        target_kind="team",
        target_id=team.id,
        details={"name": team.name, "routing_mode": team.routing_mode},
    )
    return (await teams_public(db, [team]))[0]


@router.get("/{team_id}", response_model=TeamPublic)
async def get_team(team_id: int, db: DbDep, user: CurrentUser) -> TeamPublic:
    team = await manage.get_team(db, team_id)
    if not _may_read(await load_scope(db, user), team):
        raise NotFound("no such team", code="team_not_found")
    return (await teams_public(db, [team]))[0]


@router.patch("/{team_id}", response_model=TeamPublic)
async def update_team(
    team_id: int, body: TeamUpdate, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> TeamPublic:
    team = await manage.update_team(
        db, team_id=team_id, name=body.name, routing_mode=body.routing_mode
    )
    await audit.record(
        db,
        action=AuditAction.TEAM_UPDATE,
        actor=admin,
        ip=ip,
        site_id=team.site_id,
        target_kind="team",
        target_id=team.id,
        details=body.model_dump(exclude_none=True),
    )
    return (await teams_public(db, [team]))[0]


@router.put("/{team_id}/members/{user_id}", response_model=TeamPublic)
async def add_member(
    team_id: int, user_id: int, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> TeamPublic:
    await manage.add_member(db, team_id=team_id, user_id=user_id)
    team = await manage.get_team(db, team_id)
    await _member_entry(db, admin, ip, AuditAction.TEAM_MEMBER_ADD, team, user_id)
    return (await teams_public(db, [team]))[0]


@router.delete("/{team_id}/members/{user_id}", status_code=204)
async def remove_member(
    team_id: int, user_id: int, db: DbDep, admin: AdminUser, ip: audit.ClientIp
) -> Response:
    await manage.remove_member(db, team_id=team_id, user_id=user_id)
    team = await manage.get_team(db, team_id)
    await _member_entry(db, admin, ip, AuditAction.TEAM_MEMBER_REMOVE, team, user_id)
    return Response(status_code=204)


async def _member_entry(
    db: DbDep, admin: StaffUser, ip: str | None, action: AuditAction, team: Team, user_id: int
) -> None:
    await audit.record(
        db,
        action=action,
        actor=admin,
        ip=ip,
        site_id=team.site_id,
        target_kind="user",
        target_id=user_id,
        details={"team_id": team.id},
    )
