"""The `/widget` namespace: what a website visitor's browser may do."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from relaydesk.attachments import service as attachments
from relaydesk.bot import events as bot_events
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions, visitors
from relaydesk.conversations.models import SenderKind
from relaydesk.conversations.schemas import (
    ConversationRef,
    EmptyPayload,
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
from relaydesk.core.errors import NotFound, Unauthorized
from relaydesk.core.models import new_id
from relaydesk.core.security import create_token, decode_token
from relaydesk.core.socket_rpc import Ack, RpcNamespace, event, ok, refuse
from relaydesk.sites import identity
from relaydesk.sites import service as sites
from relaydesk.widget import page

log = logging.getLogger(__name__)

VISITOR_REQUEST = "visitor_request"


class WidgetAuth(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    site_key: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    visitor_token: Annotated[str, StringConstraints(max_length=4096)] | None = None
    locale: Annotated[str, StringConstraints(max_length=16)] | None = None


def visitor_token_for(*, visitor_id: str, site_id: int) -> str:
    settings = get_settings()
    return create_token(
        settings,
        kind="visitor",
        subject=visitor_id,
        lifetime=timedelta(days=settings.visitor_token_days),
        site=site_id,
    )


class WidgetNamespace(RpcNamespace):
    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        db = self.state.database
        try:
            params = WidgetAuth.model_validate(auth if auth is not None else {})
        except ValidationError as exc:
            raise refuse(
                "invalid_auth", "auth must be {site_key, visitor_token?, locale?}"
            ) from exc
        try:
            site = await sites.get_site_by_key(db, params.site_key)
        except NotFound as exc:
            raise refuse("unknown_site", "unknown site key") from exc
        assert site.id is not None
        if not sites.origin_allowed(site, environ.get("HTTP_ORIGIN")):
            raise refuse("origin_not_allowed", "this origin may not embed the widget")
        if params.visitor_token:
            try:
                claims = decode_token(get_settings(), params.visitor_token, kind="visitor")
            except Unauthorized as exc:
                raise refuse(exc.code, exc.message) from exc
            if claims.get("site") != site.id:
                raise refuse("invalid_token", "the visitor token is not valid for this site")
            # A signed token is proof enough: its visitor may not have a row yet (rows are
            # made on first use), and a row of another site was refused by the claim.
            visitor_id = str(claims["sub"])
            token = params.visitor_token
        else:
            # No row yet: every tokenless connection made one, so a connection flood
            # filled the table. The row is made on first real use (`_visitor`).
            visitor_id = new_id()
            token = visitor_token_for(visitor_id=visitor_id, site_id=site.id)
        await self.save_session(
            sid,
            {
                "visitor_id": visitor_id,
                "site_id": site.id,
                "owned": set(),
                "locale": params.locale,
                "stored": False,
            },
        )
        await self.enter_room(sid, realtime.visitor_room(visitor_id))
        await self.emit("session", {"visitor_id": visitor_id, "visitor_token": token}, to=sid)

    async def _visitor(self, sid: str) -> dict[str, Any]:
        """The session, after making sure its visitor has a row."""
        session: dict[str, Any] = await self.get_session(sid)
        if not session["stored"]:
            await sites.ensure_visitor(
                self.state.database,
                visitor_id=session["visitor_id"],
                site_id=session["site_id"],
                locale=session["locale"],
            )
            session["stored"] = True
        return session

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.forget(sid)

    async def _owned(self, sid: str, conversation_id: str) -> dict[str, Any]:
        """The session, after checking that the conversation is this visitor's."""
        session: dict[str, Any] = await self.get_session(sid)
        if conversation_id in session["owned"]:
            return session
        conversation = await conversations.get_conversation(self.state.database, conversation_id)
        if conversation.visitor_id != session["visitor_id"]:
            # Same answer as a missing id: another visitor's ids reveal nothing.
            raise NotFound("no such conversation", code="conversation_not_found")
        session["owned"].add(conversation_id)
        await self.enter_room(sid, realtime.conversation_room(conversation_id))
        return session

    @event("conversation:open", EmptyPayload)
    async def open_conversation(self, sid: str, _: EmptyPayload) -> Ack:
        session = await self._visitor(sid)
        conversation, messages = await conversations.open_conversation(
            self.state.database, site_id=session["site_id"], visitor_id=session["visitor_id"]
        )
        session["owned"].add(conversation.id)
        await self.enter_room(sid, realtime.conversation_room(conversation.id))
        reads = await conversations.read_states(
            self.state.database, conversation_id=conversation.id
        )
        # The staff side's furthest read marker: a reloaded widget shows its read ticks.
        agent_read = max(
            (r.last_read_seq for r in reads if r.participant_kind != SenderKind.VISITOR),
            default=0,
        )
        return ok(
            conversation=dump(await conversations.describe(self.state.database, conversation)),
            messages=[dump(MessagePublic.of(m)) for m in messages],
            agent_read_seq=agent_read,
        )

    @event("message:send", MessageSend)
    async def send_message(self, sid: str, payload: MessageSend) -> Ack:
        session = await self._owned(sid, payload.conversation_id)
        result = await attachments.send_message(
            self.state.database,
            conversation_id=payload.conversation_id,
            sender=Actor.visitor(session["visitor_id"]),
            client_id=payload.client_id,
            text=payload.text,
            attachment_ids=payload.attachment_ids,
            origin_sid=sid,
        )
        return ok(message=result.message_data, duplicate=not result.created)

    @event("sync", SyncRequest)
    async def sync(self, sid: str, payload: SyncRequest) -> Ack:
        await self._owned(sid, payload.conversation_id)
        messages = await conversations.sync(
            self.state.database,
            conversation_id=payload.conversation_id,
            after_seq=payload.after_seq,
        )
        return ok(messages=[dump(MessagePublic.of(m)) for m in messages])

    @event("typing", TypingSignal)
    async def typing(self, sid: str, payload: TypingSignal) -> Ack:
        session = await self._owned(sid, payload.conversation_id)
        await realtime.to_staff_side(
            payload.conversation_id,
            "typing",
            {
                "conversation_id": payload.conversation_id,
                "typing": payload.typing,
                "sender": {"kind": SenderKind.VISITOR, "id": session["visitor_id"]},
            },
        )
        return ok()

    @event("read", ReadReceipt)
    async def read(self, sid: str, payload: ReadReceipt) -> Ack:
        session = await self._owned(sid, payload.conversation_id)
        state = await conversations.mark_read(
            self.state.database,
            conversation_id=payload.conversation_id,
            reader=Actor.visitor(session["visitor_id"]),
            seq=payload.seq,
        )
        return ok(seq=state.last_read_seq)

    @event("handoff:request", ConversationRef)
    async def request_handoff(self, sid: str, payload: ConversationRef) -> Ack:
        session = await self._owned(sid, payload.conversation_id)
        conversation = await transitions.request_handoff(
            self.state.database,
            conversation_id=payload.conversation_id,
            actor=Actor.visitor(session["visitor_id"]),
            reason=VISITOR_REQUEST,
        )
        queue = await bot_events.handoff_requested(self.state.database, conversation)
        return ok(
            conversation=dump(await conversations.describe(self.state.database, conversation)),
            queue=queue,
        )

    @event("offline:submit", bot_events.OfflineSubmit)
    async def offline_submit(self, sid: str, payload: bot_events.OfflineSubmit) -> Ack:
        session = await self._owned(sid, payload.conversation_id)
        await bot_events.offline_submit(
            self.state.database, visitor_id=session["visitor_id"], payload=payload
        )
        return ok()

    @event("feedback", bot_events.FeedbackSubmit)
    async def feedback(self, sid: str, payload: bot_events.FeedbackSubmit) -> Ack:
        session = await self._owned(sid, payload.conversation_id)
        await bot_events.feedback(
            self.state.database, visitor_id=session["visitor_id"], payload=payload
        )
        return ok()

    @event("csat:submit", bot_events.CsatSubmit)
    async def csat_submit(self, sid: str, payload: bot_events.CsatSubmit) -> Ack:
        session = await self._owned(sid, payload.conversation_id)
        await bot_events.csat(
            self.state.database, visitor_id=session["visitor_id"], payload=payload
        )
        return ok()

    @event("visitor:identify", identity.VisitorIdentify)
    async def identify(self, sid: str, payload: identity.VisitorIdentify) -> Ack:
        session = await self._visitor(sid)
        visitor = await visitors.identify(
            self.state.database,
            site_id=session["site_id"],
            visitor_id=session["visitor_id"],
            payload=payload,
        )
        return ok(visitor=dump(identity.VisitorPublic.of(visitor)))

    @event("visitor:page", page.VisitorPage)
    async def visitor_page(self, sid: str, payload: page.VisitorPage) -> Ack:
        session = await self._visitor(sid)
        await page.record_page(
            self.state.database,
            site_id=session["site_id"],
            visitor_id=session["visitor_id"],
            payload=payload,
        )
        return ok()
