"""A new site's small knowledge base: a few FAQ entries with several phrasings each and an
article whose sections answer questions. Confidence must answer what it holds, in the
FAQ and inside the article, and decline what it does not (issue 17, part 2)."""

from __future__ import annotations

import pytest

from relaydesk.knowledge.chunking import article_chunks
from relaydesk.knowledge.retrieval.chunks import Chunk, faq_entry_chunks
from relaydesk.knowledge.retrieval.confidence import DEFAULT_ANSWER_THRESHOLD
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.index import HybridIndex

FAQ = [
    ("delivery", "How long does delivery take?",
     ["When will my order arrive?", "How many days does shipping take?",
      "How fast do you deliver?", "When does my parcel come?"],
     "Standard delivery takes 3-5 business days."),
    ("password", "I forgot my password",
     ["How do I reset my password?", "I can't sign in", "Password reset link",
      "I'm locked out of my account"],
     "Use Forgot password on the sign-in page."),
    ("payment", "Which payment methods do you accept?",
     ["Can I pay with PayPal?", "Do you take credit cards?", "Is Apple Pay accepted?"],
     "Visa, Mastercard, PayPal and Apple Pay."),
]  # fmt: skip

ARTICLE = """# Returns and exchanges

## How long do I have to return an item?

You can return unused items within 30 days of delivery, in their original packaging.

## Can I exchange an item?

We do not do direct exchanges: return the item for a refund and place a new order.

## Who pays for return shipping?

Returns within the EU are free; we email you a prepaid label.
"""


def chunks() -> list[Chunk]:
    faq = [
        c
        for entry_id, title, questions, answer in FAQ
        for c in faq_entry_chunks(entry_id, title=title, questions=questions, answer=answer)
    ]
    article = article_chunks(
        article_id=1, title="Returns and exchanges", body=ARTICLE, external_id=None,
        source_url=None, locale="en",
    )  # fmt: skip
    return faq + article


@pytest.fixture(scope="module")
def index(embedder: OnnxMiniLMEmbedder) -> HybridIndex:
    built = HybridIndex(embedder)
    built.upsert(chunks())
    return built


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("how soon will my package get here", "delivery"),
        ("forgot my password, can't log in", "password"),
        ("do you accept paypal", "payment"),
        # Answered inside the article, by the section whose heading asks it.
        ("how many days do I have to send something back?", "article:1"),
        ("can I exchange my order?", "article:1"),
        ("do I have to pay for the return postage?", "article:1"),
    ],
)
def test_a_paraphrase_is_answered(index: HybridIndex, question: str, entry: str) -> None:
    hit = index.search(question, 1)[0]
    assert hit.entry_id == entry
    assert hit.confidence >= DEFAULT_ANSWER_THRESHOLD, (question, hit.confidence)


@pytest.mark.parametrize(
    "question",
    [
        "Who won the football world cup in 2018?",
        "Do you sell tea?",
        "Can I book a table for a private party?",
        "What is the capital of France?",
    ],
)
def test_a_question_it_does_not_answer_stays_unanswered(index: HybridIndex, question: str) -> None:
    assert index.search(question, 1)[0].confidence < DEFAULT_ANSWER_THRESHOLD, question
