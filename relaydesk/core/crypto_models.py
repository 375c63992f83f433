"""Tables of encryption at rest: the blind search index and the rotation's checkpoints."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime, utcnow


class SearchIndex(SQLModel, table=True):
    """One row per searchable value (a message, a note, a visitor): the keyed hashes of its
    tokens, space-separated, so that search matches tokens without the plaintext
    (core/blind_index.py). Only staff search reads it."""

    __tablename__ = "search_index"

    kind: str = Field(primary_key=True, max_length=16)
    owner_id: str = Field(primary_key=True, max_length=64)
    conversation_id: str | None = Field(default=None, index=True, max_length=32)
    tokens: str = Field(sa_type=sa.Text)


class KeyRotation(SQLModel, table=True):
    """A rotation's progress: which key it moves everything to, and per table the last
    primary key done, committed with each chunk, so a killed run resumes where it was."""

    __tablename__ = "key_rotation"

    id: int | None = Field(default=None, primary_key=True)
    target_kid: str = Field(max_length=32, index=True)
    # {"message": {"after": "<last id>", "done": 120, "finished": false}, ...}
    progress: dict[str, dict[str, object]] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
