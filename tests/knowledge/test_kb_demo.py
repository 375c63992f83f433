"""The demo help center is seeded once and answers real questions in English and Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from relaydesk.api.demo import seed_demo
from relaydesk.core.db import Database
from relaydesk.knowledge import search, service
from relaydesk.knowledge.demo import demo_batch
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD
from tests.knowledge.kb_helpers import find


def test_demo_content_is_substantial_and_bilingual() -> None:
    batch = demo_batch()
    assert len(batch.articles) + len(batch.faqs) >= 30
    locales = {a.locale for a in batch.articles} | {f.locale for f in batch.faqs}
    assert locales == {"en", "zh"}
    assert all(a.external_id and a.external_id.startswith("demo:") for a in batch.articles)


async def test_seeded_once_and_answers(db: Database, tmp_path: Path) -> None:
    creds = await seed_demo(db, tmp_path / "data")
    site_id = creds.site_id
    for query, expected in [
        ("how long does a refund take", "When will I get my refund?"),
        ("can I pay with paypal", "Which payment methods do you accept?"),
        ("what should I do if my parcel arrived broken", "My item arrived damaged"),
        (
            "how do I turn on two-step verification",
            "Resetting your password and two-step verification",
        ),
        ("退款多久到账", "退款多久到账？"),
        ("怎么转人工客服", "怎么联系人工客服？"),
    ]:
        hits = (await find(db, site_id, query, k=3)).hits
        assert expected in [h.title for h in hits], (query, [h.title for h in hits])
    assert await search.suggestions(db, site_id=site_id, locale="zh-CN") == [
        "我的订单到哪里了？",
        "运费是多少？",
        "怎么退货？",
        "退款多久到账？",
    ]

    # An editor's change survives the next start's seeding.
    faq = (await find(db, site_id, "can I pay with paypal")).hits[0]
    await service.unpublish_faq_entry(
        db, faq_id=int(faq.entry_id.split(":")[1]), actor=service.SYSTEM
    )
    await seed_demo(db, tmp_path / "data")
    titles = [h.title for h in (await find(db, site_id, "can I pay with paypal")).hits]
    assert "Which payment methods do you accept?" not in titles


async def test_demo_bot_is_sure_of_paraphrases_and_not_of_other_questions(
    db: Database, tmp_path: Path
) -> None:
    """The demo answers natural rewordings of its own FAQ in English and Chinese at the
    default threshold, and declines questions it has nothing on (in Chinese too, where the
    English-only embedding model once made anything look like a match)."""
    site_id = (await seed_demo(db, tmp_path / "data")).site_id
    for query, expected in [
        ("How long does shipping take?", "How long does delivery take?"),
        ("I paid twice for the same order", "I was charged twice"),
        ("Do you accept PayPal?", "Which payment methods do you accept?"),
        ("cancel my order please", "Can I cancel my order?"),
        ("do you ship abroad?", "Do you ship internationally?"),
        ("我的快递到哪了", "我的订单到哪里了？"),
        ("可以用支付宝付款吗", "支持哪些支付方式？"),
    ]:
        top = (await find(db, site_id, query, k=1)).hits[0]
        assert (top.title, top.confidence >= DEFAULT_ANSWER_THRESHOLD) == (expected, True), (
            query,
            top.confidence,
        )
    for query in [
        "What is the capital of France?",
        "Do you sell car insurance?",
        "Can you recommend a good pizza recipe?",
        "今天天气怎么样",
        "你们卖汽车吗",
        "帮我写一首诗",
    ]:
        top = (await find(db, site_id, query, k=1)).hits[0]
        assert top.confidence < DEFAULT_ANSWER_THRESHOLD, (query, top.title, top.confidence)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "我想取消订单",
            "可以取消订单吗？",
            marks=pytest.mark.xfail(
                strict=True,
                reason="issue 17: ranked first, but BM25's confidence stays under the 0.86 "
                "bar next to the subscription entry (取消订阅); the sentence-channel model "
                "was not adopted (docs/retrieval.md) and gave 0.79",
            ),
        ),
        # Sure since the shipping-cost entry has more phrasings (运费多少, 运费怎么算).
        ("运费多少钱", "运费是多少？"),
    ],
)
async def test_demo_bot_is_sure_of_chinese_questions_near_the_subscription_entries(
    db: Database, tmp_path: Path, query: str, expected: str
) -> None:
    site_id = (await seed_demo(db, tmp_path / "data")).site_id
    top = (await find(db, site_id, query, k=1)).hits[0]
    assert (top.title, top.confidence >= DEFAULT_ANSWER_THRESHOLD) == (expected, True)
