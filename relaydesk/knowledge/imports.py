"""Imports: parsed files, URLs and sitemaps become articles and FAQ entries in one
transaction, updated in place when re-imported (matched by external id or source URL)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.models import utcnow
from relaydesk.knowledge import importers, search
from relaydesk.knowledge.articles import snapshot
from relaydesk.knowledge.chunking import entry_id_of_article, entry_id_of_faq
from relaydesk.knowledge.common import (
    Actor,
    kb_version_after,
    record,
    reindex_entries,
    require_site,
    require_site_in,
)
from relaydesk.knowledge.errors import (
    ImportRefused,
)
from relaydesk.knowledge.importers import ParsedArticle, ParsedBatch, ParsedFaq, web
from relaydesk.knowledge.models import (
    MAX_ANSWER_CHARS,
    MAX_BODY_CHARS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_QUESTION_CHARS,
    MAX_QUESTIONS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_TITLE_CHARS,
    Article,
    ContentStatus,
    FaqEntry,
    ImportedItem,
    ImportSummary,
)


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


def _reimport(
    row: Article | FaqEntry, new_values: dict[str, Any], *, publish: bool, now: datetime
) -> str:
    """Apply a re-import to an existing article or FAQ entry: "unchanged", "updated" (its
    content changed) or "published" (only its status did)."""
    content_changed = any(getattr(row, k) != v for k, v in new_values.items())
    status_changed = publish and row.status != ContentStatus.PUBLISHED
    if not content_changed and not status_changed:
        return "unchanged"
    for key, value in new_values.items():
        setattr(row, key, value)
    if status_changed:
        row.status = ContentStatus.PUBLISHED
        row.published_at = now
    row.revision += 1
    row.updated_at = now
    return "updated" if content_changed else "published"


def check_limits(batch: ParsedBatch) -> None:
    """The limits the REST API enforces on an article or FAQ entry, for every import path
    (files, folders, FAQ files, URLs, sitemaps, the CLI): all of them end here. Titles
    are shortened (a page title is not worth refusing a page for); an over-long body or
    answer refuses the import, since cutting it would store a different document."""
    for article in batch.articles:
        article.title = article.title[:MAX_TITLE_CHARS]
        if len(article.body) > MAX_BODY_CHARS:
            raise ImportRefused(
                f"{article.title!r} has {len(article.body)} characters; an article may have "
                f"at most {MAX_BODY_CHARS}",
                code="too_long",
                limit=MAX_BODY_CHARS,
            )
    for faq in batch.faqs:
        faq.title = faq.title[:MAX_TITLE_CHARS]
        too_long = [q for q in faq.questions if len(q) > MAX_QUESTION_CHARS]
        if (
            len(faq.answer) > MAX_ANSWER_CHARS
            or len(faq.questions) > MAX_QUESTIONS
            or too_long
            or len(faq.external_id) > MAX_EXTERNAL_ID_CHARS
        ):
            raise ImportRefused(
                f"FAQ entry {faq.external_id[:80]!r} is over the limits (answer "
                f"{MAX_ANSWER_CHARS} characters, {MAX_QUESTIONS} questions of "
                f"{MAX_QUESTION_CHARS})",
                code="too_long",
            )
        faq.tags = [t[:MAX_TAG_CHARS] for t in faq.tags[:MAX_TAGS]]
    for article in batch.articles:
        article.tags = [t[:MAX_TAG_CHARS] for t in article.tags[:MAX_TAGS]]


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
    check_limits(batch)
    summary = ImportSummary(site_id=site_id, files=batch.files, skipped=batch.skipped)
    articles = list({_article_key(a): a for a in batch.articles}.values())
    faqs = list({f.external_id: f for f in batch.faqs}.values())
    changed_entries: list[str] = []
    affects = False
    now = utcnow()
    target_status = ContentStatus.PUBLISHED if publish else ContentStatus.DRAFT
    async with db.write() as session:
        await require_site_in(session, site_id)
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
            action = _reimport(article, new_content, publish=publish, now=now)
            touched.append((article, action))
            if action == "unchanged":
                summary.articles_unchanged += 1
                continue
            if action == "updated":
                article.version += 1
            summary.articles_updated += 1
            affects = affects or article.status == ContentStatus.PUBLISHED
        await session.flush()
        for article, action in touched:
            assert article.id is not None
            if action == "created" or (action == "updated"):
                session.add(
                    snapshot(
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
            if _reimport(entry, new_values, publish=publish, now=now) == "unchanged":
                touched_faqs.append((entry, "unchanged"))
                summary.faq_unchanged += 1
                continue
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
        kb = await kb_version_after(session, site_id, affects=affects)
        summary.kb_version = kb
        record(
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
        await reindex_entries(db, site_id, changed_entries, kb)
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
