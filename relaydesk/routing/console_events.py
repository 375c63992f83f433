"""Routing events of the `/console` namespace, as a mixin of `ConsoleNamespace`:
`presence:set`, `conversation:assign`, `conversation:transfer`, `conversation:reassign`.
The namespace calls `routing_connected`/`routing_disconnected` from its connect and
disconnect handlers so presence follows the console tabs."""

from __future__ import annotations

import logging

from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.policy import StaffScope, load_scope
from relaydesk.conversations.schemas import dump
from relaydesk.conversations.service import describe, get_conversation
from relaydesk.core.errors import Conflict, Forbidden
from relaydesk.core.models import StaffUser
from relaydesk.core.socket_rpc import Ack, event, ok
from relaydesk.core.state import AppState
from relaydesk.routing import presence, service
from relaydesk.routing.models import AssignRequest, PresenceSet, ReassignRequest, TransferRequest

log = logging.getLogger(__name__)


class RoutingEvents:
    """Needs the namespace's `_scope(sid)` (the signed-in user, reloaded per event)."""

    state: AppState  # the namespace's

    async def _scope(self, sid: str) -> StaffScope:
        raise NotImplementedError

    def _routing_sids(self) -> dict[str, int]:
        sids: dict[str, int] | None = self.__dict__.get("_routing_users")
        if sids is None:
            sids = self.__dict__["_routing_users"] = {}
        return sids

    async def routing_connected(self, sid: str, user: StaffUser) -> None:
        """Count the tab towards the user's presence (staff who take conversations)."""
        assert user.id is not None
        scope = await load_scope(self.state.database, user)
        if not scope.handles_conversations:
            return
        self._routing_sids()[sid] = user.id
        try:
            await presence.connected(self.state.database, user_id=user.id, sid=sid)
        except Exception:
            # Presence must never refuse a console; the heartbeat's sweep repairs it.
            log.exception("presence update failed on connect of user %s", user.id)

    async def routing_disconnected(self, sid: str) -> None:
        user_id = self._routing_sids().pop(sid, None)
        if user_id is None:
            return
        try:
            await presence.disconnected(self.state.database, user_id=user_id, sid=sid)
        except Exception:
            log.exception("presence update failed on disconnect of user %s", user_id)

    async def explain_lost_accept(self, sid: str, conversation_id: str) -> None:
        """Raise `already_assigned` naming the winner when the caller could have accepted
        the conversation a moment ago (same site and team) but another agent just did."""
        scope = await self._scope(sid)
        conversation = await get_conversation(self.state.database, conversation_id)
        could_have = scope.handles_conversations and (
            scope.is_admin
            or (
                conversation.site_id in scope.site_ids
                and (conversation.team_id is None or conversation.team_id in scope.team_ids)
            )
        )
        if not could_have or conversation.status != ConversationStatus.ASSIGNED:
            return
        winner = await describe(self.state.database, conversation)
        raise Conflict(
            f"{winner.assignee.name if winner.assignee else 'another agent'} "
            "has already accepted this conversation",
            code="already_assigned",
            assignee_id=conversation.assignee_id,
            assignee_name=winner.assignee.name if winner.assignee else None,
        )

    async def _conversation_ack(self, conversation: Conversation) -> Ack:
        return ok(conversation=dump(await describe(self.state.database, conversation)))

    @event("presence:set", PresenceSet)
    async def presence_set(self, sid: str, payload: PresenceSet) -> Ack:
        scope = await self._scope(sid)
        if not scope.handles_conversations:
            raise Forbidden("your role has no presence")
        result = await presence.set_presence(
            self.state.database, user_id=scope.user_id, status=payload.status
        )
        return ok(presence=result.model_dump())

    @event("conversation:assign", AssignRequest)
    async def conversation_assign(self, sid: str, payload: AssignRequest) -> Ack:
        scope = await self._scope(sid)
        conversation = await service.assign_to(
            self.state.database,
            scope=scope,
            conversation_id=payload.conversation_id,
            agent_id=payload.agent_id,
        )
        return await self._conversation_ack(conversation)

    @event("conversation:transfer", TransferRequest)
    async def conversation_transfer(self, sid: str, payload: TransferRequest) -> Ack:
        scope = await self._scope(sid)
        conversation = await service.transfer(
            self.state.database,
            scope=scope,
            conversation_id=payload.conversation_id,
            agent_id=payload.agent_id,
            team_id=payload.team_id,
        )
        return await self._conversation_ack(conversation)

    @event("conversation:reassign", ReassignRequest)
    async def conversation_reassign(self, sid: str, payload: ReassignRequest) -> Ack:
        scope = await self._scope(sid)
        result = await service.reassign_many(
            self.state.database,
            scope=scope,
            conversation_ids=payload.conversation_ids,
            agent_id=payload.agent_id,
            team_id=payload.team_id,
        )
        return ok(**result.model_dump())
