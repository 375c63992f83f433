"""Routing tables and the public shapes of presence, agents and routing requests."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from relaydesk.conversations.schemas import Id, Payload
from relaydesk.core.models import Availability, UTCDateTime, utcnow


class RoutingMode(StrEnum):
    AUTO = "auto"
    MANUAL = "manual"


class RoutingAgent(SQLModel, table=True):
    """Per-agent routing state. `chosen` is the status the agent picked themselves; what
    others see (StaffUser.availability) is that choice while a console tab is connected and
    offline otherwise. `last_assigned_at` breaks ties between equally loaded agents."""

    __tablename__ = "routing_agent"

    user_id: int = ColumnField(foreign_key="staff_user.id", primary_key=True)
    chosen: str = ColumnField(default=Availability.ONLINE, max_length=16)
    last_assigned_at: datetime | None = ColumnField(default=None, sa_type=UTCDateTime)
    updated_at: datetime = ColumnField(default_factory=utcnow, sa_type=UTCDateTime)


Status = Literal["online", "away", "offline"]
PositiveId = Annotated[int, Field(ge=1, strict=True)]


class PresencePublic(BaseModel):
    user_id: int
    status: str
    chosen: str


class AgentPublic(BaseModel):
    id: int
    name: str
    avatar_url: str | None
    roles: list[str]
    team_ids: list[int]
    presence: str
    capacity: int
    open_conversations: int


class TeamPublic(BaseModel):
    id: int
    site_id: int
    name: str
    routing_mode: str


class PresenceSet(Payload):
    status: Status


class AssignRequest(Payload):
    conversation_id: Id
    agent_id: PositiveId


class TransferRequest(Payload):
    conversation_id: Id
    agent_id: PositiveId | None = None
    team_id: PositiveId | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> TransferRequest:
        if (self.agent_id is None) == (self.team_id is None):
            raise ValueError("give exactly one of agent_id and team_id")
        return self


class TransferTarget(BaseModel):
    """REST body of `/transfer` (the conversation is in the path)."""

    model_config = ConfigDict(extra="forbid")
    agent_id: PositiveId | None = None
    team_id: PositiveId | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> TransferTarget:
        if (self.agent_id is None) == (self.team_id is None):
            raise ValueError("give exactly one of agent_id and team_id")
        return self


class AssignTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: PositiveId


class ReassignRequest(Payload):
    conversation_ids: list[Id] = Field(min_length=1, max_length=200)
    agent_id: PositiveId | None = None
    team_id: PositiveId | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> ReassignRequest:
        if (self.agent_id is None) == (self.team_id is None):
            raise ValueError("give exactly one of agent_id and team_id")
        return self


class ReassignResult(BaseModel):
    moved: list[str]
    failed: dict[str, dict[str, object]]


class RoutingModeUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    routing_mode: RoutingMode
