"""Storing attachments and sending messages that carry them: the only writers."""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from relaydesk.attachments.content import check_content, clean_filename
from relaydesk.attachments.models import Attachment, AttachmentPublic
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.schemas import dump
from relaydesk.conversations.service import Actor, SendResult
from relaydesk.core import crypto, rotation
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError, InvalidInput, NotFound, RateLimited
from relaydesk.core.models import utcnow

MAX_PER_MESSAGE = 10
UPLOADS_PER_WINDOW = 30
UPLOAD_WINDOW = timedelta(minutes=10)


class TooLarge(DomainError):
    code = "attachment_too_large"
    http_status = 413


def storage_root() -> Path:
    return get_settings().data_dir / "attachments"


def path_of(attachment: Attachment) -> Path:
    # The id is ours (hex), never the visitor's file name, so no path can be smuggled in.
    return storage_root() / str(attachment.site_id) / attachment.id


def file_aad(attachment_id: str) -> bytes:
    """Binds an attachment's encrypted file to its row: a file copied over another
    attachment's does not decrypt."""
    return crypto.aad("attachment", "file", attachment_id)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    with open(partial, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


async def check_upload_rate(db: Database, *, uploader: Actor) -> None:
    """At most UPLOADS_PER_WINDOW files per uploader per window, counted in the database so
    that every node agrees."""
    since = utcnow() - UPLOAD_WINDOW
    async with db.read() as session:
        count = (
            await session.execute(
                select(func.count())
                .select_from(Attachment)
                .where(
                    Attachment.uploader_kind == uploader.kind,
                    Attachment.uploader_id == uploader.id,
                    col(Attachment.created_at) >= since,
                )
            )
        ).scalar_one()
    if count >= UPLOADS_PER_WINDOW and get_settings().rate_limits_on:
        raise RateLimited("too many uploads; try again in a few minutes")


def check_size(size: int) -> None:
    limit = get_settings().attachment_max_bytes
    if size > limit:
        raise TooLarge(f"the file is larger than {limit} bytes", limit=limit)


async def store_attachment(
    db: Database, *, conversation: Conversation, uploader: Actor, filename: str | None, data: bytes
) -> Attachment:
    """Check the bytes, write them under the data dir, then record them."""
    assert uploader.id is not None
    check_size(len(data))
    content_type = check_content(data)
    attachment = Attachment(
        site_id=conversation.site_id,
        conversation_id=conversation.id,
        uploader_kind=uploader.kind,
        uploader_id=uploader.id,
        filename=clean_filename(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    path = path_of(attachment)
    # Encrypted at rest (core/crypto.py); the checks and the hash above saw the plaintext.
    sealed = crypto.encrypt_bytes(data, file_aad(attachment.id))
    await asyncio.to_thread(_write, path, sealed)
    try:
        async with db.write() as session:
            session.add(attachment)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return attachment


async def get_attachment(db: Database, attachment_id: str) -> Attachment:
    async with db.read() as session:
        attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("no such attachment", code="attachment_not_found")
    return attachment


async def read_bytes(attachment: Attachment) -> bytes:
    try:
        sealed = await asyncio.to_thread(path_of(attachment).read_bytes)
    except FileNotFoundError as exc:
        raise NotFound("the attachment's file is gone", code="attachment_not_found") from exc
    return crypto.decrypt_bytes(sealed, file_aad(attachment.id))


async def for_message(
    db: Database, *, conversation_id: str, sender: Actor, attachment_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The public metadata of attachments a message may carry: each must have been
    uploaded into this conversation by this sender."""
    if len(attachment_ids) > MAX_PER_MESSAGE:
        raise InvalidInput(
            f"a message carries at most {MAX_PER_MESSAGE} attachments",
            code="too_many_attachments",
        )
    wanted = list(dict.fromkeys(attachment_ids))
    async with db.read() as session:
        rows = await session.execute(select(Attachment).where(col(Attachment.id).in_(wanted)))
        found = {a.id: a for a in rows.scalars()}
    out = []
    for attachment_id in wanted:
        attachment = found.get(attachment_id)
        if (
            attachment is None
            or attachment.conversation_id != conversation_id
            or attachment.uploader_kind != sender.kind
            or attachment.uploader_id != sender.id
        ):
            # One answer for all: someone else's ids reveal nothing.
            raise NotFound("no such attachment", code="attachment_not_found")
        out.append(dump(AttachmentPublic.of(attachment)))
    return out


async def send_message(
    db: Database,
    *,
    conversation_id: str,
    sender: Actor,
    client_id: str,
    text: str,
    attachment_ids: Sequence[str] | None,
    origin_sid: str | None = None,
) -> SendResult:
    """`conversations.send_message`, with the attachments (if any) in the payload. A
    message of files only gets their names as its text, so previews, search and the bot
    still see something, flagged `text_auto` so clients show just the files."""
    if not attachment_ids:
        return await conversations.send_message(
            db,
            conversation_id=conversation_id,
            sender=sender,
            client_id=client_id,
            text=text,
            origin_sid=origin_sid,
        )
    files = await for_message(
        db, conversation_id=conversation_id, sender=sender, attachment_ids=attachment_ids
    )
    payload: dict[str, Any] = {"attachments": files}
    if not text.strip():
        text = ", ".join(f["name"] for f in files)
        payload["text_auto"] = True
    return await conversations.send_message(
        db,
        conversation_id=conversation_id,
        sender=sender,
        client_id=client_id,
        text=text,
        payload=payload,
        origin_sid=origin_sid,
    )


def _reseal_file(path: Path, attachment_id: str, ring: crypto.Keyring) -> bool:
    try:
        sealed = path.read_bytes()
    except FileNotFoundError:
        return False  # purged meanwhile
    if crypto.kid_of_bytes(sealed) == ring.current:
        return False
    plain = crypto.decrypt_bytes(sealed, file_aad(attachment_id), ring)
    _write(path, crypto.encrypt_bytes(plain, file_aad(attachment_id), ring))
    return True


async def rotate_files(
    db: Database, after: str | None, ring: crypto.Keyring, chunk: int
) -> tuple[str | None, int]:
    """The key rotation's step for attachment files (core/rotation.py): re-encrypt the
    next files after id `after` under the current key. Atomic per file (`_write`), and a
    file already under the key is left alone, so a rerun after a kill redoes nothing."""
    query = select(Attachment).order_by(col(Attachment.id)).limit(chunk)
    if after is not None:
        query = query.where(col(Attachment.id) > after)
    async with db.read() as session:
        rows = list((await session.execute(query)).scalars())
    if not rows:
        return None, 0
    changed = 0
    for attachment in rows:
        changed += await asyncio.to_thread(_reseal_file, path_of(attachment), attachment.id, ring)
    return rows[-1].id, changed


rotation.FILE_STEPS["attachment_files"] = rotate_files
