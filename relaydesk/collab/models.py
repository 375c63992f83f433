"""Staff-only collaboration on conversations: private notes and per-site labels.

Notes live in their own table rather than as messages: a message is delivered to the
visitor and numbered in the visitor-visible `seq`, which must stay gap-free; a note must
never reach the visitor, so it takes no part in either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from relaydesk.conversations.schemas import ClientId, Id
from relaydesk.core import encrypted
from relaydesk.core.models import UTCDateTime, new_id, utcnow

LABEL_NAME_CHARS = 40
# Label colours are a fixed hex form so they can go straight into a style attribute.
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$", strict=True)]


def _ts(**kwargs: Any) -> Any:
    return SQLField(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


class ConversationNote(SQLModel, table=True):
    __tablename__ = "conversation_note"
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id", name="uq_note_conversation_client"),
        Index("ix_note_conversation_created", "conversation_id", "created_at"),
    )

    id: str = SQLField(default_factory=new_id, primary_key=True, max_length=32)
    conversation_id: str = SQLField(foreign_key="conversation.id", max_length=32)
    author_id: int = SQLField(foreign_key="staff_user.id")
    client_id: str = SQLField(max_length=64)
    text: str
    created_at: datetime = _ts()


class Label(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_label_site_name"),)

    id: int | None = SQLField(default=None, primary_key=True)
    site_id: int = SQLField(foreign_key="site.id", index=True)
    name: str = SQLField(max_length=LABEL_NAME_CHARS)
    color: str = SQLField(max_length=7)
    created_at: datetime = _ts()


class ConversationLabel(SQLModel, table=True):
    __tablename__ = "conversation_label"

    conversation_id: str = SQLField(foreign_key="conversation.id", primary_key=True, max_length=32)
    label_id: int = SQLField(foreign_key="label.id", primary_key=True, index=True)
    created_at: datetime = _ts()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NoteCreate(Strict):
    client_id: ClientId
    # The length limit is checked by `clean_text`, as for messages.
    text: str


class NoteAdd(NoteCreate):
    """`note:add` on `/console`."""

    conversation_id: Id


class NoteAuthor(BaseModel):
    id: int
    name: str | None


class NotePublic(BaseModel):
    id: str
    conversation_id: str
    client_id: str
    author: NoteAuthor
    text: str
    created_at: datetime


class LabelCreate(Strict):
    site_id: int
    name: str
    color: Color = "#3b5bdb"


class LabelPublic(BaseModel):
    id: int
    site_id: int
    name: str
    color: str

    @classmethod
    def of(cls, label: Label) -> LabelPublic:
        assert label.id is not None
        return cls(id=label.id, site_id=label.site_id, name=label.name, color=label.color)


class LabelsUpdate(Strict):
    label_ids: list[int] = Field(max_length=50)


class LabelsSet(LabelsUpdate):
    """`conversation:labels` on `/console`."""

    conversation_id: Id


# Notes quote visitors; they are searched with the messages (core/blind_index.py).
encrypted.protect(
    ConversationNote,
    fields=["text"],
    search_kind="note",
    search_fields=["text"],
    conversation_attr="conversation_id",
)
