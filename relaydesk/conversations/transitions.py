"""Explicit state transitions: handoff, accept, assign/transfer, resolve, hand back, reopen.

Each one locks the conversation row (`FOR UPDATE` on PostgreSQL; SQLite's write
transactions are serialised by `BEGIN IMMEDIATE`), checks the move against the state
machine, records its event in the same transaction and announces the result after commit.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.conversations import hooks, state
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.service import Actor, announce
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, IllegalTransition, NotFound
from relaydesk.core.models import StaffUser, Team, utcnow

Change = Callable[[Conversation], event_log.EventPayload]
# Where a conversation may be transferred to a team from: it waits in that team's queue.
TEAM_TRANSFER_FROM = (ConversationStatus.QUEUED, ConversationStatus.ASSIGNED)


async def _transition(
    db: Database,
    *,
    conversation_id: str,
    actor: Actor,
    transition: state.Transition | None,
    change: Change,
    target_status: Callable[[str], ConversationStatus] | None = None,
    assignee: StaffUser | None = None,
) -> Conversation:
    async with db.write() as session:
        conversation = await _lock(session, conversation_id)
        previous = conversation.status
        before = hooks.Before(
            status=previous, assignee_id=conversation.assignee_id, team_id=conversation.team_id
        )
        if transition is not None:
            target = state.next_status(previous, transition)
        else:
            assert target_status is not None
            target = target_status(previous)
        payload = change(conversation)
        conversation.status = target
        conversation.updated_at = utcnow()
        event_log.record(
            session,
            payload,
            site_id=conversation.site_id,
            actor_kind=actor.kind,
            actor_id=actor.id,
            conversation_id=conversation.id,
        )
    await announce(db, conversation, assignee=assignee)
    await hooks.conversation_changed(db, conversation, before)
    return conversation


async def _lock(session: AsyncSession, conversation_id: str) -> Conversation:
    conversation = (
        await session.execute(
            select(Conversation).where(col(Conversation.id) == conversation_id).with_for_update()
        )
    ).scalar_one_or_none()
    if conversation is None:
        raise NotFound("no such conversation", code="conversation_not_found")
    return conversation


async def request_handoff(
    db: Database,
    *,
    conversation_id: str,
    actor: Actor,
    reason: str,
    team_id: int | None = None,
) -> Conversation:
    def change(conversation: Conversation) -> event_log.EventPayload:
        conversation.handoff_reason = reason
        conversation.queued_at = utcnow()
        if team_id is not None:
            conversation.team_id = team_id
        return event_log.HandoffRequested(reason=reason, team_id=team_id)

    return await _transition(
        db,
        conversation_id=conversation_id,
        actor=actor,
        transition=state.Transition.REQUEST_HANDOFF,
        change=change,
    )


async def accept(db: Database, *, conversation_id: str, agent: StaffUser) -> Conversation:
    """An agent takes a conversation from the queue (or from the bot). Of two agents who
    race, exactly one wins; the other gets `already_assigned` naming the winner."""
    assert agent.id is not None
    agent_id = agent.id

    def change(conversation: Conversation) -> event_log.EventPayload:
        if conversation.status == ConversationStatus.ASSIGNED:
            raise Conflict(
                "another agent has already accepted this conversation",
                code="already_assigned",
                assignee_id=conversation.assignee_id,
            )
        previous = conversation.status
        conversation.assignee_id = agent_id
        conversation.assigned_at = utcnow()
        return event_log.ConversationAssigned(assignee_id=agent_id, previous_status=previous)

    try:
        return await _transition(
            db,
            conversation_id=conversation_id,
            actor=Actor.staff(agent),
            transition=state.Transition.ASSIGN,
            change=change,
            assignee=agent,
        )
    except Conflict as exc:
        if exc.code != "already_assigned":
            raise
        # The loser learns who won (read after the refused transaction: no lock held).
        winner_id = exc.details.get("assignee_id")
        async with db.read() as session:
            winner = await session.get(StaffUser, winner_id) if winner_id is not None else None
        name = winner.name if winner is not None else None
        raise Conflict(
            f"{name or 'another agent'} has already accepted this conversation",
            code="already_assigned",
            assignee_id=winner_id,
            assignee_name=name,
        ) from None


def _hand_to(
    assignee_id: int,
    event: Callable[[Conversation, int | None], event_log.EventPayload],
) -> Callable[[Conversation], event_log.EventPayload]:
    """The change that makes `assignee_id` the owner; `event(conversation, previous
    owner)` describes it, from the state before the change."""

    def change(conversation: Conversation) -> event_log.EventPayload:
        if conversation.assignee_id == assignee_id and (
            conversation.status == ConversationStatus.ASSIGNED
        ):
            raise Conflict("the conversation is already assigned to them", code="no_change")
        previous_assignee = (
            conversation.assignee_id if conversation.status == ConversationStatus.ASSIGNED else None
        )
        payload = event(conversation, previous_assignee)
        conversation.assignee_id = assignee_id
        conversation.assigned_at = utcnow()
        return payload

    return change


async def assign(
    db: Database, *, conversation_id: str, assignee: StaffUser, actor: Actor
) -> Conversation:
    """Assign or transfer to `assignee` (from the bot, the queue, or another agent)."""
    assert assignee.id is not None
    assignee_id = assignee.id

    def assigned(conversation: Conversation, previous: int | None) -> event_log.EventPayload:
        return event_log.ConversationAssigned(
            assignee_id=assignee_id,
            previous_assignee_id=previous,
            previous_status=conversation.status,
        )

    return await _transition(
        db,
        conversation_id=conversation_id,
        actor=actor,
        transition=state.Transition.ASSIGN,
        change=_hand_to(assignee_id, assigned),
        assignee=assignee,
    )


async def resolve(db: Database, *, conversation_id: str, actor: Actor) -> Conversation:
    def change(conversation: Conversation) -> event_log.EventPayload:
        conversation.resolved_at = utcnow()
        return event_log.ConversationResolved(previous_status=conversation.status)

    return await _transition(
        db,
        conversation_id=conversation_id,
        actor=actor,
        transition=state.Transition.RESOLVE,
        change=change,
    )


async def hand_back(db: Database, *, conversation_id: str, actor: Actor) -> Conversation:
    """The human gives the conversation back to the bot."""

    def change(conversation: Conversation) -> event_log.EventPayload:
        previous = conversation.assignee_id
        conversation.assignee_id = None
        conversation.handoff_reason = None
        return event_log.ConversationHandedBack(previous_assignee_id=previous)

    return await _transition(
        db,
        conversation_id=conversation_id,
        actor=actor,
        transition=state.Transition.HAND_BACK,
        change=change,
    )


async def reopen(db: Database, *, conversation_id: str, actor: Actor) -> Conversation:
    """A resolved conversation goes back to the bot with a clean slate."""

    def change(conversation: Conversation) -> event_log.EventPayload:
        conversation.assignee_id = None
        conversation.handoff_reason = None
        conversation.resolved_at = None
        return event_log.ConversationReopened()

    return await _transition(
        db,
        conversation_id=conversation_id,
        actor=actor,
        transition=state.Transition.REOPEN,
        change=change,
    )


async def transfer_to_agent(
    db: Database, *, conversation_id: str, assignee: StaffUser, actor: Actor
) -> Conversation:
    """Hand the conversation to another agent; it stays (or becomes) assigned."""
    assert assignee.id is not None
    assignee_id = assignee.id

    def transferred(conversation: Conversation, previous: int | None) -> event_log.EventPayload:
        return event_log.ConversationTransferred(
            previous_status=conversation.status,
            previous_assignee_id=previous,
            previous_team_id=conversation.team_id,
            assignee_id=assignee_id,
            team_id=conversation.team_id,
        )

    return await _transition(
        db,
        conversation_id=conversation_id,
        actor=actor,
        transition=state.Transition.ASSIGN,
        change=_hand_to(assignee_id, transferred),
        assignee=assignee,
    )


async def transfer_to_team(
    db: Database, *, conversation_id: str, team: Team, actor: Actor
) -> Conversation:
    """Put the conversation in `team`'s queue (routing then assigns it if the team is in
    auto mode). It keeps its original place in the queue: the visitor has waited already."""
    assert team.id is not None
    team_id = team.id

    def target(current: str) -> ConversationStatus:
        if current not in TEAM_TRANSFER_FROM:
            allowed = ", ".join(sorted(TEAM_TRANSFER_FROM))
            raise IllegalTransition(
                f"cannot transfer a conversation that is {current} to a team "
                f"(allowed from: {allowed})",
                status=current,
                transition="transfer_to_team",
            )
        return ConversationStatus.QUEUED

    def change(conversation: Conversation) -> event_log.EventPayload:
        if conversation.site_id != team.site_id:
            raise NotFound("no such team", code="team_not_found")
        if conversation.team_id == team_id and conversation.status == ConversationStatus.QUEUED:
            raise Conflict("the conversation is already waiting for that team", code="no_change")
        payload = event_log.ConversationTransferred(
            previous_status=conversation.status,
            previous_assignee_id=(
                conversation.assignee_id
                if conversation.status == ConversationStatus.ASSIGNED
                else None
            ),
            previous_team_id=conversation.team_id,
            assignee_id=None,
            team_id=team_id,
        )
        conversation.assignee_id = None
        conversation.assigned_at = None
        conversation.team_id = team_id
        conversation.queued_at = conversation.queued_at or utcnow()
        return payload

    return await _transition(
        db,
        conversation_id=conversation_id,
        actor=actor,
        transition=None,
        change=change,
        target_status=target,
    )
