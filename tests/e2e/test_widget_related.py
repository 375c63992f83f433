"""What an unsure bot shows a visitor in the demo widget, in English and Chinese: whole
sentences, and related articles only in the visitor's language, from a knowledge base
that has both (the bot tests' hand-made FAQ: 4 English entries, 2 Chinese)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext, expect

from relaydesk.bot import extractive, knowledge
from relaydesk.core.db import Database
from relaydesk.core.models import Site
from relaydesk.knowledge.retrieval import HybridIndex, OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import onnx_folder
from tests.bot.conftest import MODEL_DIR
from tests.bot.faq import FAQ, faq_chunks
from tests.e2e.conftest import errors_of, open_widget, shoot

CJK = re.compile(r"[\u3400-\u9fff]")
QUESTIONS = {"en": "What is the weather like on Mars?", "zh": "火星上的天气怎么样？"}


@pytest.fixture
def bilingual_kb(demo_site: Site) -> Iterator[None]:
    folder = onnx_folder(MODEL_DIR)
    if folder is None:
        pytest.fail(f"no embedding model under {MODEL_DIR}")
    index = HybridIndex(OnnxMiniLMEmbedder(folder))
    index.upsert(faq_chunks())
    source = knowledge.IndexSource()
    assert demo_site.id is not None
    source.add_site(demo_site.id, index, faq_chunks())
    knowledge.set_source(source)
    yield
    knowledge.set_source(None)


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_unsure_answer_offers_related_articles_in_the_visitors_language(
    live_server: str,
    db: Database,
    demo_site: Site,
    bilingual_kb: None,
    context: BrowserContext,
    lang: str,
) -> None:
    page = await context.new_page()
    errors = errors_of(page)
    widget = await open_widget(page, f"{live_server}/demo?lang={lang}")
    await widget.send(QUESTIONS[lang])
    unsure = extractive.not_sure(lang, has_related=True, offer_human=True)
    reply = widget.log.locator(".msg", has=widget.log.page.locator(".bubble", has_text=unsure))
    await expect(reply).to_have_count(1, timeout=30_000)
    titles = await reply.locator("li").all_inner_texts()
    expected = {title for _, title, *_, locale in FAQ if locale == lang}
    assert titles and set(titles) <= expected, titles
    assert all(bool(CJK.search(t)) == (lang == "zh") for t in titles), titles
    await shoot(page, f"widget-unsure-related-{lang}")
    assert errors == []
