"""Tables shared by several domains (the conversation tables are in conversations/models.py).

Ids that strangers see (visitors, conversations, messages) are random UUIDs so they reveal
nothing; staff-facing ids (sites, users, teams) are small integers that are easy to type.
Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, BigInteger, Column, DateTime, Dialect, Index, Integer
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def _system_clock() -> datetime:
    return datetime.now(UTC)


_clock: Callable[[], datetime] = _system_clock


def utcnow() -> datetime:
    """The server's clock. Every stored timestamp comes from here, so a test can drive a
    whole scenario (through the real sockets) at chosen times with `set_clock`."""
    return _clock()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace the clock (tests and benchmarks); None restores the system clock."""
    global _clock
    _clock = clock or _system_clock


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite hands back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _ts(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kwargs)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    EDITOR = "editor"


class Availability(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Site(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_key: str = Field(index=True, unique=True, max_length=64)
    name: str = Field(max_length=200)
    allowed_origins: list[str] = _json(list)
    # An empty allow-list admits no browser origin; embedding from anywhere must be asked
    # for with this switch (the admin pages show it as a warning).
    allow_any_origin: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    default_locale: str = Field(default="en", max_length=16)
    theme: dict[str, Any] = _json(dict)
    business_hours: dict[str, Any] = _json(dict)
    # Set: `visitor:identify` must carry user_hash = HMAC-SHA256(secret, id) to be trusted.
    identity_secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = _ts()


class Visitor(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    site_id: int = Field(foreign_key="site.id", index=True)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    external_id: str | None = Field(default=None, max_length=200)
    # True only when the host site proved the identity with its HMAC identity secret.
    identity_verified: bool = Field(default=False)
    locale: str | None = Field(default=None, max_length=16)
    created_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    # The host page the widget last reported (relaydesk/widget/page.py), for the agents.
    last_page_url: str | None = Field(default=None, max_length=2000)
    last_page_title: str | None = Field(default=None, max_length=300)


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="site.id", index=True)
    name: str = Field(max_length=120)
    # 'auto': queued conversations go to an online member (relaydesk/routing); 'manual':
    # they wait until someone accepts or assigns them.
    routing_mode: str = Field(
        default="auto", max_length=16, sa_column_kwargs={"server_default": "auto"}
    )
    created_at: datetime = _ts()


class StaffUser(SQLModel, table=True):
    __tablename__ = "staff_user"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(index=True, unique=True, max_length=320)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=512)
    roles: list[str] = _json(list)
    availability: str = Field(default=Availability.OFFLINE, max_length=16)
    avatar_url: str | None = Field(default=None, max_length=500)
    capacity: int = Field(default=5)
    is_active: bool = Field(default=True)
    # Every token names the version it was issued under; bumping it (sign-out, password
    # change, deactivation) revokes them all at once.
    session_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _ts()

    def has_role(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    user_id: int = Field(foreign_key="staff_user.id", primary_key=True, index=True)


class Event(SQLModel, table=True):
    """Append-only log of state changes, written in the same transaction as the change."""

    __table_args__ = (
        Index("ix_event_site_type_created", "site_id", "type", "created_at"),
        Index("ix_event_conversation", "conversation_id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    # No foreign key: PostgreSQL checked it with a row-locking query per event, a third
    # of an event's cost on the message path, guarding nothing (migration 0010).
    site_id: int
    type: str = Field(max_length=64)
    conversation_id: str | None = Field(default=None, max_length=32)
    actor_kind: str = Field(max_length=16)
    actor_id: str | None = Field(default=None, max_length=64)
    payload: dict[str, Any] = _json(dict)
    created_at: datetime = _ts()
