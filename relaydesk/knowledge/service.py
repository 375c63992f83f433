"""The knowledge base's only writer: articles (with version history), FAQ entries, imports.

Every change runs in one transaction that also bumps the site's knowledge-base version
(when retrieval is affected) and records its event; after the commit this process's index
re-reads just the changed entries, and other processes notice the version (search.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, DomainError, InvalidInput
from relaydesk.core.models import Site, StaffUser, utcnow
from relaydesk.knowledge import importers, search
from relaydesk.knowledge.chunking import entry_id_of_article, entry_id_of_faq
from relaydesk.knowledge.errors import (
    ArticleNotFound,
    FaqEntryNotFound,
    ImportRefused,
    SiteNotFound,
    VersionNotFound,
)
from relaydesk.knowledge.importers import ParsedArticle, ParsedBatch, ParsedFaq, web
from relaydesk.knowledge.models import (
    Article,
    ArticleCreate,
    ArticleUpdate,
    ArticleVersion,
    ContentStatus,
    FaqEntry,
    FaqEntryCreate,
    FaqEntryUpdate,
    ImportedItem,
    ImportSummary,
    KnowledgeBaseState,
)

log = logging.getLogger(__name__)

ARTICLE_CONTENT = ("title", "body", "locale", "tags", "source_url")
FAQ_CONTENT = ("title", "questions", "answer", "tags", "locale")


@dataclass(frozen=True)
class Actor:
    """Who changes the knowledge base: a staff user, or the system (CLI, demo seeding)."""

    kind: str
    id: str | None = None

    @classmethod
    def staff(cls, user: StaffUser) -> Actor:
        return cls(kind="staff", id=str(user.id))


SYSTEM = Actor(kind="system")
CLI = Actor(kind="system", id="cli")


# The knowledge-base version


async def _bump_kb_version(session: AsyncSession, site_id: int) -> int:
    """Increment the site's version inside the caller's transaction; the new value."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    statement = (
        insert(KnowledgeBaseState)
        .values(site_id=site_id, version=1, updated_at=now)
        .on_conflict_do_update(
            index_elements=["site_id"],
            set_={"version": col(KnowledgeBaseState.version) + 1, "updated_at": now},
        )
        .returning(col(KnowledgeBaseState.version))
    )
    return int((await session.execute(statement)).scalar_one())


async def _current_kb_version(session: AsyncSession, site_id: int) -> int:
    version = (
        await session.execute(
            select(KnowledgeBaseState.version).where(KnowledgeBaseState.site_id == site_id)
        )
    ).scalar_one_or_none()
    return int(version or 0)


async def _kb_version_after(session: AsyncSession, site_id: int, *, affects: bool) -> int:
    if affects:
        return await _bump_kb_version(session, site_id)
    return await _current_kb_version(session, site_id)


async def _reindex(db: Database, site_id: int, entry_ids: Collection[str], kb_version: int) -> None:
    if entry_ids:
        await search.get_index_manager().apply(
            db, site_id=site_id, entry_ids=entry_ids, kb_version=kb_version
        )


async def _require_site(session: AsyncSession, site_id: int) -> Site:
    site = await session.get(Site, site_id)
    if site is None:
        raise SiteNotFound(f"no site {site_id}")
    return site


async def require_site(db: Database, site_id: int) -> Site:
    async with db.read() as session:
        return await _require_site(session, site_id)


def _record(
    session: AsyncSession, payload: event_log.EventPayload, *, site_id: int, actor: Actor
) -> None:
    event_log.record(session, payload, site_id=site_id, actor_kind=actor.kind, actor_id=actor.id)


# Articles


def _snapshot(article: Article, *, actor: Actor, note: str | None) -> ArticleVersion:
    assert article.id is not None
    return ArticleVersion(
        article_id=article.id,
        version=article.version,
        title=article.title,
        body=article.body,
        locale=article.locale,
        tags=list(article.tags),
        source_url=article.source_url,
        author_kind=actor.kind,
        author_id=actor.id,
        note=note,
    )


async def _external_id_taken(
    session: AsyncSession,
    model: type[Article] | type[FaqEntry],
    site_id: int,
    external_id: str,
    exclude: int | None,
) -> bool:
    query = select(col(model.id)).where(
        col(model.site_id) == site_id, col(model.external_id) == external_id
    )
    if exclude is not None:
        query = query.where(col(model.id) != exclude)
    return (await session.execute(query)).first() is not None


async def create_article(db: Database, *, data: ArticleCreate, actor: Actor) -> Article:
    now = utcnow()
    published = data.status == ContentStatus.PUBLISHED
    async with db.write() as session:
        await _require_site(session, data.site_id)
        if data.external_id and await _external_id_taken(
            session, Article, data.site_id, data.external_id, None
        ):
            raise Conflict(
                f"an article with external id {data.external_id!r} exists",
                code="external_id_taken",
            )
        article = Article(
            site_id=data.site_id,
            external_id=data.external_id,
            source_url=data.source_url,
            title=data.title,
            body=data.body,
            status=data.status,
            locale=data.locale,
            tags=data.tags,
            created_at=now,
            updated_at=now,
            published_at=now if published else None,
        )
        session.add(article)
        await session.flush()
        session.add(_snapshot(article, actor=actor, note="created"))
        kb = await _kb_version_after(session, data.site_id, affects=published)
        assert article.id is not None
        _record(
            session,
            event_log.ArticleCreated(article_id=article.id, version=1, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    if published:
        await _reindex(db, article.site_id, [entry_id_of_article(article.id)], kb)
    return article


M = TypeVar("M", Article, FaqEntry)
_NOT_FOUND: dict[type[Any], tuple[type[DomainError], str]] = {
    Article: (ArticleNotFound, "no article {}"),
    FaqEntry: (FaqEntryNotFound, "no FAQ entry {}"),
}


def _missing(model: type[M], row_id: int) -> DomainError:
    error, message = _NOT_FOUND[model]
    return error(message.format(row_id))


async def _get(db: Database, model: type[M], row_id: int) -> M:
    async with db.read() as session:
        row = await session.get(model, row_id)
    if row is None:
        raise _missing(model, row_id)
    return row


async def _lock(session: AsyncSession, model: type[M], row_id: int) -> M:
    row = (
        await session.execute(select(model).where(model.id == row_id).with_for_update())
    ).scalar_one_or_none()
    if row is None:
        raise _missing(model, row_id)
    return row


async def _list(
    db: Database,
    model: type[M],
    *,
    searched: Sequence[Any],
    order: Sequence[Any],
    site_ids: Collection[int] | None,
    status: ContentStatus | None,
    query: str | None,
    limit: int,
    offset: int,
) -> tuple[list[M], int]:
    """One page of `model` rows of these sites, optionally by status and a text search over
    the `searched` columns, plus the total count."""
    conditions: list[Any] = []
    if site_ids is not None:
        conditions.append(col(model.site_id).in_(list(site_ids)))
    if status is not None:
        conditions.append(model.status == status)
    if query:
        pattern = f"%{query.lower()}%"
        conditions.append(or_(*(func.lower(column).like(pattern) for column in searched)))
    async with db.read() as session:
        total = (
            await session.execute(select(func.count()).select_from(model).where(*conditions))
        ).scalar_one()
        rows = await session.execute(
            select(model).where(*conditions).order_by(*order).limit(limit).offset(offset)
        )
        return list(rows.scalars()), int(total)


async def get_article(db: Database, *, article_id: int) -> Article:
    return await _get(db, Article, article_id)


async def list_articles(
    db: Database,
    *,
    site_ids: Collection[int] | None,
    status: ContentStatus | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Article], int]:
    return await _list(
        db,
        Article,
        searched=[Article.title, Article.body],
        order=[col(Article.updated_at).desc(), col(Article.id).desc()],
        site_ids=site_ids,
        status=status,
        query=query,
        limit=limit,
        offset=offset,
    )


async def update_article(
    db: Database, *, article_id: int, changes: ArticleUpdate, actor: Actor
) -> Article:
    fields = changes.model_dump(exclude_unset=True)
    note = fields.pop("note", None)
    for required in ("title", "body", "locale", "tags"):
        if required in fields and fields[required] is None:
            raise InvalidInput(f"{required} cannot be null", code="invalid_payload")
    async with db.write() as session:
        article = await _lock(session, Article, article_id)
        if fields.get("external_id") and await _external_id_taken(
            session, Article, article.site_id, fields["external_id"], article.id
        ):
            raise Conflict(
                f"an article with external id {fields['external_id']!r} exists",
                code="external_id_taken",
            )
        changed = {k: v for k, v in fields.items() if getattr(article, k) != v}
        if not changed:
            return article
        for key, value in changed.items():
            setattr(article, key, value)
        article.revision += 1
        article.updated_at = utcnow()
        if any(k in changed for k in ARTICLE_CONTENT):
            article.version += 1
            session.add(_snapshot(article, actor=actor, note=note or "edited"))
        published = article.status == ContentStatus.PUBLISHED
        kb = await _kb_version_after(session, article.site_id, affects=published)
        assert article.id is not None
        _record(
            session,
            event_log.ArticleUpdated(article_id=article.id, version=article.version, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    if published:
        await _reindex(db, article.site_id, [entry_id_of_article(article.id)], kb)
    return article


async def set_article_status(
    db: Database, *, article_id: int, status: ContentStatus, actor: Actor
) -> Article:
    async with db.write() as session:
        article = await _lock(session, Article, article_id)
        if article.status == status:
            return article
        article.status = status
        article.revision += 1
        article.updated_at = utcnow()
        if status == ContentStatus.PUBLISHED:
            article.published_at = article.updated_at
        kb = await _bump_kb_version(session, article.site_id)
        assert article.id is not None
        payload_type = (
            event_log.ArticlePublished
            if status == ContentStatus.PUBLISHED
            else event_log.ArticleUnpublished
        )
        _record(
            session,
            payload_type(article_id=article.id, version=article.version, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    await _reindex(db, article.site_id, [entry_id_of_article(article.id)], kb)
    return article


async def publish_article(db: Database, *, article_id: int, actor: Actor) -> Article:
    return await set_article_status(
        db, article_id=article_id, status=ContentStatus.PUBLISHED, actor=actor
    )


async def unpublish_article(db: Database, *, article_id: int, actor: Actor) -> Article:
    return await set_article_status(
        db, article_id=article_id, status=ContentStatus.DRAFT, actor=actor
    )


async def delete_article(db: Database, *, article_id: int, actor: Actor) -> None:
    async with db.write() as session:
        article = await _lock(session, Article, article_id)
        published = article.status == ContentStatus.PUBLISHED
        versions = await session.execute(
            select(ArticleVersion).where(ArticleVersion.article_id == article_id)
        )
        for version in versions.scalars():
            await session.delete(version)
        await session.flush()
        await session.delete(article)
        kb = await _kb_version_after(session, article.site_id, affects=published)
        _record(
            session,
            event_log.ArticleDeleted(article_id=article_id, version=article.version, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    if published:
        await _reindex(db, article.site_id, [entry_id_of_article(article_id)], kb)


async def list_versions(db: Database, *, article_id: int) -> list[ArticleVersion]:
    async with db.read() as session:
        rows = await session.execute(
            select(ArticleVersion)
            .where(ArticleVersion.article_id == article_id)
            .order_by(col(ArticleVersion.version).desc())
        )
        return list(rows.scalars())


async def get_version(db: Database, *, article_id: int, version: int) -> ArticleVersion:
    async with db.read() as session:
        found = (
            await session.execute(
                select(ArticleVersion).where(
                    ArticleVersion.article_id == article_id, ArticleVersion.version == version
                )
            )
        ).scalar_one_or_none()
    if found is None:
        raise VersionNotFound(f"article {article_id} has no version {version}")
    return found


async def restore_version(db: Database, *, article_id: int, version: int, actor: Actor) -> Article:
    """Make an old version current again, as a new version (history is never rewritten)."""
    async with db.write() as session:
        article = await _lock(session, Article, article_id)
        old = (
            await session.execute(
                select(ArticleVersion).where(
                    ArticleVersion.article_id == article_id, ArticleVersion.version == version
                )
            )
        ).scalar_one_or_none()
        if old is None:
            raise VersionNotFound(f"article {article_id} has no version {version}")
        article.title = old.title
        article.body = old.body
        article.locale = old.locale
        article.tags = list(old.tags)
        article.source_url = old.source_url
        article.version += 1
        article.revision += 1
        article.updated_at = utcnow()
        session.add(_snapshot(article, actor=actor, note=f"restored version {version}"))
        published = article.status == ContentStatus.PUBLISHED
        kb = await _kb_version_after(session, article.site_id, affects=published)
        _record(
            session,
            event_log.ArticleRestored(
                article_id=article_id,
                version=article.version,
                kb_version=kb,
                restored_from=version,
            ),
            site_id=article.site_id,
            actor=actor,
        )
    if published:
        await _reindex(db, article.site_id, [entry_id_of_article(article_id)], kb)
    return article


# FAQ entries


async def create_faq_entry(db: Database, *, data: FaqEntryCreate, actor: Actor) -> FaqEntry:
    now = utcnow()
    published = data.status == ContentStatus.PUBLISHED
    async with db.write() as session:
        await _require_site(session, data.site_id)
        if data.external_id and await _external_id_taken(
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
            locale=data.locale,
            status=data.status,
            created_at=now,
            updated_at=now,
            published_at=now if published else None,
        )
        session.add(entry)
        await session.flush()
        assert entry.id is not None
        kb = await _kb_version_after(session, data.site_id, affects=published)
        _record(
            session,
            event_log.FaqEntryCreated(faq_entry_id=entry.id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    if published:
        await _reindex(db, entry.site_id, [entry_id_of_faq(entry.id)], kb)
    return entry


async def get_faq_entry(db: Database, *, faq_id: int) -> FaqEntry:
    return await _get(db, FaqEntry, faq_id)


async def list_faq_entries(
    db: Database,
    *,
    site_ids: Collection[int] | None,
    status: ContentStatus | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[FaqEntry], int]:
    return await _list(
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
        entry = await _lock(session, FaqEntry, faq_id)
        if fields.get("external_id") and await _external_id_taken(
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
        kb = await _kb_version_after(session, entry.site_id, affects=published)
        _record(
            session,
            event_log.FaqEntryUpdated(faq_entry_id=faq_id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    if published:
        await _reindex(db, entry.site_id, [entry_id_of_faq(faq_id)], kb)
    return entry


async def set_faq_status(
    db: Database, *, faq_id: int, status: ContentStatus, actor: Actor
) -> FaqEntry:
    async with db.write() as session:
        entry = await _lock(session, FaqEntry, faq_id)
        if entry.status == status:
            return entry
        entry.status = status
        entry.revision += 1
        entry.updated_at = utcnow()
        if status == ContentStatus.PUBLISHED:
            entry.published_at = entry.updated_at
        kb = await _bump_kb_version(session, entry.site_id)
        payload_type = (
            event_log.FaqEntryPublished
            if status == ContentStatus.PUBLISHED
            else event_log.FaqEntryUnpublished
        )
        _record(
            session,
            payload_type(faq_entry_id=faq_id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    await _reindex(db, entry.site_id, [entry_id_of_faq(faq_id)], kb)
    return entry


async def publish_faq_entry(db: Database, *, faq_id: int, actor: Actor) -> FaqEntry:
    return await set_faq_status(db, faq_id=faq_id, status=ContentStatus.PUBLISHED, actor=actor)


async def unpublish_faq_entry(db: Database, *, faq_id: int, actor: Actor) -> FaqEntry:
    return await set_faq_status(db, faq_id=faq_id, status=ContentStatus.DRAFT, actor=actor)


async def delete_faq_entry(db: Database, *, faq_id: int, actor: Actor) -> None:
    async with db.write() as session:
        entry = await _lock(session, FaqEntry, faq_id)
        published = entry.status == ContentStatus.PUBLISHED
        await session.delete(entry)
        kb = await _kb_version_after(session, entry.site_id, affects=published)
        _record(
            session,
            event_log.FaqEntryDeleted(faq_entry_id=faq_id, kb_version=kb),
            site_id=entry.site_id,
            actor=actor,
        )
    if published:
        await _reindex(db, entry.site_id, [entry_id_of_faq(faq_id)], kb)


# Imports


def _article_key(parsed: ParsedArticle) -> str:
    return f"id:{parsed.external_id}" if parsed.external_id else f"url:{parsed.source_url}"


async def _existing_articles(
    session: AsyncSession, site_id: int, parsed: Sequence[ParsedArticle]
) -> tuple[dict[str, Article], dict[str, Article]]:
    external_ids = sorted({p.external_id for p in parsed if p.external_id})
    urls = sorted({p.source_url for p in parsed if p.source_url})
    by_external: dict[str, Article] = {}
    by_url: dict[str, Article] = {}
    for start in range(0, max(len(external_ids), len(urls)), 400):
        ext_part = external_ids[start : start + 400]
        url_part = urls[start : start + 400]
        rows = await session.execute(
            select(Article).where(
                Article.site_id == site_id,
                or_(col(Article.external_id).in_(ext_part), col(Article.source_url).in_(url_part)),
            )
        )
        for article in rows.scalars():
            if article.external_id:
                by_external[article.external_id] = article
            if article.source_url:
                # The oldest article with that URL is the one re-imports update.
                current = by_url.get(article.source_url)
                if current is None or (article.id or 0) < (current.id or 0):
                    by_url[article.source_url] = article
    return by_external, by_url


async def import_batch(
    db: Database,
    *,
    site_id: int,
    batch: ParsedBatch,
    publish: bool = True,
    actor: Actor,
    source: str = "upload",
    index_now: bool = False,
) -> ImportSummary:
    """Store a parsed batch in one transaction: new entries are created, those matching by
    external id (or, for articles, source URL) are updated in place.

    With `index_now`, this process's index of the site is built (if it was not loaded)
    before returning, so the import is searchable when the call returns."""
    if not batch.articles and not batch.faqs:
        raise ImportRefused("nothing to import", code="empty_file")
    summary = ImportSummary(site_id=site_id, files=batch.files, skipped=batch.skipped)
    articles = list({_article_key(a): a for a in batch.articles}.values())
    faqs = list({f.external_id: f for f in batch.faqs}.values())
    changed_entries: list[str] = []
    affects = False
    now = utcnow()
    target_status = ContentStatus.PUBLISHED if publish else ContentStatus.DRAFT
    async with db.write() as session:
        await _require_site(session, site_id)
        by_external, by_url = await _existing_articles(session, site_id, articles)
        touched: list[tuple[Article, str]] = []
        for parsed in articles:
            article = (by_external.get(parsed.external_id) if parsed.external_id else None) or (
                by_url.get(parsed.source_url) if parsed.source_url else None
            )
            if article is None:
                article = Article(
                    site_id=site_id,
                    external_id=parsed.external_id,
                    source_url=parsed.source_url,
                    title=parsed.title,
                    body=parsed.body,
                    locale=parsed.locale,
                    tags=parsed.tags,
                    status=target_status,
                    created_at=now,
                    updated_at=now,
                    published_at=now if publish else None,
                )
                session.add(article)
                touched.append((article, "created"))
                summary.articles_created += 1
                affects = affects or publish
                continue
            new_content: dict[str, Any] = {
                "title": parsed.title,
                "body": parsed.body,
                "locale": parsed.locale,
                # Files without tags keep the tags an editor gave the article.
                "tags": parsed.tags or article.tags,
                "source_url": parsed.source_url or article.source_url,
            }
            content_changed = any(getattr(article, k) != v for k, v in new_content.items())
            status_changed = publish and article.status != ContentStatus.PUBLISHED
            if not content_changed and not status_changed:
                touched.append((article, "unchanged"))
                summary.articles_unchanged += 1
                continue
            for key, value in new_content.items():
                setattr(article, key, value)
            if content_changed:
                article.version += 1
            if status_changed:
                article.status = ContentStatus.PUBLISHED
                article.published_at = now
            article.revision += 1
            article.updated_at = now
            touched.append((article, "updated" if content_changed else "published"))
            summary.articles_updated += 1
            affects = affects or article.status == ContentStatus.PUBLISHED
        await session.flush()
        for article, action in touched:
            assert article.id is not None
            if action == "created" or (action == "updated"):
                session.add(
                    _snapshot(
                        article,
                        actor=actor,
                        note="imported" if action == "created" else "re-imported",
                    )
                )
            if action != "unchanged":
                changed_entries.append(entry_id_of_article(article.id))
            summary.items.append(
                ImportedItem(
                    kind="article",
                    id=article.id,
                    external_id=article.external_id,
                    title=article.title,
                    action="updated" if action == "published" else action,
                )
            )

        existing_faqs: dict[str, FaqEntry] = {}
        external_ids = [f.external_id for f in faqs]
        for start in range(0, len(external_ids), 400):
            rows = await session.execute(
                select(FaqEntry).where(
                    FaqEntry.site_id == site_id,
                    col(FaqEntry.external_id).in_(external_ids[start : start + 400]),
                )
            )
            existing_faqs.update((e.external_id or "", e) for e in rows.scalars())
        touched_faqs: list[tuple[FaqEntry, str]] = []
        for parsed_faq in faqs:
            entry = existing_faqs.get(parsed_faq.external_id)
            if entry is None:
                entry = _new_faq(site_id, parsed_faq, target_status, now)
                session.add(entry)
                touched_faqs.append((entry, "created"))
                summary.faq_created += 1
                affects = affects or publish
                continue
            new_values: dict[str, Any] = {
                "title": parsed_faq.title,
                "questions": parsed_faq.questions,
                "answer": parsed_faq.answer,
                "tags": parsed_faq.tags or entry.tags,
                "locale": parsed_faq.locale,
            }
            content_changed = any(getattr(entry, k) != v for k, v in new_values.items())
            status_changed = publish and entry.status != ContentStatus.PUBLISHED
            if not content_changed and not status_changed:
                touched_faqs.append((entry, "unchanged"))
                summary.faq_unchanged += 1
                continue
            for key, value in new_values.items():
                setattr(entry, key, value)
            if status_changed:
                entry.status = ContentStatus.PUBLISHED
                entry.published_at = now
            entry.revision += 1
            entry.updated_at = now
            touched_faqs.append((entry, "updated"))
            summary.faq_updated += 1
            affects = affects or entry.status == ContentStatus.PUBLISHED
        await session.flush()
        for entry, action in touched_faqs:
            assert entry.id is not None
            if action != "unchanged":
                changed_entries.append(entry_id_of_faq(entry.id))
            summary.items.append(
                ImportedItem(
                    kind="faq",
                    id=entry.id,
                    external_id=entry.external_id,
                    title=entry.title,
                    action=action,
                )
            )
        kb = await _kb_version_after(session, site_id, affects=affects)
        summary.kb_version = kb
        _record(
            session,
            event_log.KnowledgeImported(
                source=source,
                files=batch.files,
                articles_created=summary.articles_created,
                articles_updated=summary.articles_updated,
                faq_created=summary.faq_created,
                faq_updated=summary.faq_updated,
                kb_version=kb,
            ),
            site_id=site_id,
            actor=actor,
        )
    if affects:
        await _reindex(db, site_id, changed_entries, kb)
        if index_now:
            await search.get_index_manager().index_for(db, site_id)
    return summary


def _new_faq(site_id: int, parsed: ParsedFaq, status: ContentStatus, now: Any) -> FaqEntry:
    return FaqEntry(
        site_id=site_id,
        external_id=parsed.external_id,
        title=parsed.title,
        questions=parsed.questions,
        answer=parsed.answer,
        tags=parsed.tags,
        locale=parsed.locale,
        status=status,
        created_at=now,
        updated_at=now,
        published_at=now if status == ContentStatus.PUBLISHED else None,
    )


def parse_files(files: Sequence[tuple[str, bytes]]) -> ParsedBatch:
    """Parse every file or refuse the lot (the first bad file's error)."""
    if not files:
        raise ImportRefused("no files to import", code="empty_file")
    if len(files) > importers.MAX_FILES_PER_IMPORT:
        raise ImportRefused(
            f"at most {importers.MAX_FILES_PER_IMPORT} files in one import",
            code="too_many_files",
        )
    batch = ParsedBatch()
    for name, data in files:
        batch.extend(importers.parse_file(name, data))
    return batch


async def import_files(
    db: Database,
    *,
    site_id: int,
    files: Sequence[tuple[str, bytes]],
    publish: bool = True,
    actor: Actor,
    source: str = "upload",
    index_now: bool = False,
) -> ImportSummary:
    await require_site(db, site_id)
    batch = await asyncio.to_thread(parse_files, files)
    return await import_batch(
        db,
        site_id=site_id,
        batch=batch,
        publish=publish,
        actor=actor,
        source=source,
        index_now=index_now,
    )


async def import_url(
    db: Database,
    *,
    site_id: int,
    url: str,
    sitemap: bool = False,
    max_pages: int = 50,
    publish: bool = True,
    actor: Actor,
    index_now: bool = False,
) -> ImportSummary:
    await require_site(db, site_id)
    if sitemap:
        batch = await web.crawl_sitemap(url, max_pages=max_pages)
    else:
        batch = await web.import_url(url)
    return await import_batch(
        db,
        site_id=site_id,
        batch=batch,
        publish=publish,
        actor=actor,
        source="sitemap" if sitemap else "url",
        index_now=index_now,
    )


async def reindex(db: Database, *, site_id: int | None = None) -> dict[str, Any]:
    """Rebuild indexes from the database (one site, or every site with content)."""
    manager = search.get_index_manager()
    if site_id is not None:
        await require_site(db, site_id)
    sites = [site_id] if site_id is not None else await search.sites_with_content(db)
    report = []
    for site in sites:
        entries, chunks = await manager.rebuild(db, site_id=site)
        report.append({"site_id": site, "entries": entries, "chunks": chunks})
    return {"mode": manager.mode, "sites": report}
