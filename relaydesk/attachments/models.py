"""Files (images and PDFs) that visitors and agents send in a conversation.

The bytes live under the data dir; this table holds what is needed to check access and
to describe a file without opening it. A message carries attachments by id in its
`payload["attachments"]`, as the public metadata below.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime, new_id, utcnow


class Attachment(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    site_id: int = Field(foreign_key="site.id", index=True)
    conversation_id: str = Field(foreign_key="conversation.id", index=True, max_length=32)
    uploader_kind: str = Field(max_length=16)
    uploader_id: str = Field(max_length=64)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=64)
    size: int
    sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AttachmentPublic(BaseModel):
    """What clients see of an attachment (in upload answers and in message payloads)."""

    id: str
    name: str
    type: str
    size: int
    url: str

    @classmethod
    def of(cls, attachment: Attachment) -> AttachmentPublic:
        return cls(
            id=attachment.id,
            name=attachment.filename,
            type=attachment.content_type,
            size=attachment.size,
            url=f"/api/v1/attachments/{attachment.id}",
        )
