"""The `/console` namespace: what a signed-in staff member's console may do."""

from __future__ import annotations

from typing import Any

from relaydesk.accounts import service as accounts
from relaydesk.agents_console.socket_auth import staff_from_credentials
from relaydesk.attachments import service as attachments
from relaydesk.bot import events as bot_events
from relaydesk.collab.events import CollabEvents, join_extras
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.policy import StaffScope, load_scope, require_view
from relaydesk.conversations.schemas import (
    ConversationRef,
    MessagePublic,
    MessageSend,
    ReadReceipt,
    SyncRequest,
    TypingSignal,
    dump,
)
from relaydesk.conversations.service import Actor
from relaydesk.core import realtime
from relaydesk.core.config import get_settings
from relaydesk.core.errors import Forbidden, NotFound, Unauthorized
from relaydesk.core.models import Role
from relaydesk.core.socket_rpc import Ack, RpcNamespace, event, ok, refuse
from relaydesk.routing.console_events import RoutingEvents
from relaydesk.sites import service as sites


class ConsoleNamespace(CollabEvents, RoutingEvents, RpcNamespace):
    rate_setting = "console_events_per_second"

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        db = self.state.database
        try:
            claims = staff_from_credentials(get_settings(), auth, environ)
            user_id = int(claims["sub"])
            user = await accounts.get_active_user(db, user_id, claims)
        except (Unauthorized, Forbidden) as exc:
            raise refuse(exc.code, exc.message) from exc
        scope = await load_scope(db, user)
        await self.save_session(sid, {"user_id": user_id, "sv": user.session_version})
        await self.enter_room(sid, realtime.staff_room(user_id))
        site_ids = (
            [s.id for s in await sites.list_sites(db) if s.id is not None]
            if scope.is_admin
            else sorted(scope.site_ids)
        )
        leads = scope.is_admin or user.has_role(Role.SUPERVISOR)
        for site_id in site_ids:
            await self.enter_room(sid, realtime.site_room(site_id))
            if leads:
                await self.enter_room(sid, realtime.site_leads_room(site_id))
        await self.routing_connected(sid, user)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.forget(sid)
        await self.routing_disconnected(sid)

    async def _scope(self, sid: str) -> StaffScope:
        # Reloaded per event so a disabled account or a changed role takes effect at once.
        session: dict[str, Any] = await self.get_session(sid)
        db = self.state.database
        claims = {"sv": session["sv"]}
        return await load_scope(db, await accounts.get_active_user(db, session["user_id"], claims))

    async def _visible(self, sid: str, conversation_id: str) -> tuple[StaffScope, Conversation]:
        scope = await self._scope(sid)
        conversation = await conversations.get_conversation(self.state.database, conversation_id)
        require_view(scope, conversation)
        return scope, conversation

    async def _writable(self, sid: str, conversation_id: str) -> tuple[StaffScope, Conversation]:
        scope, conversation = await self._visible(sid, conversation_id)
        if not scope.handles_conversations:
            raise Forbidden("your role may not write in conversations")
        return scope, conversation

    @event("conversation:join", ConversationRef)
    async def join(self, sid: str, payload: ConversationRef) -> Ack:
        """Start receiving a conversation's live events; returns its latest messages."""
        scope, conversation = await self._visible(sid, payload.conversation_id)
        await self.enter_room(sid, realtime.conversation_room(conversation.id))
        messages = await conversations.latest_messages(
            self.state.database, conversation_id=conversation.id
        )
        return ok(
            conversation=dump(await conversations.describe(self.state.database, conversation)),
            messages=[dump(MessagePublic.of(m)) for m in messages],
            **await join_extras(self.state.database, scope, conversation.id),
        )

    @event("conversation:leave", ConversationRef)
    async def leave(self, sid: str, payload: ConversationRef) -> Ack:
        await self.leave_room(sid, realtime.conversation_room(payload.conversation_id))
        return ok()

    @event("message:send", MessageSend)
    async def send_message(self, sid: str, payload: MessageSend) -> Ack:
        scope, _ = await self._writable(sid, payload.conversation_id)
        await self.enter_room(sid, realtime.conversation_room(payload.conversation_id))
        result = await attachments.send_message(
            self.state.database,
            conversation_id=payload.conversation_id,
            sender=Actor.staff(scope.user),
            client_id=payload.client_id,
            text=payload.text,
            attachment_ids=payload.attachment_ids,
            origin_sid=sid,
        )
        return ok(message=result.message_data, duplicate=not result.created)

    @event("sync", SyncRequest)
    async def sync(self, sid: str, payload: SyncRequest) -> Ack:
        await self._visible(sid, payload.conversation_id)
        messages = await conversations.sync(
            self.state.database,
            conversation_id=payload.conversation_id,
            after_seq=payload.after_seq,
        )
        return ok(messages=[dump(MessagePublic.of(m)) for m in messages])

    @event("typing", TypingSignal)
    async def typing(self, sid: str, payload: TypingSignal) -> Ack:
        scope, _ = await self._writable(sid, payload.conversation_id)
        await realtime.to_visitor_side(
            payload.conversation_id,
            "typing",
            {
                "conversation_id": payload.conversation_id,
                "typing": payload.typing,
                "sender": {"kind": "agent", "id": str(scope.user_id), "name": scope.user.name},
            },
        )
        return ok()

    @event("read", ReadReceipt)
    async def read(self, sid: str, payload: ReadReceipt) -> Ack:
        scope, _ = await self._visible(sid, payload.conversation_id)
        state = await conversations.mark_read(
            self.state.database,
            conversation_id=payload.conversation_id,
            reader=Actor.staff(scope.user),
            seq=payload.seq,
        )
        return ok(seq=state.last_read_seq)

    @event("conversation:accept", ConversationRef)
    async def accept(self, sid: str, payload: ConversationRef) -> Ack:
        try:
            scope, _ = await self._writable(sid, payload.conversation_id)
        except NotFound:
            # Lost the race by a hair: the winner owns it, so it is no longer visible.
            await self.explain_lost_accept(sid, payload.conversation_id)
            raise
        conversation = await transitions.accept(
            self.state.database, conversation_id=payload.conversation_id, agent=scope.user
        )
        await self.enter_room(sid, realtime.conversation_room(conversation.id))
        return ok(
            conversation=dump(await conversations.describe(self.state.database, conversation))
        )

    @event("conversation:resolve", ConversationRef)
    async def resolve(self, sid: str, payload: ConversationRef) -> Ack:
        scope, _ = await self._writable(sid, payload.conversation_id)
        conversation = await transitions.resolve(
            self.state.database,
            conversation_id=payload.conversation_id,
            actor=Actor.staff(scope.user),
        )
        return ok(
            conversation=dump(await conversations.describe(self.state.database, conversation))
        )

    @event("conversation:hand_back", ConversationRef)
    async def hand_back(self, sid: str, payload: ConversationRef) -> Ack:
        scope, _ = await self._writable(sid, payload.conversation_id)
        conversation = await transitions.hand_back(
            self.state.database,
            conversation_id=payload.conversation_id,
            actor=Actor.staff(scope.user),
        )
        return ok(
            conversation=dump(await conversations.describe(self.state.database, conversation))
        )

    @event("assist:suggest", ConversationRef)
    async def assist_suggest(self, sid: str, payload: ConversationRef) -> Ack:
        """Knowledge-base suggestions (and an LLM draft when configured) for the agent."""
        _, conversation = await self._visible(sid, payload.conversation_id)
        return ok(**await bot_events.assist_suggest(self.state.database, conversation))

    @event("handoff:summary", ConversationRef)
    async def handoff_summary(self, sid: str, payload: ConversationRef) -> Ack:
        """The bot's latest handoff summary and any offline-form messages."""
        _, conversation = await self._visible(sid, payload.conversation_id)
        return ok(**await bot_events.handoff_summary(self.state.database, conversation))
