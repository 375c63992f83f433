"""Canned responses: short texts an agent inserts by typing `/shortcut` in the reply box."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PField
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime, utcnow

SHORTCUT_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Shortcut = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=SHORTCUT_PATTERN),
]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class CannedResponse(SQLModel, table=True):
    __tablename__ = "canned_response"
    __table_args__ = (UniqueConstraint("site_id", "shortcut", name="uq_canned_site_shortcut"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    shortcut: str = Field(max_length=32)
    title: str = Field(max_length=120)
    text: str
    created_by: int | None = Field(default=None, foreign_key="staff_user.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CannedResponseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    site_id: int = PField(ge=1)
    shortcut: Shortcut
    title: Title
    text: Text


class CannedResponseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shortcut: Shortcut | None = None
    title: Title | None = None
    text: Text | None = None


class CannedResponsePublic(BaseModel):
    id: int
    site_id: int
    shortcut: str
    title: str
    text: str
    created_by: int | None
    created_at: datetime
    updated_at: datetime
