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
