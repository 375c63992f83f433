"""Retention: each site's setting, and the purge that applies it.

"Older than N days" is measured from a conversation's last activity (`updated_at`, bumped
by every message and state change), so a long-running conversation someone is still
writing in is never cut. Once a site's old conversations are gone, its visitors who have
none left and have not been seen for N days go too.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, exists, func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.attachments.models import Attachment
from relaydesk.audit import service as audit
from relaydesk.audit.models import ActorKind, AuditAction
from relaydesk.conversations.models import Conversation, Message
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound
from relaydesk.core.models import Site, StaffUser, Visitor, utcnow
from relaydesk.privacy import erase
from relaydesk.privacy.models import PrivacyReceipt, PrivacySitePolicy

log = logging.getLogger(__name__)


async def get_retention(db: Database, site_id: int) -> int | None:
    async with db.read() as session:
        if await session.get(Site, site_id) is None:
            raise NotFound("no such site", code="site_not_found")
        policy = await session.get(PrivacySitePolicy, site_id)
    return policy.retention_days if policy else None


async def set_retention(
    db: Database, *, site_id: int, days: int | None, actor: StaffUser | None, ip: str | None
) -> int | None:
    """Set (or, with None, turn off) a site's retention period; audited with before and
    after, since shortening it deletes data at the next purge."""
    async with db.write() as session:
        if await session.get(Site, site_id) is None:
            raise NotFound("no such site", code="site_not_found")
        policy = await session.get(PrivacySitePolicy, site_id)
        before = policy.retention_days if policy else None
        if policy is None:
            policy = PrivacySitePolicy(site_id=site_id)
        policy.retention_days = days
        policy.updated_at = utcnow()
        session.add(policy)
    if before != days:
        await audit.record(
            db,
            action=AuditAction.RETENTION_CHANGE,
            actor=actor,
            actor_kind=None if actor else ActorKind.CLI,
            ip=ip,
            site_id=site_id,
            target_kind="site",
            target_id=site_id,
            details={"before": before, "after": days},
        )
    return days


async def retention_by_site(db: Database) -> dict[int, int]:
    async with db.read() as session:
        rows = await session.execute(
            select(PrivacySitePolicy).where(col(PrivacySitePolicy.retention_days).is_not(None))
        )
        return {p.site_id: p.retention_days for p in rows.scalars() if p.retention_days}


@dataclass
class PurgeResult:
    dry_run: bool
    sites: dict[int, dict[str, int]] = field(default_factory=dict)
    files: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "sites": {str(k): v for k, v in self.sites.items()},
            "files": self.files,
        }


async def _would_purge(db: Database, site_id: int, cutoff: Any) -> dict[str, int]:
    old = select(Conversation.id).where(
        col(Conversation.site_id) == site_id, col(Conversation.updated_at) < cutoff
    )
    async with db.read() as session:
        conversations = (
            await session.execute(select(func.count()).select_from(old.subquery()))
        ).scalar_one()
        messages = (
            await session.execute(select(func.count()).where(col(Message.conversation_id).in_(old)))
        ).scalar_one()
        files = (
            await session.execute(
                select(func.count()).where(col(Attachment.conversation_id).in_(old))
            )
        ).scalar_one()
    return {"conversation": conversations, "message": messages, "attachment": files}


async def purge_site(
    db: Database, *, site_id: int, days: int, batch: int | None = None
) -> tuple[dict[str, int], int]:
    """Delete the site's conversations idle for more than `days`, batch by batch, then
    its visitors with nothing left. Returns rows deleted per table and files removed."""
    batch = batch or get_settings().retention_purge_batch
    cutoff = utcnow() - timedelta(days=days)
    total = erase.Erased()
    files = 0
    while True:
        async with db.write() as session:
            ids = await _claim(
                session,
                select(Conversation.id)
                .where(
                    col(Conversation.site_id) == site_id,
                    col(Conversation.updated_at) < cutoff,
                )
                .order_by(col(Conversation.updated_at)),
                batch,
            )
            done = await erase.erase_conversations(session, ids)
        files += await erase.unlink_files(done.files)
        total.add(done)
        if len(ids) < batch:
            break
    while True:
        async with db.write() as session:
            visitors = await _claim(
                session,
                select(Visitor.id).where(
                    col(Visitor.site_id) == site_id,
                    col(Visitor.last_seen_at) < cutoff,
                    ~exists().where(col(Conversation.visitor_id) == col(Visitor.id)),
                ),
                batch,
            )
            total.add(await erase.erase_visitor_rows(session, visitors))
        if len(visitors) < batch:
            break
    return total.counts(), files


async def _claim(session: AsyncSession, query: Select[Any], batch: int) -> list[Any]:
    """The next batch of ids `query` selects, locked; rows another purge holds are skipped
    (PostgreSQL), so two purges never wait on or erase the same rows."""
    return list(
        (await session.execute(query.limit(batch).with_for_update(skip_locked=True))).scalars()
    )


async def purge(db: Database, *, dry_run: bool = False, actor_kind: ActorKind) -> PurgeResult:
    """Apply every site's retention period once. Each site that lost anything gets one
    audit entry with the counts."""
    result = PurgeResult(dry_run=dry_run)
    for site_id, days in sorted((await retention_by_site(db)).items()):
        if dry_run:
            result.sites[site_id] = await _would_purge(db, site_id, utcnow() - timedelta(days=days))
            continue
        counts, files = await purge_site(db, site_id=site_id, days=days)
        result.sites[site_id] = counts
        result.files += files
        if counts:
            await audit.record(
                db,
                action=AuditAction.RETENTION_PURGE,
                actor_kind=actor_kind,
                site_id=site_id,
                target_kind="site",
                target_id=site_id,
                details={"retention_days": days, "rows": counts, "files": files},
            )
    return result


async def run_purges(db: Database, *, interval: float | None = None) -> None:
    """Purge every `interval` seconds until cancelled (app lifespan). Like the upload
    sweep, the first run waits an interval: nothing is urgent at start-up."""
    interval = interval or get_settings().retention_purge_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            result = await purge(db, actor_kind=ActorKind.SYSTEM)
            if any(result.sites.values()):
                log.info("retention purge: %s", result.as_dict())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("retention purge failed")


async def list_receipts(
    db: Database, *, site_id: int | None = None, limit: int = 50
) -> list[PrivacyReceipt]:
    async with db.read() as session:
        query = select(PrivacyReceipt)
        if site_id is not None:
            query = query.where(col(PrivacyReceipt.site_id) == site_id)
        rows = await session.execute(
            query.order_by(col(PrivacyReceipt.created_at).desc()).limit(limit)
        )
        return list(rows.scalars())


async def get_receipt(db: Database, receipt_id: str) -> PrivacyReceipt:
    async with db.read() as session:
        receipt = await session.get(PrivacyReceipt, receipt_id)
    if receipt is None:
        raise NotFound("no such receipt", code="receipt_not_found")
    return receipt
