"""Edits reach search at once, in this process and (through the KB version) in another;
versions and restore; events; suggestions."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import col, select

from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import Event
from relaydesk.knowledge import search, service
from relaydesk.knowledge.models import (
    ArticleCreate,
    ArticleUpdate,
    ContentStatus,
    FaqEntryCreate,
    FaqEntryUpdate,
)
from tests.factories import make_site
from tests.knowledge.kb_helpers import find, titles

pytestmark = pytest.mark.postgres

BODY = "# Repairs\n\nWe repair chairs with loose legs free of charge within two years."


async def _article(db: Database, site_id: int, **extra: object) -> int:
    data = ArticleCreate.model_validate(
        {"site_id": site_id, "title": "Furniture repairs", "body": BODY, **extra}
    )
    article = await service.create_article(db, data=data, actor=service.SYSTEM)
    assert article.id is not None
    return article.id


async def test_only_published_content_is_found_and_changes_show_at_once(
    db: Database, backend: str
) -> None:
    site = await make_site(db)
    assert site.id is not None
    article_id = await _article(db, site.id)
    assert await titles(db, site.id, "chair repair") == []  # a draft

    await service.publish_article(db, article_id=article_id, actor=service.SYSTEM)
    assert await titles(db, site.id, "chair repair") == ["Furniture repairs"]

    await service.update_article(
        db,
        article_id=article_id,
        changes=ArticleUpdate(body="We mend wobbly tables for a fixed fee of 30 euros."),
        actor=service.SYSTEM,
    )
    hit = (await find(db, site.id, "wobbly table")).hits[0]
    assert "fixed fee" in hit.text
    assert (await find(db, site.id, "loose chair legs")).hits[0].text.find("chairs") == -1

    await service.unpublish_article(db, article_id=article_id, actor=service.SYSTEM)
    assert await titles(db, site.id, "wobbly table") == []

    faq = await service.create_faq_entry(
        db,
        data=FaqEntryCreate(
            site_id=site.id,
            title="Opening hours",
            questions=["When are you open?"],
            answer="Weekdays from nine to six.",
            status=ContentStatus.PUBLISHED,
        ),
        actor=service.SYSTEM,
    )
    assert faq.id is not None
    assert await titles(db, site.id, "when are you open") == ["Opening hours"]
    await service.update_faq_entry(
        db,
        faq_id=faq.id,
        changes=FaqEntryUpdate(questions=["What time do you close?"]),
        actor=service.SYSTEM,
    )
    assert (await find(db, site.id, "what time do you close")).hits[0].entry_id == f"faq:{faq.id}"
    await service.delete_faq_entry(db, faq_id=faq.id, actor=service.SYSTEM)
    assert await titles(db, site.id, "what time do you close") == []

    async with db.read() as session:
        types = list((await session.execute(select(Event.type).order_by(col(Event.id)))).scalars())
    assert types == [
        "knowledge.article_created",
        "knowledge.article_published",
        "knowledge.article_updated",
        "knowledge.article_unpublished",
        "knowledge.faq_created",
        "knowledge.faq_updated",
        "knowledge.faq_deleted",
    ]


async def test_a_second_process_sees_edits_through_the_kb_version(
    db: Database, database_url: str, backend: str
) -> None:
    site = await make_site(db)
    assert site.id is not None
    article_id = await _article(db, site.id, status=ContentStatus.PUBLISHED)
    other_db = Database(database_url)
    # Another node: its own database engine and its own indexes (vectors in memory; nodes
    # share vectors only through a Chroma server).
    other = search.IndexManager(get_settings(), use_store=False)
    try:
        assert [
            h.title
            for h in (await other.search(other_db, site_id=site.id, query="chair repair")).hits
        ] == ["Furniture repairs"]
        await service.update_article(
            db,
            article_id=article_id,
            changes=ArticleUpdate(title="Sofa cleaning", body="We clean sofas with steam."),
            actor=service.SYSTEM,
        )
        await asyncio.sleep(search.VERSION_TTL_SECONDS + 0.1)
        hits = (await other.search(other_db, site_id=site.id, query="steam clean my sofa")).hits
        assert [h.title for h in hits] == ["Sofa cleaning"]

        await service.unpublish_article(db, article_id=article_id, actor=service.SYSTEM)
        await asyncio.sleep(search.VERSION_TTL_SECONDS + 0.1)
        assert (await other.search(other_db, site_id=site.id, query="sofa")).hits == []
    finally:
        await other_db.dispose()


async def test_versions_and_restore(db: Database, backend: str) -> None:
    site = await make_site(db)
    assert site.id is not None
    article_id = await _article(db, site.id, status=ContentStatus.PUBLISHED)
    await service.update_article(
        db,
        article_id=article_id,
        changes=ArticleUpdate(title="Upholstery", body="We replace worn sofa covers."),
        actor=service.Actor(kind="staff", id="7"),
    )
    await service.update_article(
        db, article_id=article_id, changes=ArticleUpdate(tags=["repairs"]), actor=service.SYSTEM
    )
    versions = await service.list_versions(db, article_id=article_id)
    assert [v.version for v in versions] == [3, 2, 1]
    assert versions[1].author_id == "7" and versions[1].title == "Upholstery"

    restored = await service.restore_version(
        db, article_id=article_id, version=1, actor=service.SYSTEM
    )
    assert (restored.version, restored.title, restored.body) == (4, "Furniture repairs", BODY)
    latest = await service.get_version(db, article_id=article_id, version=4)
    assert latest.note == "restored version 1"
    assert await titles(db, site.id, "loose chair legs") == ["Furniture repairs"]
    assert await titles(db, site.id, "worn sofa covers") in ([], ["Furniture repairs"])
    with pytest.raises(DomainError) as caught:
        await service.restore_version(db, article_id=article_id, version=99, actor=service.SYSTEM)
    assert caught.value.code == "version_not_found"


async def test_external_ids_are_unique_per_site(db: Database) -> None:
    site = await make_site(db)
    other = await make_site(db)
    assert site.id is not None and other.id is not None
    await _article(db, site.id, external_id="repairs")
    with pytest.raises(DomainError) as caught:
        await _article(db, site.id, external_id="repairs")
    assert caught.value.code == "external_id_taken"
    await _article(db, other.id, external_id="repairs")


async def test_sites_do_not_see_each_other(db: Database) -> None:
    first, second = await make_site(db), await make_site(db)
    assert first.id is not None and second.id is not None
    await _article(db, first.id, status=ContentStatus.PUBLISHED)
    assert await titles(db, first.id, "chair repair") == ["Furniture repairs"]
    assert await titles(db, second.id, "chair repair") == []


async def test_suggestions_follow_the_visitor_locale(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    for n, (locale, question) in enumerate(
        [
            ("en", "Where is my order?"),
            ("zh-CN", "我的订单在哪里？"),
            ("en", "How do returns work?"),
        ]
    ):
        await service.create_faq_entry(
            db,
            data=FaqEntryCreate(
                site_id=site.id,
                title=f"Entry {n}",
                questions=[question, "another phrasing"],
                answer="An answer.",
                locale=locale,
                status=ContentStatus.PUBLISHED,
            ),
            actor=service.SYSTEM,
        )
    en = await search.suggestions(db, site_id=site.id, locale="en-GB")
    assert en == ["Where is my order?", "How do returns work?"]
    assert await search.suggestions(db, site_id=site.id, locale="zh") == ["我的订单在哪里？"]
    # No entries in French: the site's default language (en).
    assert await search.suggestions(db, site_id=site.id, locale="fr", limit=1) == [
        "Where is my order?"
    ]
