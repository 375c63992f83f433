"""A visitor's data-subject requests: export (access, portability) and erasure.

Every read goes through the owning domain's service functions where one exists
(messages through `conversations.service.sync`, files through
`attachments.service.read_bytes`), so whatever those do to stored data (decryption at
rest) applies here too. Each request leaves a receipt (`PrivacyReceipt`) and an audit
entry; an export's file is kept under the data dir's `exports/` (owner-only) so it can be
downloaded again, until the visitor is erased, which removes it too.
"""

from __future__ import annotations

import asyncio
import json
import re
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

from sqlmodel import SQLModel, col, select

from relaydesk.attachments import service as attachments
from relaydesk.attachments.models import Attachment
from relaydesk.audit import service as audit
from relaydesk.audit.models import ActorKind, AuditAction
from relaydesk.bot.models import BotCsat, BotFeedback, BotOfflineMessage
from relaydesk.collab.models import ConversationNote
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import Conversation, Message
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import NotFound
from relaydesk.core.models import StaffUser, Visitor, new_id, utcnow
from relaydesk.privacy import erase, files
from relaydesk.privacy import sockets as privacy_sockets
from relaydesk.privacy.models import PrivacyReceipt, ReceiptKind

EXPORT_FORMAT = "relaydesk-visitor-export/1"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def exports_dir() -> Path:
    return get_settings().data_dir / "exports"


def export_path(receipt: PrivacyReceipt) -> Path | None:
    return exports_dir() / receipt.export_file if receipt.export_file else None


def _row(obj: SQLModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    return obj.model_dump(mode="json", exclude=exclude)


async def get_visitor(db: Database, visitor_id: str) -> Visitor:
    async with db.read() as session:
        visitor = await session.get(Visitor, visitor_id)
    if visitor is None:
        raise NotFound("no such visitor", code="visitor_not_found")
    return visitor


async def _conversations_of(db: Database, visitor_id: str) -> list[Conversation]:
    async with db.read() as session:
        rows = await session.execute(
            select(Conversation)
            .where(col(Conversation.visitor_id) == visitor_id)
            .order_by(col(Conversation.created_at))
        )
        return list(rows.scalars())


async def _messages(db: Database, conversation_id: str) -> list[Message]:
    out: list[Message] = []
    while True:
        page = await conversations.sync(
            db, conversation_id=conversation_id, after_seq=out[-1].seq if out else 0
        )
        out.extend(page)
        if not page:
            return out


async def _rows(db: Database, model: Any, conversation_id: str) -> list[Any]:
    async with db.read() as session:
        rows = await session.execute(
            select(model).where(model.conversation_id == conversation_id).order_by(model.id)
        )
        return list(rows.scalars())


async def summary(db: Database, visitor_id: str) -> dict[str, Any]:
    """What the admin page shows before an export or erasure: the profile and counts."""
    visitor = await get_visitor(db, visitor_id)
    convs = await _conversations_of(db, visitor_id)
    return {
        "visitor": _row(visitor),
        "conversations": len(convs),
        "messages": sum(c.last_seq for c in convs),
    }


async def build_export(db: Database, visitor_id: str, target: BinaryIO) -> dict[str, int]:
    """Write the zip (export.json plus the attachment files) to `target`; returns how many
    of each it holds. Files are compressed on a worker thread, one at a time, so a large
    export neither blocks the event loop nor sits in memory whole."""
    visitor = await get_visitor(db, visitor_id)
    counts = {"conversations": 0, "messages": 0, "attachments": 0, "notes": 0}
    counts |= {"csat": 0, "feedback": 0, "offline_messages": 0}
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "visitor": _row(visitor),
        "conversations": [],
    }
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for conversation in await _conversations_of(db, visitor_id):
            messages = await _messages(db, conversation.id)
            files_meta = []
            for attachment in await _rows(db, Attachment, conversation.id):
                name = f"attachments/{attachment.id}-{_UNSAFE.sub('_', attachment.filename)}"
                try:
                    content = await attachments.read_bytes(attachment)
                    await asyncio.to_thread(archive.writestr, name, content)
                except NotFound:
                    name = ""  # its file is gone (an interrupted delete): listed, no bytes
                files_meta.append({**_row(attachment), "file": name or None})
            notes = await _rows(db, ConversationNote, conversation.id)
            csat = await _rows(db, BotCsat, conversation.id)
            feedback = await _rows(db, BotFeedback, conversation.id)
            offline = await _rows(db, BotOfflineMessage, conversation.id)
            document["conversations"].append(
                {
                    **_row(conversation),
                    "messages": [_row(m) for m in messages],
                    "attachments": files_meta,
                    "notes": [_row(n) for n in notes],
                    "csat": [_row(c) for c in csat],
                    "feedback": [_row(f) for f in feedback],
                    "offline_messages": [_row(o) for o in offline],
                }
            )
            counts["conversations"] += 1
            counts["messages"] += len(messages)
            counts["attachments"] += sum(1 for f in files_meta if f["file"])
            counts["notes"] += len(notes)
            counts["csat"] += len(csat)
            counts["feedback"] += len(feedback)
            counts["offline_messages"] += len(offline)
        text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True)
        await asyncio.to_thread(archive.writestr, "export.json", text)
    return counts


def _actor_fields(actor: StaffUser | None) -> dict[str, Any]:
    if actor is None:
        return {"actor_kind": ActorKind.CLI, "actor_id": None, "actor_email": None}
    return {"actor_kind": ActorKind.STAFF, "actor_id": actor.id, "actor_email": actor.email}


async def export_visitor(
    db: Database, *, visitor_id: str, actor: StaffUser | None, ip: str | None = None
) -> PrivacyReceipt:
    """Build the visitor's export, keep it (owner-only), and return its receipt."""
    visitor = await get_visitor(db, visitor_id)
    receipt_id = new_id()
    path = exports_dir() / f"{receipt_id}.zip"
    with files.private_file(path) as handle:
        counts = await build_export(db, visitor_id, handle)
    digest, size = await asyncio.to_thread(files.sha256_of, path)
    receipt = PrivacyReceipt(
        kind=ReceiptKind.EXPORT,
        site_id=visitor.site_id,
        visitor_id=visitor_id,
        counts=counts,
        files=counts["attachments"],
        id=receipt_id,
        sha256=digest,
        size=size,
        **_actor_fields(actor),
    )
    receipt.export_file = path.name
    async with db.write() as session:
        session.add(receipt)
    await _audit(db, receipt, actor, ip, AuditAction.VISITOR_EXPORT)
    return receipt


async def _audit(
    db: Database, receipt: PrivacyReceipt, actor: StaffUser | None, ip: str | None, action: str
) -> None:
    await audit.record(
        db,
        action=action,
        actor=actor,
        actor_kind=None if actor else ActorKind.CLI,
        ip=ip,
        site_id=receipt.site_id,
        target_kind="visitor",
        target_id=receipt.visitor_id,
        details={
            "receipt": receipt.id,
            "counts": receipt.counts,
            "files": receipt.files,
            "sha256": receipt.sha256,
        },
    )


async def delete_visitor(
    db: Database, *, visitor_id: str, actor: StaffUser | None, ip: str | None = None
) -> PrivacyReceipt:
    """Erase the visitor, all their conversations and files, and earlier exports of
    their data; disconnect their widget. The receipt keeps counts, not data."""
    visitor = await get_visitor(db, visitor_id)
    batch = get_settings().retention_purge_batch
    total = erase.Erased()
    while True:
        async with db.write() as session:
            ids = list(
                (
                    await session.execute(
                        select(Conversation.id)
                        .where(col(Conversation.visitor_id) == visitor_id)
                        .limit(batch)
                    )
                ).scalars()
            )
            done = await erase.erase_conversations(session, ids)
        total.add(done)
        await erase.unlink_files(done.files)
        if len(ids) < batch:
            break
    async with db.write() as session:
        total.add(await erase.erase_visitor_rows(session, [visitor_id]))
        earlier = list(
            (
                await session.execute(
                    select(PrivacyReceipt).where(
                        col(PrivacyReceipt.visitor_id) == visitor_id,
                        col(PrivacyReceipt.export_file).is_not(None),
                    )
                )
            ).scalars()
        )
        stale = [p for r in earlier if (p := export_path(r)) is not None]
        for r in earlier:
            r.export_file = None
            session.add(r)
    exports_removed = await erase.unlink_files(stale)
    sockets = await privacy_sockets.announce_erased(visitor_id)
    receipt = PrivacyReceipt(
        kind=ReceiptKind.DELETE,
        site_id=visitor.site_id,
        visitor_id=visitor_id,
        counts={**total.counts(), "exports": exports_removed, "sockets": sockets},
        files=len(total.files),
        **_actor_fields(actor),
    )
    async with db.write() as session:
        session.add(receipt)
    await _audit(db, receipt, actor, ip, AuditAction.VISITOR_DELETE)
    return receipt
