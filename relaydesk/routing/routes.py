"""REST for routing: assign, transfer, bulk reassign, presence, agents and teams."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from relaydesk.audit import service as audit
from relaydesk.audit.models import AuditAction
from relaydesk.conversations.policy import load_scope
from relaydesk.conversations.schemas import ConversationPublic
from relaydesk.conversations.service import describe
from relaydesk.core.deps import CurrentUser, DbDep
from relaydesk.core.errors import Forbidden
from relaydesk.routing import presence, service
from relaydesk.routing.models import (
    AgentPublic,
    AssignTarget,
    PresencePublic,
    PresenceSet,
    ReassignRequest,
    ReassignResult,
    RoutingModeUpdate,
    TeamPublic,
    TransferTarget,
)

router = APIRouter(prefix="/api/v1", tags=["routing"])


@router.post("/conversations/reassign", response_model=ReassignResult)
async def reassign(
    db: DbDep, user: CurrentUser, body: Annotated[ReassignRequest, Body()]
) -> ReassignResult:
    """Supervisors and admins: move several conversations at once to one agent
    (`agent_id`) or into one team's queue (`team_id`). Each one succeeds or fails on its
    own; `failed` maps an id to its error."""
    scope = await load_scope(db, user)
    return await service.reassign_many(
        db,
        scope=scope,
        conversation_ids=body.conversation_ids,
        agent_id=body.agent_id,
        team_id=body.team_id,
    )


@router.post("/conversations/{conversation_id}/assign", response_model=ConversationPublic)
async def assign(
    db: DbDep, user: CurrentUser, conversation_id: str, body: AssignTarget
) -> ConversationPublic:
    """Supervisors and admins: give the conversation to an agent of their teams."""
    scope = await load_scope(db, user)
    conversation = await service.assign_to(
        db, scope=scope, conversation_id=conversation_id, agent_id=body.agent_id
    )
    return await describe(db, conversation)


@router.post("/conversations/{conversation_id}/transfer", response_model=ConversationPublic)
async def transfer(
    db: DbDep, user: CurrentUser, conversation_id: str, body: TransferTarget
) -> ConversationPublic:
    """The assignee, the team's supervisors or an admin: hand the conversation to an agent
    (`agent_id`, it stays assigned) or to a team (`team_id`, it waits in that team's
    queue and is auto-assigned when the team routes automatically)."""
    scope = await load_scope(db, user)
    conversation = await service.transfer(
        db,
        scope=scope,
        conversation_id=conversation_id,
        agent_id=body.agent_id,
        team_id=body.team_id,
    )
    return await describe(db, conversation)


@router.get("/me/presence", response_model=PresencePublic)
async def get_my_presence(db: DbDep, user: CurrentUser) -> PresencePublic:
    """`status` is what others see (offline while no console tab is connected); `chosen`
    is what you picked."""
    assert user.id is not None
    return await presence.get_presence(db, user.id)


@router.put("/me/presence", response_model=PresencePublic)
async def put_my_presence(db: DbDep, user: CurrentUser, body: PresenceSet) -> PresencePublic:
    """Pick online, away or offline; it applies while any console tab of yours is open."""
    assert user.id is not None
    scope = await load_scope(db, user)
    if not scope.handles_conversations:
        raise Forbidden("your role has no presence")
    return await presence.set_presence(db, user_id=user.id, status=body.status)


@router.get("/agents", response_model=list[AgentPublic])
async def list_agents(db: DbDep, user: CurrentUser, site: int | None = None) -> list[AgentPublic]:
    """Staff who take conversations on your sites, with presence, capacity and how many
    conversations they have open."""
    scope = await load_scope(db, user)
    return await service.list_agents(db, scope=scope, site_id=site)


@router.get("/teams", response_model=list[TeamPublic])
async def list_teams(db: DbDep, user: CurrentUser, site: int | None = None) -> list[TeamPublic]:
    """Teams of your sites with their routing mode."""
    scope = await load_scope(db, user)
    return await service.list_teams(db, scope=scope, site_id=site)


@router.put("/teams/{team_id}/routing", response_model=TeamPublic)
async def set_team_routing(
    db: DbDep, user: CurrentUser, team_id: int, body: RoutingModeUpdate, ip: audit.ClientIp
) -> TeamPublic:
    """Admins and the team's supervisors: `auto` assigns its queue to online members;
    `manual` leaves it for agents to accept."""
    scope = await load_scope(db, user)
    team = await service.set_routing_mode(db, scope=scope, team_id=team_id, mode=body.routing_mode)
    await audit.record(
        db,
        action=AuditAction.TEAM_UPDATE,
        actor=user,
        ip=ip,
        site_id=team.site_id,
        target_kind="team",
        target_id=team_id,
        details={"routing_mode": body.routing_mode},
    )
    return team
