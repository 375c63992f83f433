"""The product check of issue 17's "own phrasings" rule: every question and title the demo
help center lists for an FAQ entry, asked word for word in a new chat, is answered with
that entry, in English and in Chinese (retrieval/exact.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from relaydesk.api.demo import seed_demo
from relaydesk.bot import answer, intents
from relaydesk.bot.policy import VISITOR_ASKED, BotPolicy
from relaydesk.bot.prompt import Turn
from relaydesk.core.db import Database
from relaydesk.knowledge.demo import demo_batch
from relaydesk.knowledge.retrieval.exact import phrasing_key


async def test_every_listed_demo_phrasing_is_answered_with_its_own_entry(
    db: Database, tmp_path: Path
) -> None:
    site_id = (await seed_demo(db, tmp_path / "data")).site_id
    faqs = demo_batch().faqs
    listed = [(f.external_id, q) for f in faqs for q in {*f.questions, f.title}]
    owners = Counter(phrasing_key(q) for _, q in {(e, phrasing_key(q)) for e, q in listed})
    # The rule covers a phrasing one entry lists; the demo help center lists none twice.
    assert [k for k, n in owners.items() if n > 1] == []
    languages = Counter(f.locale for f in faqs for _ in {*f.questions, f.title})
    assert languages["zh"] >= 100 and languages["en"] >= 200, languages

    failures = []
    for external_id, question in listed:
        reply = await answer.respond(
            db, site_id=site_id, site_name="Juniper & Oak", question=question, history=[],
            policy=BotPolicy(),
        )  # fmt: skip
        assert reply is not None
        if reply.action == "handoff" and reply.reason == VISITOR_ASKED:
            # "How do I talk to a person?" asks for a person: handing off is the answer.
            assert intents.wants_human(question)
            continue
        cited = reply.citations[0]["external_id"] if reply.citations else None
        if (reply.action, cited) != ("answer", external_id):
            failures.append((question, external_id, reply.action, cited, reply.confidence))
    assert failures == []


async def test_an_exact_phrasing_is_answered_after_an_earlier_exchange(
    db: Database, tmp_path: Path
) -> None:
    """In a conversation too: the question is searched on its own first, and its own
    words win over the earlier turn."""
    site_id = (await seed_demo(db, tmp_path / "data")).site_id
    history = [Turn("visitor", "Where is my order?"), Turn("bot", "Track it under My orders.")]
    for question, external_id in [
        ("什么时候发货", "demo:zh-delivery-time"),
        ("怎么退货？", "demo:zh-return"),
    ]:
        reply = await answer.respond(
            db, site_id=site_id, site_name="Juniper & Oak", question=question,
            history=history, policy=BotPolicy(),
        )  # fmt: skip
        assert reply is not None and reply.action == "answer", (question, reply)
        assert reply.citations[0]["external_id"] == external_id
