"""REST shapes of the privacy API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from relaydesk.privacy.models import PrivacyReceipt

# Ten years: longer is "forever", which is what null says.
MAX_RETENTION_DAYS = 3650
ID_PATTERN = r"^[0-9a-f]{32}$"


class RetentionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_days: int | None = Field(
        ...,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="Delete conversations idle for more than this many days; null keeps "
        "them forever (the default).",
    )


class RetentionPublic(BaseModel):
    site_id: int
    retention_days: int | None


class VisitorSummary(BaseModel):
    visitor: dict[str, Any]
    conversations: int
    messages: int


class ReceiptPublic(BaseModel):
    id: str
    kind: str
    site_id: int
    visitor_id: str
    actor_kind: str
    actor_id: int | None
    actor_email: str | None
    created_at: datetime
    counts: dict[str, int]
    files: int
    sha256: str | None
    size: int | None
    download_url: str | None

    @classmethod
    def of(cls, receipt: PrivacyReceipt) -> ReceiptPublic:
        url = f"/api/v1/privacy/receipts/{receipt.id}/export" if receipt.export_file else None
        return cls(**receipt.model_dump(exclude={"export_file"}), download_url=url)
