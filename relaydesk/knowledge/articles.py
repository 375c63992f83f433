"""Articles: create, edit, publish, delete, and their version history with restore."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import col, select

from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.errors import Conflict, InvalidInput
from relaydesk.core.models import utcnow
from relaydesk.knowledge.chunking import entry_id_of_article
from relaydesk.knowledge.common import (
    ARTICLE_CONTENT,
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
from relaydesk.knowledge.errors import (
    VersionNotFound,
)
from relaydesk.knowledge.importers.text import detect_locale
from relaydesk.knowledge.models import (
    Article,
    ArticleCreate,
    ArticleUpdate,
    ArticleVersion,
    ContentStatus,
)


def snapshot(article: Article, *, actor: Actor, note: str | None) -> ArticleVersion:
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


async def create_article(db: Database, *, data: ArticleCreate, actor: Actor) -> Article:
    now = utcnow()
    published = data.status == ContentStatus.PUBLISHED
    async with db.write() as session:
        await require_site_in(session, data.site_id)
        if data.external_id and await external_id_taken(
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
            locale=data.locale or detect_locale(f"{data.title}\n{data.body}"),
            tags=data.tags,
            created_at=now,
            updated_at=now,
            published_at=now if published else None,
        )
        session.add(article)
        await session.flush()
        session.add(snapshot(article, actor=actor, note="created"))
        kb = await kb_version_after(session, data.site_id, affects=published)
        assert article.id is not None
        record(
            session,
            event_log.ArticleCreated(article_id=article.id, version=1, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    if published:
        await reindex_entries(db, article.site_id, [entry_id_of_article(article.id)], kb)
    return article


async def get_article(db: Database, *, article_id: int) -> Article:
    return await get_row(db, Article, article_id)


async def list_articles(
    db: Database,
    *,
    site_ids: Collection[int] | None,
    status: ContentStatus | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Article], int]:
    return await list_rows(
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
        article = await lock_row(session, Article, article_id)
        if fields.get("external_id") and await external_id_taken(
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
            session.add(snapshot(article, actor=actor, note=note or "edited"))
        published = article.status == ContentStatus.PUBLISHED
        kb = await kb_version_after(session, article.site_id, affects=published)
        assert article.id is not None
        record(
            session,
            event_log.ArticleUpdated(article_id=article.id, version=article.version, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    if published:
        await reindex_entries(db, article.site_id, [entry_id_of_article(article.id)], kb)
    return article


async def set_article_status(
    db: Database, *, article_id: int, status: ContentStatus, actor: Actor
) -> Article:
    async with db.write() as session:
        article = await lock_row(session, Article, article_id)
        if article.status == status:
            return article
        article.status = status
        article.revision += 1
        article.updated_at = utcnow()
        if status == ContentStatus.PUBLISHED:
            article.published_at = article.updated_at
        kb = await bump_kb_version(session, article.site_id)
        assert article.id is not None
        payload_type = (
            event_log.ArticlePublished
            if status == ContentStatus.PUBLISHED
            else event_log.ArticleUnpublished
        )
        record(
            session,
            payload_type(article_id=article.id, version=article.version, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    await reindex_entries(db, article.site_id, [entry_id_of_article(article.id)], kb)
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
        article = await lock_row(session, Article, article_id)
        published = article.status == ContentStatus.PUBLISHED
        versions = await session.execute(
            select(ArticleVersion).where(ArticleVersion.article_id == article_id)
        )
        for version in versions.scalars():
            await session.delete(version)
        await session.flush()
        await session.delete(article)
        kb = await kb_version_after(session, article.site_id, affects=published)
        record(
            session,
            event_log.ArticleDeleted(article_id=article_id, version=article.version, kb_version=kb),
            site_id=article.site_id,
            actor=actor,
        )
    if published:
        await reindex_entries(db, article.site_id, [entry_id_of_article(article_id)], kb)


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
        article = await lock_row(session, Article, article_id)
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
        session.add(snapshot(article, actor=actor, note=f"restored version {version}"))
        published = article.status == ContentStatus.PUBLISHED
        kb = await kb_version_after(session, article.site_id, affects=published)
        record(
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
        await reindex_entries(db, article.site_id, [entry_id_of_article(article_id)], kb)
    return article
