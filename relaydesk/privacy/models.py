"""Privacy tables: each site's retention setting and the receipts of exports, erasures
and retention purges."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime, new_id, utcnow


class ReceiptKind(StrEnum):
    EXPORT = "export"
    DELETE = "delete"


class PrivacySitePolicy(SQLModel, table=True):
    """A site without a row, or with `retention_days` null, keeps conversations forever."""

    __tablename__ = "privacy_site_policy"

    site_id: int = Field(foreign_key="site.id", primary_key=True)
    retention_days: int | None = Field(default=None)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PrivacyReceipt(SQLModel, table=True):
    """What a data-subject request did: who asked, when, how many rows and files, and for
    an export the SHA-256 of the file handed out. It names the visitor only by id (a random
    UUID), so a deletion's receipt holds none of the deleted personal data."""

    __tablename__ = "privacy_receipt"
    __table_args__ = (Index("ix_privacy_receipt_site_created", "site_id", "created_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    kind: str = Field(max_length=16)
    site_id: int
    visitor_id: str = Field(max_length=32, index=True)
    actor_kind: str = Field(max_length=16)
    actor_id: int | None = Field(default=None)
    actor_email: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    files: int = Field(default=0)
    sha256: str | None = Field(default=None, max_length=64)
    size: int | None = Field(default=None)
    # The export's file under the data dir's exports/ folder; null once it is deleted
    # (the visitor's erasure removes earlier exports of their data too).
    export_file: str | None = Field(default=None, max_length=64)
