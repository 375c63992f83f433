"""Uploads no message carries are deleted after the grace period, rows and files; uploads
a message carries, and recent ones, stay."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlmodel import update

from relaydesk.attachments import cleanup
from relaydesk.attachments import service as attachments
from relaydesk.attachments.models import Attachment
from relaydesk.conversations import hooks
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.models import utcnow
from tests.factories import make_conversation, make_site

pytestmark = pytest.mark.postgres


def _png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (shade, 90, 52)).save(out, format="PNG")
    return out.getvalue()


async def _upload(db: Database, conversation: Conversation, n: int) -> Attachment:
    return await attachments.store_attachment(
        db,
        conversation=conversation,
        uploader=Actor.visitor(conversation.visitor_id),
        filename=f"photo-{n}.png",
        data=_png(n),
    )


async def _backdate(db: Database, attachment: Attachment, hours: float) -> None:
    async with db.write() as session:
        await session.execute(
            update(Attachment)
            .where(Attachment.id == attachment.id)  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(hours=hours))
        )


async def test_only_old_uploads_no_message_carries_are_deleted(db: Database, backend: str) -> None:
    site = await make_site(db)
    conversation = await make_conversation(db, site)
    other = await make_conversation(db, site)
    await hooks.drain()  # the bot's turns on the opening messages: not this test's business
    sent, abandoned, recent = [await _upload(db, conversation, n) for n in range(3)]
    # Uploaded into another conversation and never sent: just as orphaned.
    elsewhere = await _upload(db, other, 3)
    await attachments.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(conversation.visitor_id),
        client_id="with-file",
        text="here it is",
        attachment_ids=[sent.id],
    )
    await hooks.drain()
    for old in (sent, abandoned, elsewhere):
        await _backdate(db, old, hours=25)
    await _backdate(db, recent, hours=23)

    assert await cleanup.delete_orphans(db) == 2
    assert await cleanup.delete_orphans(db) == 0  # nothing left to do

    for kept in (sent, recent):
        assert (await attachments.get_attachment(db, kept.id)).id == kept.id
        assert attachments.path_of(kept).read_bytes()
    for gone in (abandoned, elsewhere):
        assert not attachments.path_of(gone).exists()
        with pytest.raises(Exception, match="no such attachment"):
            await attachments.get_attachment(db, gone.id)


async def test_a_sweep_takes_at_most_its_limit(db: Database, backend: str) -> None:
    site = await make_site(db)
    conversation = await make_conversation(db, site)
    await hooks.drain()
    uploads = [await _upload(db, conversation, n) for n in range(3)]
    for upload in uploads:
        await _backdate(db, upload, hours=48)
    assert await cleanup.delete_orphans(db, limit=2) == 2
    assert await cleanup.delete_orphans(db, limit=2) == 1
