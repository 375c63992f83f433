"""The audit log's table and its REST shapes.

Rows are never changed or removed: the service layer has no function that would, and the
database refuses UPDATE and DELETE with triggers (migration 0006_privacy_audit). Actor
and site are plain columns, not foreign keys, and the actor's email is copied in, so an
entry still says who did what after that user or site is gone.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime, utcnow


class AuditAction(StrEnum):
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    PASSWORD_CHANGE = "auth.password_change"
    TOKEN_CREATE = "auth.token_create"
    TOKEN_REVOKE = "auth.token_revoke"
    USER_CREATE = "user.create"
    USER_ROLES = "user.roles"
    USER_ACTIVATE = "user.activate"
    USER_DEACTIVATE = "user.deactivate"
    USER_UPDATE = "user.update"
    TEAM_CREATE = "team.create"
    TEAM_UPDATE = "team.update"
    TEAM_MEMBER_ADD = "team.member_add"
    TEAM_MEMBER_REMOVE = "team.member_remove"
    SITE_CREATE = "site.create"
    SITE_UPDATE = "site.update"
    SITE_ORIGINS = "site.origins"
    IDENTITY_SECRET_ROTATE = "site.identity_secret_rotate"
    IDENTITY_SECRET_CLEAR = "site.identity_secret_clear"
    RETENTION_CHANGE = "privacy.retention"
    RETENTION_PURGE = "privacy.purge"
    VISITOR_EXPORT = "privacy.export"
    VISITOR_DELETE = "privacy.delete"
    KEY_ROTATE = "keys.rotate"
    EXPERIMENT_SHIP = "experiment.ship"
    SETTINGS_CHANGE = "settings.change"


class ActorKind(StrEnum):
    STAFF = "staff"
    # The command line (an operator on the host) and background jobs have no staff user.
    CLI = "cli"
    SYSTEM = "system"


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created", "created_at", "id"),
        Index("ix_audit_log_action_created", "action", "created_at"),
        Index("ix_audit_log_actor_created", "actor_id", "created_at"),
        Index("ix_audit_log_site_created", "site_id", "created_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_kind: str = Field(max_length=16)
    actor_id: int | None = Field(default=None)
    actor_email: str | None = Field(default=None, max_length=320)
    action: str = Field(max_length=64)
    site_id: int | None = Field(default=None)
    target_kind: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditEntryPublic(BaseModel):
    id: int
    created_at: datetime
    actor_kind: str
    actor_id: int | None
    actor_email: str | None
    action: str
    site_id: int | None
    target_kind: str | None
    target_id: str | None
    ip: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryPublic:
        assert entry.id is not None
        return cls.model_validate(entry, from_attributes=True)


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    total: int
    limit: int
    offset: int
