"""The append-only event log. Service functions call `record()` inside their transaction,
so an event exists if and only if the change it describes was committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from relaydesk.core.models import Event


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str


class ConversationStarted(EventPayload):
    type: Literal["conversation.started"] = "conversation.started"
    visitor_id: str


class MessageStored(EventPayload):
    type: Literal["message.stored"] = "message.stored"
    message_id: str
    seq: int
    sender_kind: str
    chars: int


class HandoffRequested(EventPayload):
    type: Literal["conversation.handoff_requested"] = "conversation.handoff_requested"
    reason: str
    team_id: int | None = None


class ConversationAssigned(EventPayload):
    type: Literal["conversation.assigned"] = "conversation.assigned"
    assignee_id: int
    previous_assignee_id: int | None = None
    previous_status: str


class ConversationResolved(EventPayload):
    type: Literal["conversation.resolved"] = "conversation.resolved"
    previous_status: str


class ConversationReopened(EventPayload):
    type: Literal["conversation.reopened"] = "conversation.reopened"


class ConversationHandedBack(EventPayload):
    type: Literal["conversation.handed_back"] = "conversation.handed_back"
    previous_assignee_id: int | None


def record(
    session: AsyncSession,
    payload: EventPayload,
    *,
    site_id: int,
    actor_kind: str,
    actor_id: str | int | None = None,
    conversation_id: str | None = None,
) -> Event:
    event = Event(
        site_id=site_id,
        type=payload.type,
        conversation_id=conversation_id,
        actor_kind=actor_kind,
        actor_id=None if actor_id is None else str(actor_id),
        payload=payload.model_dump(exclude={"type"}),
    )
    session.add(event)
    return event


def row(
    payload: EventPayload,
    *,
    site_id: int,
    actor_kind: str,
    actor_id: str | int | None,
    conversation_id: str | None,
    created_at: datetime,
) -> dict[str, Any]:
    """The same event as a plain row, for bulk Core inserts on hot paths."""
    return {
        "site_id": site_id,
        "type": payload.type,
        "conversation_id": conversation_id,
        "actor_kind": actor_kind,
        "actor_id": None if actor_id is None else str(actor_id),
        "payload": payload.model_dump(exclude={"type"}),
        "created_at": created_at,
    }
