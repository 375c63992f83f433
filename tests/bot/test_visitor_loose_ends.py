"""Loose ends a visitor or an agent saw in the demo: related articles in the visitor's
language, the unsure answer as whole sentences, handoff summaries cut on word (or, in
Chinese, character) boundaries, and no summary once the conversation is back with the bot."""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, update

from relaydesk.bot import answer, events, extractive, related, summary
from relaydesk.bot.knowledge import KbHit
from relaydesk.bot.policy import BotPolicy
from relaydesk.conversations import hooks, transitions
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import ConversationStatus
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Site, Visitor
from relaydesk.sites import service as sites
from tests.bot.faq import FAQ
from tests.factories import make_site, make_staff

LOCALE_OF = {entry_id: locale for entry_id, *_, locale in FAQ}


def _hit(entry_id: str, locale: str) -> KbHit:
    return KbHit(
        entry_id=entry_id,
        external_id=None,
        title=entry_id.title(),
        snippet="",
        url=None,
        score=1.0,
        confidence=0.5,
        kind="faq",
        text="",
        locale=locale,
    )


def test_visitor_language_is_the_questions_then_the_widgets() -> None:
    assert related.visitor_language("Where is my parcel?", "zh") == "en"
    assert related.visitor_language("我的包裹在哪里？", "en") == "zh"
    # Nothing to tell by (an order number): the widget's language decides.
    assert related.visitor_language("10023-77", "zh-CN") == "zh"
    assert related.visitor_language("10023-77", "en") == "en"
    assert related.visitor_language("10023-77", None) == "en"
    # Mostly Latin letters with Chinese in it, from a Chinese widget: Chinese.
    assert related.visitor_language("iPhone Pro Max 退货", "zh") == "zh"
    assert related.visitor_language("iPhone Pro Max", "zh") == "en"


def test_pick_prefers_the_visitors_language_and_falls_back() -> None:
    hits = [_hit("zh-a", "zh"), _hit("en-a", "en"), _hit("zh-b", "zh-CN"), _hit("en-b", "en")]
    assert [r["entry_id"] for r in related.pick(hits, "en")] == ["en-a", "en-b"]
    assert [r["entry_id"] for r in related.pick(hits, "zh")] == ["zh-a", "zh-b"]
    # A knowledge base with nothing in the visitor's language still points somewhere.
    only_zh = [_hit("zh-a", "zh"), _hit("zh-b", "zh")]
    assert [r["entry_id"] for r in related.pick(only_zh, "en")] == ["zh-a", "zh-b"]
    # Passages of one article are one item; at most three.
    many = [_hit("a", "en"), _hit("a", "en"), _hit("b", "en"), _hit("c", "en"), _hit("d", "en")]
    assert [r["entry_id"] for r in related.pick(many, "en")] == ["a", "b", "c"]


async def _ask(db: Database, site: Site, question: str, locale: str | None = None) -> answer.Reply:
    assert site.id is not None
    reply = await answer.respond(
        db,
        site_id=site.id,
        site_name=site.name,
        question=question,
        history=[],
        policy=BotPolicy(),
        locale=locale,
    )
    assert reply is not None
    return reply


@pytest.mark.parametrize(
    ("question", "locale", "language"),
    [
        ("What is the weather like on Mars?", "en", "en"),
        ("Is my money safe with you?", "zh", "en"),
        ("火星上的天气怎么样？", "en", "zh"),
        ("12345", "zh", "zh"),
    ],
)
async def test_related_articles_are_in_the_visitors_language(
    db: Database, site: Site, question: str, locale: str, language: str
) -> None:
    # The test FAQ has 4 English and 2 Chinese entries, so the 5 hits always mix both.
    reply = await _ask(db, site, question, locale)
    assert reply.action == "clarify"
    assert reply.related
    assert {LOCALE_OF[r["entry_id"]] for r in reply.related} == {language}, reply.related
    assert reply.suggestions == [r["title"] for r in reply.related]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?。！？])\s*", text) if s]


def test_unsure_answer_is_whole_sentences_in_both_languages() -> None:
    for language in ("en", "zh"):
        for has_related in (True, False):
            text = extractive.not_sure(language, has_related=has_related, offer_human=True)
            # No sentence ends on a colon that the offer to connect would then complete.
            assert ":" not in text and "：" not in text, text
            parts = _sentences(text)
            assert len(parts) == 3 if has_related or language == "en" else len(parts) >= 2
            assert all(p[-1] in ".!?。！？" for p in parts), parts
    en = extractive.not_sure("en", has_related=True, offer_human=True)
    assert en == (
        "I'm not sure I have the right answer to that. The related articles below might "
        "help. If you like, I can also connect you with a person."
    )
    zh = extractive.not_sure("zh", has_related=True, offer_human=True)
    assert zh == (
        "抱歉，我不确定能正确回答这个问题。下方的相关文章或许有帮助。"
        "如果需要，我也可以为您转接人工客服。"
    )
    assert extractive.not_sure("en", has_related=True, offer_human=False).endswith("help.")


RETURN_ANSWER = (
    "You can return unused items in their original packaging within 30 days of delivery; "
    "returns within the EU and UK are free. Go to My orders, open the order, select Return "
    "items and print the prepaid label or show the QR code at a drop-off point. [1]"
)


def test_clip_keeps_whole_words_and_marks_the_cut() -> None:
    clipped = summary.clip(RETURN_ANSWER)
    assert len(clipped) <= summary.SNIPPET and clipped.endswith("…")
    assert clipped == RETURN_ANSWER[: len(clipped) - 1].rstrip(" ,;:") + "…"
    words = RETURN_ANSWER.split()
    assert clipped[:-1].split()[-1] in words, "the last word is a whole word"
    assert "prepaid la…" not in clipped
    # The exact cut the agents saw: mid-word at 200 characters.
    assert RETURN_ANSWER[:200].endswith("prepaid la")
    assert clipped.endswith("prepaid…")
    # Short text is left alone; a word longer than the limit is still cut.
    assert summary.clip("Where is my order?") == "Where is my order?"
    assert summary.clip("x" * 300, 10) == "x" * 9 + "…"
    # Never half a citation marker.
    assert summary.clip("Ship it today [12] please", 17) == "Ship it today…"


def test_clip_cuts_chinese_on_a_character_boundary() -> None:
    text = "您可以在收货后30天内退回未使用的商品，欧盟和英国境内退货免费。" * 10
    clipped = summary.clip(text, 50)
    assert len(clipped) == 50 and clipped.endswith("…")
    assert text.startswith(clipped[:-1].rstrip("，"))
    # A Latin word inside Chinese text is still kept whole.
    mixed = "请打开 My orders 页面并选择 Return items 然后打印预付标签"
    assert summary.clip(mixed, 24) == "请打开 My orders 页面并选择…"


async def test_summary_is_gone_once_the_conversation_is_back_with_the_bot(
    db: Database,
) -> None:
    hooks.clear_hooks()
    site = await make_site(db)
    assert site.id is not None
    agent = await make_staff(db, site=site)
    visitor = await sites.create_visitor(db, site_id=site.id, locale="en")
    conversation, _ = await conversations.open_conversation(
        db, site_id=site.id, visitor_id=visitor.id
    )
    await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="v-1",
        text="How do I return an item? " + RETURN_ANSWER,
    )
    queued = await transitions.request_handoff(
        db, conversation_id=conversation.id, actor=BOT, reason="visitor_asked"
    )
    row = await summary.summarise(db, conversation=queued)
    [asked] = row.details["questions"]
    assert asked.endswith("…") and len(asked) <= summary.SNIPPET
    assert (await events.handoff_summary(db, queued))["summary"]["id"] == row.id

    assigned = await transitions.accept(db, conversation_id=conversation.id, agent=agent)
    assert (await events.handoff_summary(db, assigned))["summary"]["id"] == row.id
    back = await transitions.hand_back(
        db, conversation_id=conversation.id, actor=Actor.staff(agent)
    )
    assert back.status == ConversationStatus.BOT
    assert (await events.handoff_summary(db, back))["summary"] is None


async def test_live_turn_offers_related_articles_in_the_widgets_language(
    db: Database, site: Site, live_server: str
) -> None:
    from tests.bot.test_live_conversation import open_visitor, say, wait_bot

    visitor, conversation_id = await open_visitor(live_server, site)
    async with db.write() as session:
        await session.execute(
            update(Visitor)
            .where(col(Visitor.id) == visitor.received["session"][0]["visitor_id"])
            .values(locale="zh-CN")
        )
    # An order number says nothing about language: the widget's (Chinese) decides.
    await say(visitor, conversation_id, "10023-77")
    [reply] = await wait_bot(visitor, 1)
    related_items = reply["payload"]["related"]
    assert related_items
    assert {LOCALE_OF[r["entry_id"]] for r in related_items} == {"zh"}, related_items
    await visitor.disconnect()
