"""Site payloads of the admin REST (sites/routes.py): create, update, and what it returns."""

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

from relaydesk.sites.hours import BusinessHours

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Origin = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Color = Annotated[str, StringConstraints(pattern=r"^#([0-9a-fA-F]{3}){1,2}$")]
Locale = Literal["en", "zh"]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteTheme(StrictModel):
    """What the widget looks like and says first; every key optional."""

    color: Color | None = None
    launcher_text: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None
    ) = None
    greeting: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    position: Literal["right", "left"] | None = None


class SiteCreate(StrictModel):
    name: Name
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    # Embeddable from any website: off unless asked for (an empty list admits none).
    allow_any_origin: bool = False
    default_locale: Locale = "en"
    theme: SiteTheme = Field(default_factory=SiteTheme)


class SiteUpdate(StrictModel):
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
