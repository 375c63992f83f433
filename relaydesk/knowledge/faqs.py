"""FAQ entries: create, edit (phrasings, answer, tags, locale), publish, delete."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col

from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, InvalidInput
from relaydesk.core.models import utcnow
from relaydesk.knowledge.chunking import entry_id_of_faq
from relaydesk.knowledge.common import (
    Actor,
    bump_kb_version,
    external_id_taken,
    get_row,
    kb_version_after,
    list_rows,
    lock_row,
    record,
    reindex_entries,
    require_site_in,
)
from relaydesk.knowledge.importers.text import detect_locale
from relaydesk.knowledge.models import (
    ContentStatus,
    FaqEntry,
    FaqEntryCreate,
    FaqEntryUpdate,
)


async def create_faq_entry(db: Database, *, data: FaqEntryCreate, actor: Actor) -> FaqEntry:
    now = utcnow()
    published = data.status == ContentStatus.PUBLISHED
    async with db.write() as session:
        await require_site_in(session, data.site_id)
        if data.external_id and await external_id_taken(
            session, FaqEntry, data.site_id, data.external_id, None
        ):
            raise Conflict(
                f"an FAQ entry with external id {data.external_id!r} exists",
                code="external_id_taken",
            )
        entry = FaqEntry(
            site_id=data.site_id,
            external_id=data.external_id,
            title=data.title,
            questions=data.questions,
            answer=data.answer,
            tags=data.tags,
            locale=data.locale
            or detect_locale(f"{data.title}\n{' '.join(data.questions)}\n{data.answer}"),
            status=data.status,
            created_at=now,
            updated_at=now,
            published_at=now if published else None,
        )
        session.add(entry)
        await session.flush()
        assert entry.id is not None
        kb = await kb_version_after(session, data.site_id, affects=published)
        record(
            session,
            event_log.FaqEntryCreated(faq_entry_id=entry.id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    if published:
        await reindex_entries(db, entry.site_id, [entry_id_of_faq(entry.id)], kb)
    return entry


async def get_faq_entry(db: Database, *, faq_id: int) -> FaqEntry:
    return await get_row(db, FaqEntry, faq_id)


async def list_faq_entries(
    db: Database,
    *,
    site_ids: Collection[int] | None,
    status: ContentStatus | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[FaqEntry], int]:
    return await list_rows(
        db,
        FaqEntry,
        searched=[FaqEntry.title, FaqEntry.answer],
        order=[col(FaqEntry.id)],
        site_ids=site_ids,
        status=status,
        query=query,
        limit=limit,
        offset=offset,
    )


async def update_faq_entry(
    db: Database, *, faq_id: int, changes: FaqEntryUpdate, actor: Actor
) -> FaqEntry:
    fields = changes.model_dump(exclude_unset=True)
    for required in ("title", "questions", "answer", "tags", "locale"):
        if required in fields and fields[required] is None:
            raise InvalidInput(f"{required} cannot be null", code="invalid_payload")
    async with db.write() as session:
        entry = await lock_row(session, FaqEntry, faq_id)
        if fields.get("external_id") and await external_id_taken(
            session, FaqEntry, entry.site_id, fields["external_id"], entry.id
        ):
            raise Conflict(
                f"an FAQ entry with external id {fields['external_id']!r} exists",
                code="external_id_taken",
            )
        changed = {k: v for k, v in fields.items() if getattr(entry, k) != v}
        if not changed:
            return entry
        for key, value in changed.items():
            setattr(entry, key, value)
        entry.revision += 1
        entry.updated_at = utcnow()
        published = entry.status == ContentStatus.PUBLISHED
        kb = await kb_version_after(session, entry.site_id, affects=published)
        record(
            session,
            event_log.FaqEntryUpdated(faq_entry_id=faq_id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    if published:
        await reindex_entries(db, entry.site_id, [entry_id_of_faq(faq_id)], kb)
    return entry


async def set_faq_status(
    db: Database, *, faq_id: int, status: ContentStatus, actor: Actor
) -> FaqEntry:
    async with db.write() as session:
        entry = await lock_row(session, FaqEntry, faq_id)
        if entry.status == status:
            return entry
        entry.status = status
        entry.revision += 1
        entry.updated_at = utcnow()
        if status == ContentStatus.PUBLISHED:
            entry.published_at = entry.updated_at
        kb = await bump_kb_version(session, entry.site_id)
        payload_type = (
            event_log.FaqEntryPublished
            if status == ContentStatus.PUBLISHED
            else event_log.FaqEntryUnpublished
        )
        record(
            session,
            payload_type(faq_entry_id=faq_id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    await reindex_entries(db, entry.site_id, [entry_id_of_faq(faq_id)], kb)
    return entry


async def publish_faq_entry(db: Database, *, faq_id: int, actor: Actor) -> FaqEntry:
    return await set_faq_status(db, faq_id=faq_id, status=ContentStatus.PUBLISHED, actor=actor)


async def unpublish_faq_entry(db: Database, *, faq_id: int, actor: Actor) -> FaqEntry:
    return await set_faq_status(db, faq_id=faq_id, status=ContentStatus.DRAFT, actor=actor)


async def delete_faq_entry(db: Database, *, faq_id: int, actor: Actor) -> None:
    async with db.write() as session:
        entry = await lock_row(session, FaqEntry, faq_id)
        published = entry.status == ContentStatus.PUBLISHED
        await session.delete(entry)
        kb = await kb_version_after(session, entry.site_id, affects=published)
        record(
            session,
            event_log.FaqEntryDeleted(faq_entry_id=faq_id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    if published:
        await reindex_entries(db, entry.site_id, [entry_id_of_faq(faq_id)], kb)
