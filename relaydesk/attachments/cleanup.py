"""Deleting uploads that never became part of a message.

A file is uploaded before the message that carries it is sent; a visitor who closes the
tab, or removes the file, or whose send is refused, leaves it behind. Nothing can reach
such a file (only a message's payload names it), so after `attachment_orphan_hours` its
row and bytes are deleted. The grace period is far longer than any client retries a send.
A message that names the attachment keeps it, whenever it was sent: the check is part of
the DELETE, so a send that commits first always wins.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import Exists, String, cast, delete, exists, select
from sqlmodel import col

from relaydesk.attachments.models import Attachment
from relaydesk.attachments.service import path_of
from relaydesk.conversations.models import Message
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.models import utcnow

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 3600.0
# Per sweep: a backlog is worked off over a few sweeps instead of in one long transaction.
SWEEP_LIMIT = 500


def _carried() -> Exists:
    """True for an attachment some message of its conversation names in its payload."""
    return exists().where(
        col(Message.conversation_id) == col(Attachment.conversation_id),
        cast(col(Message.payload), String).contains(col(Attachment.id)),
    )


async def delete_orphans(
    db: Database, *, older_than: timedelta | None = None, limit: int = SWEEP_LIMIT
) -> int:
    """Delete attachments older than `older_than` (the setting by default) that no message
    carries, rows first, then their files. Returns how many went."""
    if older_than is None:
        older_than = timedelta(hours=get_settings().attachment_orphan_hours)
    cutoff = utcnow() - older_than
    async with db.write() as session:
        candidates = list(
            (
                await session.execute(
                    select(Attachment)
                    .where(col(Attachment.created_at) < cutoff, ~_carried())
                    .order_by(col(Attachment.created_at))
                    .limit(limit)
                )
            ).scalars()
        )
        if not candidates:
            return 0
        gone = (
            await session.execute(
                delete(Attachment)
                .where(col(Attachment.id).in_([a.id for a in candidates]), ~_carried())
                .returning(col(Attachment.id))
            )
        ).scalars()
        deleted = set(gone)
    for attachment in candidates:
        if attachment.id in deleted:
            await asyncio.to_thread(path_of(attachment).unlink, missing_ok=True)
    if deleted:
        log.info("deleted %d uploads no message carries", len(deleted))
    return len(deleted)


async def run_sweeps(db: Database, *, interval: float = SWEEP_INTERVAL_S) -> None:
    """Delete orphaned uploads every `interval` seconds, until cancelled (app lifespan).
    The first sweep waits an interval too: nothing is urgent at start-up, and a server
    stopped moments after it started (tests, a crash loop) should not be cancelled in the
    middle of one."""
    while True:
        await asyncio.sleep(interval)
        try:
            await delete_orphans(db)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("orphaned upload sweep failed")
