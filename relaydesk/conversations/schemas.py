"""Public shapes of conversations and messages, and the socket payloads that act on them.

Payload models are strict: a number where a string belongs is an error, not a coercion,
and unknown fields are refused so typos surface at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from relaydesk.conversations.models import Conversation, Message

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, strict=True)]
ClientId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$", strict=True)
]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EmptyPayload(Payload):
    pass


class MessageSend(Payload):
    conversation_id: Id
    client_id: ClientId
    # The length limit is checked by `clean_text` so the error can say which limit.
    text: str
    # Ids from the attachments upload endpoint; with them, `text` may be empty.
    attachment_ids: list[Id] | None = Field(default=None, max_length=10)


class SyncRequest(Payload):
    conversation_id: Id
    after_seq: int = Field(ge=0)


class TypingSignal(Payload):
    conversation_id: Id
    typing: bool


class ReadReceipt(Payload):
    conversation_id: Id
    seq: int = Field(ge=0)


class ConversationRef(Payload):
    conversation_id: Id


class SenderPublic(BaseModel):
    kind: str
    id: str | None
    name: str | None


class MessagePublic(BaseModel):
    id: str
    conversation_id: str
    seq: int
    client_id: str
    sender: SenderPublic
    text: str
    payload: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessagePublic:
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            seq=message.seq,
            client_id=message.client_id,
            sender=SenderPublic(
                kind=message.sender_kind, id=message.sender_id, name=message.sender_name
            ),
            text=message.text,
            payload=message.payload,
            created_at=message.created_at,
        )


class AssigneePublic(BaseModel):
    id: int
    name: str
    avatar_url: str | None = None


class ConversationPublic(BaseModel):
    id: str
    site_id: int
    visitor_id: str
    status: str
    assignee_id: int | None
    team_id: int | None
    handoff_reason: str | None
    last_seq: int
    created_at: datetime
    updated_at: datetime
    # Filled by `service.describe` (who the visitor is talking to); absent in bulk lists.
    assignee: AssigneePublic | None = None

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationPublic:
        return cls.model_validate(conversation, from_attributes=True)


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict (datetimes as ISO strings) for Socket.IO payloads."""
    return model.model_dump(mode="json")
