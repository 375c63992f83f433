"""Request and response shapes of the admin REST API (users, teams, sites, profile)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from relaydesk.core.models import Role
from relaydesk.sites.hours import BusinessHours

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TeamName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
Origin = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Color = Annotated[str, StringConstraints(pattern=r"^#([0-9a-fA-F]{3}){1,2}$")]
HttpUrl = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500, pattern=r"^https?://\S+$")
]
Locale = Literal["en", "zh"]
RoutingMode = Literal["auto", "manual"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _roles(value: list[Role]) -> list[Role]:
    if not value:
        raise ValueError("a user needs at least one role")
    return sorted(set(value))


# Users


class UserCreate(_Strict):
    email: Email
    name: Name | None = None
    password: Password
    roles: list[Role] = Field(min_length=1, max_length=4)
    team_ids: list[int] = Field(default_factory=list, max_length=100)
    capacity: int = Field(5, ge=0, le=100)

    _check_roles = field_validator("roles")(_roles)


class UserUpdate(_Strict):
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


class ProfileUpdate(_Strict):
    name: Name | None = None
    # An http(s) URL, or "" to remove the avatar.
    avatar_url: HttpUrl | Literal[""] | None = None


class PasswordChange(_Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Password


# Teams


class TeamCreate(_Strict):
    site_id: int = Field(ge=1)
    name: TeamName
    routing_mode: RoutingMode | None = None


class TeamUpdate(_Strict):
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


# Sites


class SiteTheme(_Strict):
    """What the widget looks like and says first; every key optional."""

    color: Color | None = None
    launcher_text: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None
    ) = None
    greeting: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    position: Literal["right", "left"] | None = None


class SiteCreate(_Strict):
    name: Name
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    # Embeddable from any website: off unless asked for (an empty list admits none).
    allow_any_origin: bool = False
    default_locale: Locale = "en"
    theme: SiteTheme = Field(default_factory=SiteTheme)


class SiteUpdate(_Strict):
    name: Name | None = None
    allowed_origins: list[Origin] | None = Field(None, max_length=50)
    allow_any_origin: bool | None = None
    default_locale: Locale | None = None
    theme: SiteTheme | None = None
    # {} means always open; otherwise the `relaydesk.sites.hours.BusinessHours` shape.
    business_hours: dict[str, Any] | None = None

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if not value:
            return value
        try:
            hours = BusinessHours.model_validate(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'business_hours'}: {e['msg']}"
                for e in exc.errors()[:5]
            )
            raise ValueError(f"business hours: {problems}") from exc
        try:
            ZoneInfo(hours.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {hours.timezone!r}") from exc
        return hours.model_dump(mode="json")


class SitePublic(BaseModel):
    id: int
    site_key: str
    name: str
    allowed_origins: list[str]
    allow_any_origin: bool
    default_locale: str
    theme: dict[str, Any]
    business_hours: dict[str, Any]
    embed_snippet: str
    created_at: datetime
