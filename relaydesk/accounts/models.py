"""Personal API tokens: the table and the REST shapes.

A token is `rd_pat_` + 32 random bytes (base64url). Only its SHA-256 is stored: the token
carries 256 bits of entropy, so there is nothing to guess and nothing for a slow hash
(argon2) to slow down, while a plain digest can be looked up through a unique index in one
query per request. The first characters are kept in clear (`prefix`) so the owner can tell
tokens apart in a list.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime, utcnow

TOKEN_PREFIX = "rd_pat_"


class Scope(StrEnum):
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    KNOWLEDGE_READ = "knowledge:read"
    KNOWLEDGE_WRITE = "knowledge:write"
    ANALYTICS_READ = "analytics:read"
    # Users, teams, sites; and every route no narrower scope names.
    ADMIN = "admin"


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", index=True)
    name: str = Field(max_length=100)
    # Hex SHA-256 of the whole token.
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_ip: str | None = Field(default=None, max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


TokenName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class ApiTokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TokenName
    scopes: list[Scope] = PydanticField(min_length=1, max_length=len(Scope))
    expires_in_days: int = PydanticField(
        90, ge=1, le=366, description="The token stops working after this many days."
    )


class ApiTokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiTokenCreated(ApiTokenPublic):
    token: str = PydanticField(description="The token itself: shown this once, never again.")
