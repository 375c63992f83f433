"""`/console` socket events for notes, labels and reopening, mixed into the console
namespace (which supplies the per-event scope and the conversation checks)."""

from __future__ import annotations

from relaydesk.collab import service
from relaydesk.collab.models import LabelsSet, NoteAdd
from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.policy import StaffScope
from relaydesk.conversations.schemas import ConversationRef, dump
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.socket_rpc import Ack, event, ok
from relaydesk.core.state import AppState


class CollabEvents:
    """Handlers of `note:add`, `conversation:labels` and `conversation:reopen`."""

    state: AppState  # the namespace's

    async def _scope(self, sid: str) -> StaffScope:
        raise NotImplementedError

    async def _writable(self, sid: str, conversation_id: str) -> tuple[StaffScope, Conversation]:
        raise NotImplementedError

    @event("note:add", NoteAdd)
    async def add_note(self, sid: str, payload: NoteAdd) -> Ack:
        """A private note: staff see it (`note:new`), the visitor never does."""
        note, created = await service.add_note(
            self.state.database,
            scope=await self._scope(sid),
            conversation_id=payload.conversation_id,
            client_id=payload.client_id,
            text=payload.text,
        )
        return ok(note=dump(note), duplicate=not created)

    @event("conversation:labels", LabelsSet)
    async def set_labels(self, sid: str, payload: LabelsSet) -> Ack:
        labels = await service.set_labels(
            self.state.database,
            scope=await self._scope(sid),
            conversation_id=payload.conversation_id,
            label_ids=payload.label_ids,
        )
        return ok(labels=[dump(label) for label in labels])

    @event("conversation:reopen", ConversationRef)
    async def reopen(self, sid: str, payload: ConversationRef) -> Ack:
        """A resolved conversation goes back to the bot (and to the queue view)."""
        scope, _ = await self._writable(sid, payload.conversation_id)
        db = self.state.database
        conversation = await transitions.reopen(
            db, conversation_id=payload.conversation_id, actor=Actor.staff(scope.user)
        )
        return ok(conversation=dump(await conversations.describe(db, conversation)))


async def join_extras(db: Database, scope: StaffScope, conversation_id: str) -> dict[str, object]:
    """What `conversation:join` adds for the console: the notes and the labels."""
    notes = await service.list_notes(db, scope=scope, conversation_id=conversation_id)
    labels = (await service.labels_of(db, [conversation_id]))[conversation_id]
    return {"notes": [dump(n) for n in notes], "labels": [dump(label) for label in labels]}
