"""An FAQ entry and an article passage that say the same thing are not rivals
(retrieval/companions.py): a small help center with both answers its own questions."""

from __future__ import annotations

from pathlib import Path

from relaydesk.knowledge.chunking import article_chunks
from relaydesk.knowledge.retrieval import companions
from relaydesk.knowledge.retrieval.chunks import faq_entry_chunks
from relaydesk.knowledge.retrieval.confidence import DEFAULT_ANSWER_THRESHOLD
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.index import HybridIndex

RETURNS_ARTICLE = (
    Path(__file__).resolve().parents[2] / "relaydesk/knowledge/demo/articles/returns-and-refunds.md"
)

FAQ = [
    ("return", "How do I return an item?",
     ["How do I return an item?", "I want to send something back"],
     "You can return unused items within 30 days of delivery. Start the return from My "
     "orders; returns within the EU and the UK are free."),
    ("shipping", "How much does shipping cost?", ["Is shipping free?"],
     "Standard shipping is 4.90 EUR, free over 50 EUR."),
    ("password", "I forgot my password", ["How do I reset my password?"],
     "Use Forgot password on the sign-in page."),
]  # fmt: skip


def help_center(embedder: OnnxMiniLMEmbedder, *, with_article: bool = True) -> HybridIndex:
    index = HybridIndex(embedder)
    for entry_id, title, questions, answer in FAQ:
        index.upsert(faq_entry_chunks(entry_id, title=title, questions=questions, answer=answer))
    if with_article:
        body = RETURNS_ARTICLE.read_text(encoding="utf-8").split("---", 2)[2]
        index.upsert(
            article_chunks(
                article_id=1,
                title="Returns and refunds",
                body=body,
                external_id=None,
                source_url=None,
                locale="en",
            )
        )
    return index


def test_an_faq_answer_repeated_in_an_article_does_not_lower_its_confidence(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    """ "How long do I have to return an item?" once got "I'm not sure" on the demo: the
    Returns article, saying the same, was the FAQ entry's only close rival."""
    question = "How long do I have to return an item?"
    alone = help_center(embedder, with_article=False).search(question, 1)[0]
    hit, signals = help_center(embedder).search_with_signals(question, 2)[0]
    assert hit.entry_id == "return"
    assert hit.confidence >= DEFAULT_ANSWER_THRESHOLD
    # The margin is taken against the next entry that is not the article.
    assert signals.margin > 0.3
    assert abs(hit.confidence - alone.confidence) < 0.05


def test_unrelated_questions_still_decline_with_companions(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    index = help_center(embedder)
    for question in (
        "Who won the football world cup in 2018?",
        "Do you sell tea?",
        "What is the capital of France?",
    ):
        assert index.search(question, 1)[0].confidence < DEFAULT_ANSWER_THRESHOLD, question


def test_two_faq_entries_are_never_companions(embedder: OnnxMiniLMEmbedder) -> None:
    """Near-duplicate FAQ entries (banking77's fine-grained intents) stay rivals."""
    index = HybridIndex(embedder)
    index.upsert(
        faq_entry_chunks("a", title="When will my card arrive?", questions=[], answer="In 5 days.")
    )
    index.upsert(
        faq_entry_chunks(
            "b", title="How long does card delivery take?", questions=[], answer="5 days."
        )
    )
    snap = index._snapshot
    assert snap.vectors is not None
    dense = snap.vectors @ embedder.embed(["when does my card come"])[0]
    found = companions.find(
        snap.chunks, snap.vectors, dense, snap.group_starts, snap.entry_starts, 0, [1]
    )
    assert found == frozenset()


def test_an_article_section_on_another_subject_is_not_a_companion(
    embedder: OnnxMiniLMEmbedder,
) -> None:
    index = help_center(embedder)
    snap = index._snapshot
    assert snap.vectors is not None
    entries = {entry_id: n for n, entry_id in enumerate(snap.entry_ids)}
    dense = snap.vectors @ embedder.embed(["I forgot my password"])[0]
    found = companions.find(
        snap.chunks, snap.vectors, dense, snap.group_starts, snap.entry_starts,
        entries["password"], [entries["article:1"]],
    )  # fmt: skip
    assert found == frozenset()
