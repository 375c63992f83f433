"""Request and response shapes of the admin REST API (users, teams, profile; the sites'
are in sites/schemas.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
)

from relaydesk.core.models import Role
from relaydesk.sites.schemas import Name, StrictModel

TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
HttpUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://\S+$")
]
RoutingMode = Literal["auto", "manual"]


def _roles(value: list[Role]) -> list[Role]:
    if not value:
        raise ValueError("a user needs at least one role")
    return sorted(set(value))


# Users


class UserCreate(StrictModel):
    email: Email
    name: Name | None = None
    password: Password
    roles: list[Role] = Field(min_length=1, max_length=4)
    team_ids: list[int] = Field(default_factory=list, max_length=100)
    capacity: int = Field(5, ge=0, le=100)

    _check_roles = field_validator("roles")(_roles)


class UserUpdate(StrictModel):
    name: Name | None = None
    roles: list[Role] | None = Field(None, min_length=1, max_length=4)
    capacity: int | None = Field(None, ge=0, le=100)
    is_active: bool | None = None
    team_ids: list[int] | None = Field(None, max_length=100)


class UserPublic(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    availability: str
    avatar_url: str | None
    capacity: int
    is_active: bool
    team_ids: list[int]
    created_at: datetime


# Profile (the signed-in user's own)


class ProfileUpdate(StrictModel):
    name: Name | None = None
    # An http(s) URL, or "" to remove the avatar.
    avatar_url: HttpUrl | Literal[""] | None = None


class PasswordChange(StrictModel):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Password


# Teams


class TeamCreate(StrictModel):
    site_id: int = Field(ge=1)
    name: TeamName
    routing_mode: RoutingMode | None = None


class TeamUpdate(StrictModel):
    name: TeamName | None = None
    routing_mode: RoutingMode | None = None


class TeamMemberPublic(BaseModel):
    id: int
    name: str
    email: str
    roles: list[str]


class TeamPublic(BaseModel):
    id: int
    site_id: int
    name: str
    routing_mode: str
    members: list[TeamMemberPublic]
    created_at: datetime
