"""Articles are cut along their structure, within a size cap, keeping heading paths."""

from __future__ import annotations

from relaydesk.knowledge.chunking import MAX_CHUNK_CHARS, article_chunks, split_article

BODY = """# Shipping guide

We ship worldwide. See [our policy](https://example.test/policy) for **details**.

## Costs

Standard shipping is free above 50 euros.

- Standard: 3-5 days
- Express: 1-2 days

### Customs

Duties are collected on delivery.

Tracking
--------

You get a tracking link by email.
"""


def test_heading_paths_are_kept_and_markup_is_reduced_to_words() -> None:
    passages = split_article(BODY, title="Shipping guide")
    paths = [p.heading_path for p in passages]
    assert paths == [(), ("Costs",), ("Costs", "Customs"), ("Tracking",)]
    assert passages[0].text == "We ship worldwide. See our policy for details."
    assert "- Standard: 3-5 days\n- Express: 1-2 days" in passages[1].text


def test_chunks_carry_citation_metadata_and_context() -> None:
    chunks = article_chunks(
        article_id=7,
        title="Shipping guide",
        body=BODY,
        external_id="file:shipping.md",
        source_url="https://example.test/shipping",
        locale="en",
    )
    customs = chunks[2]
    assert customs.entry_id == "article:7"
    assert customs.text.startswith("Shipping guide › Costs › Customs\n")
    assert customs.metadata["heading_path"] == ["Costs", "Customs"]
    assert customs.metadata["url"] == "https://example.test/shipping"
    assert customs.metadata["external_id"] == "file:shipping.md"
    assert customs.metadata["article_id"] == 7
    assert customs.metadata["title"] == "Shipping guide"


def test_long_sections_are_split_under_the_cap() -> None:
    sentence = "Parcels are handed to the carrier on the same business day. "
    chinese = "包裹会在当天交给承运商。" * 200
    passages = split_article(f"# T\n\n{sentence * 60}\n\n{chinese}\n\n{'字' * 2000}", title="T")
    assert len(passages) > 5
    assert all(len(p.text) <= MAX_CHUNK_CHARS for p in passages)
    joined = "".join(p.text.replace(" ", "") for p in passages)
    assert joined.count("字") == 2000


def test_an_article_without_body_still_has_its_title() -> None:
    chunks = article_chunks(
        article_id=1, title="Empty", body="", external_id=None, source_url=None, locale="en"
    )
    assert [c.text for c in chunks] == ["Empty"]


def test_a_heading_that_asks_a_question_is_indexed_as_its_passages_phrasing() -> None:
    """ "Can I exchange an item?" is the question its section answers, as an FAQ entry's
    question is: one group with the passage, so a visitor's question is matched against
    it question to question. A topic heading ("Refunds", "退款") is no question."""
    body = (
        "## Can I exchange an item?\n\nWe do not do direct exchanges.\n\n"
        "## Refunds\n\nWe refund within 5 business days.\n\n"
        "## 换货可以吗？\n\n不支持直接换货。\n"
    )
    chunks = article_chunks(
        article_id=3, title="Returns", body=body, external_id=None, source_url=None, locale="en"
    )
    exchange = [c for c in chunks if c.metadata["heading_path"] == ["Can I exchange an item?"]]
    assert [c.text for c in exchange] == [
        "Returns › Can I exchange an item?\nWe do not do direct exchanges.",
        "Can I exchange an item?",
    ]
    assert exchange[0].group == exchange[1].group == "article:3:p0"
    assert exchange[1].metadata["role"] == "heading"
    # Answered from: the passage, whichever chunk of the group matched.
    assert exchange[1].metadata["passage"] == exchange[0].metadata["passage"]
    refunds = [c for c in chunks if c.metadata["heading_path"] == ["Refunds"]]
    assert len(refunds) == 1 and refunds[0].group is None
    chinese = [c for c in chunks if c.metadata["heading_path"] == ["换货可以吗？"]]
    assert [c.text for c in chinese][1] == "换货可以吗？"
