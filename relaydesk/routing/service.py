"""Routing actions with their authorisation: assign, transfer, bulk reassign, routing mode;
the agent list for pickers; and what follows every conversation change (auto-assignment,
queue positions for waiting visitors, dropping console sockets that lost access)."""

from __future__ import annotations

import logging
from collections import defaultdict

from sqlmodel import col, select

from relaydesk.accounts import service as accounts
from relaydesk.conversations import hooks, transitions
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.policy import StaffScope, require_reassign, require_view
from relaydesk.conversations.schemas import ConversationPublic
from relaydesk.conversations.service import Actor, get_conversation
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError, Forbidden, NotFound
from relaydesk.core.models import Role, StaffUser, Team, TeamMember
from relaydesk.routing import access, assign, queue
from relaydesk.routing.models import AgentPublic, ReassignResult, RoutingMode, TeamPublic

log = logging.getLogger(__name__)


# Who may be given a conversation


async def _target_agent(db: Database, conversation: Conversation, agent_id: int) -> StaffUser:
    """An active staff member who handles conversations on the conversation's site."""
    async with db.read() as session:
        user = await session.get(StaffUser, agent_id)
    if user is None or not user.is_active:
        raise NotFound("no such agent", code="agent_not_found")
    scope = StaffScope(
        user=user,
        team_ids=frozenset(await accounts.team_ids_of(db, agent_id)),
        site_ids=frozenset(await accounts.site_ids_of(db, agent_id)),
    )
    if not scope.handles_conversations or not (
        scope.is_admin or conversation.site_id in scope.site_ids
    ):
        # Same answer as a missing id: staff of other sites stay invisible.
        raise NotFound("no such agent", code="agent_not_found")
    return user


async def _team(db: Database, conversation: Conversation, team_id: int) -> Team:
    async with db.read() as session:
        team = await session.get(Team, team_id)
    if team is None or team.site_id != conversation.site_id:
        raise NotFound("no such team", code="team_not_found")
    return team


def _is_lead(scope: StaffScope) -> bool:
    return scope.user.has_role(Role.ADMIN, Role.SUPERVISOR)


async def _require_lead_over_agent(db: Database, scope: StaffScope, agent: StaffUser) -> None:
    """A supervisor (not admin) moves work only to people of their own teams."""
    if scope.is_admin:
        return
    assert agent.id is not None
    if not scope.team_ids & set(await accounts.team_ids_of(db, agent.id)):
        raise Forbidden("that agent is not in one of your teams", code="outside_your_teams")


# Actions


async def assign_to(
    db: Database, *, scope: StaffScope, conversation_id: str, agent_id: int
) -> Conversation:
    """A supervisor or admin gives the conversation to an agent."""
    conversation = await get_conversation(db, conversation_id)
    require_reassign(scope, conversation)
    agent = await _target_agent(db, conversation, agent_id)
    await _require_lead_over_agent(db, scope, agent)
    return await transitions.assign(
        db, conversation_id=conversation_id, assignee=agent, actor=Actor.staff(scope.user)
    )


async def transfer(
    db: Database,
    *,
    scope: StaffScope,
    conversation_id: str,
    agent_id: int | None = None,
    team_id: int | None = None,
) -> Conversation:
    """Move the conversation to an agent (it stays assigned) or to a team (it waits in that
    team's queue). Allowed to its current assignee, supervisors of its team, and admins."""
    conversation = await get_conversation(db, conversation_id)
    require_view(scope, conversation)
    is_assignee = (
        conversation.status == ConversationStatus.ASSIGNED
        and conversation.assignee_id == scope.user_id
    )
    if not is_assignee:
        require_reassign(scope, conversation)
    actor = Actor.staff(scope.user)
    if agent_id is not None:
        agent = await _target_agent(db, conversation, agent_id)
        if not is_assignee:
            await _require_lead_over_agent(db, scope, agent)
        return await transitions.transfer_to_agent(
            db, conversation_id=conversation_id, assignee=agent, actor=actor
        )
    assert team_id is not None
    team = await _team(db, conversation, team_id)
    if not is_assignee and not scope.is_admin and team_id not in scope.team_ids:
        raise Forbidden("that team is not one of yours", code="outside_your_teams")
    return await transitions.transfer_to_team(
        db, conversation_id=conversation_id, team=team, actor=actor
    )


async def reassign_many(
    db: Database,
    *,
    scope: StaffScope,
    conversation_ids: list[str],
    agent_id: int | None = None,
    team_id: int | None = None,
) -> ReassignResult:
    """Bulk reassignment by a supervisor or admin (for example the conversations of an
    agent who went offline). Each conversation succeeds or fails on its own."""
    if not _is_lead(scope):
        raise Forbidden("only supervisors and admins may reassign", code="forbidden")
    moved: list[str] = []
    failed: dict[str, dict[str, object]] = {}
    for conversation_id in dict.fromkeys(conversation_ids):
        try:
            await transfer(
                db,
                scope=scope,
                conversation_id=conversation_id,
                agent_id=agent_id,
                team_id=team_id,
            )
        except DomainError as exc:
            failed[conversation_id] = exc.to_dict()
        else:
            moved.append(conversation_id)
    return ReassignResult(moved=moved, failed=failed)


async def set_routing_mode(
    db: Database, *, scope: StaffScope, team_id: int, mode: RoutingMode
) -> TeamPublic:
    async with db.write() as session:
        team = await session.get(Team, team_id)
        visible = team is not None and (scope.is_admin or team.site_id in scope.site_ids)
        if team is None or not visible:
            raise NotFound("no such team", code="team_not_found")
        if not scope.is_admin and not (
            scope.user.has_role(Role.SUPERVISOR) and team_id in scope.team_ids
        ):
            raise Forbidden("only admins and the team's supervisors may change its routing")
        team.routing_mode = mode
        public = _team_public(team)
    if mode == RoutingMode.AUTO:
        await assign.auto_assign(db, site_id=public.site_id)
    return public


# Reads


def _team_public(team: Team) -> TeamPublic:
    assert team.id is not None
    return TeamPublic(
        id=team.id, site_id=team.site_id, name=team.name, routing_mode=team.routing_mode
    )


def _site_filter(scope: StaffScope, site_id: int | None) -> list[int] | None:
    """The sites a listing covers (None: every site, for an admin)."""
    if site_id is not None:
        if not scope.is_admin and site_id not in scope.site_ids:
            raise NotFound("no such site", code="site_not_found")
        return [site_id]
    return None if scope.is_admin else sorted(scope.site_ids)


async def list_teams(db: Database, *, scope: StaffScope, site_id: int | None) -> list[TeamPublic]:
    if not scope.handles_conversations:
        raise Forbidden("your role does not route conversations")
    sites = _site_filter(scope, site_id)
    query = select(Team).order_by(col(Team.site_id), col(Team.id))
    if sites is not None:
        query = query.where(col(Team.site_id).in_(sites))
    async with db.read() as session:
        return [_team_public(t) for t in (await session.execute(query)).scalars()]


async def list_agents(db: Database, *, scope: StaffScope, site_id: int | None) -> list[AgentPublic]:
    """Staff who take conversations on the caller's sites, with presence and load (for the
    assign/transfer pickers and the supervisors' overview)."""
    if not scope.handles_conversations:
        raise Forbidden("your role does not route conversations")
    sites = _site_filter(scope, site_id)
    query = select(TeamMember.team_id, StaffUser).join(
        StaffUser, col(StaffUser.id) == col(TeamMember.user_id)
    )
    if sites is not None:
        query = query.join(Team, col(Team.id) == col(TeamMember.team_id)).where(
            col(Team.site_id).in_(sites)
        )
    async with db.read() as session:
        rows = (await session.execute(query.where(col(StaffUser.is_active).is_(True)))).all()
    teams: defaultdict[int, set[int]] = defaultdict(set)
    users: dict[int, StaffUser] = {}
    for team_id, user in rows:
        if user.id is not None and user.has_role(Role.ADMIN, Role.SUPERVISOR, Role.AGENT):
            teams[user.id].add(team_id)
            users[user.id] = user
    load = await assign.open_counts(db, list(users))
    return [
        AgentPublic(
            id=user_id,
            name=user.name,
            avatar_url=user.avatar_url,
            roles=user.roles,
            team_ids=sorted(teams[user_id]),
            presence=user.availability,
            capacity=user.capacity,
            open_conversations=load.get(user_id, 0),
        )
        for user_id, user in sorted(users.items(), key=lambda item: item[1].name.lower())
    ]


# After every change


async def after_change(
    db: Database, conversation: Conversation | ConversationPublic, before: hooks.Before
) -> None:
    """The `conversations.hooks.on_conversation_change` hook."""
    await access.revoke_lost_access(db, conversation, before)
    status = conversation.status
    # `before.status` None: a writer that does not know (an agent's message taking over).
    changed_sites: set[int] = set()
    if before.status in (None, ConversationStatus.QUEUED) or status == ConversationStatus.QUEUED:
        changed_sites.add(conversation.site_id)
    freed = before.status == ConversationStatus.ASSIGNED and (
        status != ConversationStatus.ASSIGNED or conversation.assignee_id != before.assignee_id
    )
    if status == ConversationStatus.QUEUED or freed:
        sites = {conversation.site_id}
        if freed and before.assignee_id is not None:
            sites.update(await accounts.site_ids_of(db, before.assignee_id))
        for site_id in sorted(sites):
            if await assign.auto_assign(db, site_id=site_id):
                changed_sites.discard(site_id)  # the pass has told the queue already
    for site_id in sorted(changed_sites):
        await queue.broadcast(db, site_id)


def install() -> None:
    """Register routing's reaction to conversation changes (idempotent)."""
    hooks.on_conversation_change(after_change)
