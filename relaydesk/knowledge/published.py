"""What a site's search index is built from: its published articles and FAQ entries, as
chunks, with the row revisions and knowledge-base version that tell an index what changed."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlmodel import col, select

from relaydesk.core.db import Database
from relaydesk.knowledge.chunking import (
    article_chunks,
    entry_id_of_article,
    entry_id_of_faq,
    faq_chunks,
)
from relaydesk.knowledge.models import Article, ContentStatus, FaqEntry, KnowledgeBaseState
from relaydesk.knowledge.retrieval import Chunk


def entry_chunks(row: Article | FaqEntry) -> list[Chunk]:
    assert row.id is not None
    if isinstance(row, Article):
        return article_chunks(
            article_id=row.id,
            title=row.title,
            body=row.body,
            external_id=row.external_id,
            source_url=row.source_url,
            locale=row.locale,
            tags=row.tags,
        )
    return faq_chunks(
        faq_id=row.id,
        title=row.title,
        questions=row.questions,
        answer=row.answer,
        external_id=row.external_id,
        locale=row.locale,
        tags=row.tags,
    )


def entry_id(row: Article | FaqEntry) -> str:
    assert row.id is not None
    return entry_id_of_article(row.id) if isinstance(row, Article) else entry_id_of_faq(row.id)


async def read_kb_version(db: Database, site_id: int) -> int:
    async with db.read() as session:
        version = (
            await session.execute(
                select(KnowledgeBaseState.version).where(KnowledgeBaseState.site_id == site_id)
            )
        ).scalar_one_or_none()
    return int(version or 0)


async def published_revisions(db: Database, site_id: int) -> dict[str, int]:
    async with db.read() as session:
        articles = await session.execute(
            select(Article.id, Article.revision).where(
                Article.site_id == site_id, Article.status == ContentStatus.PUBLISHED
            )
        )
        faqs = await session.execute(
            select(FaqEntry.id, FaqEntry.revision).where(
                FaqEntry.site_id == site_id, FaqEntry.status == ContentStatus.PUBLISHED
            )
        )
        found = {entry_id_of_article(i): r for i, r in articles.all()}
        found.update({entry_id_of_faq(i): r for i, r in faqs.all()})
    return found


async def published_rows(
    db: Database, site_id: int, entry_ids: Collection[str] | None
) -> list[Article | FaqEntry]:
    """Published rows of the site, all of them or those with these entry ids."""
    article_ids = faq_ids = None
    if entry_ids is not None:
        article_ids = [int(e.split(":", 1)[1]) for e in entry_ids if e.startswith("article:")]
        faq_ids = [int(e.split(":", 1)[1]) for e in entry_ids if e.startswith("faq:")]
    rows: list[Article | FaqEntry] = []
    async with db.read() as session:
        article_query = select(Article).where(
            Article.site_id == site_id, Article.status == ContentStatus.PUBLISHED
        )
        faq_query = select(FaqEntry).where(
            FaqEntry.site_id == site_id, FaqEntry.status == ContentStatus.PUBLISHED
        )
        if article_ids is None or faq_ids is None:
            rows.extend((await session.execute(article_query)).scalars())
            rows.extend((await session.execute(faq_query)).scalars())
            return rows
        for start in range(0, len(article_ids), 500):
            part = article_ids[start : start + 500]
            found = await session.execute(article_query.where(col(Article.id).in_(part)))
            rows.extend(found.scalars())
        for start in range(0, len(faq_ids), 500):
            part = faq_ids[start : start + 500]
            faqs = await session.execute(faq_query.where(col(FaqEntry.id).in_(part)))
            rows.extend(faqs.scalars())
    return rows


def chunks_of(rows: Iterable[Article | FaqEntry]) -> tuple[list[Chunk], dict[str, int]]:
    chunks: list[Chunk] = []
    revisions: dict[str, int] = {}
    for row in rows:
        chunks.extend(entry_chunks(row))
        revisions[entry_id(row)] = row.revision
    return chunks, revisions
