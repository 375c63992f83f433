from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chromadb.api.shared_system_client import SharedSystemClient

from relaydesk.knowledge.retrieval.chunks import Chunk
from relaydesk.knowledge.retrieval.dense import ChromaVectorStore
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.index import HybridIndex

FaqChunks = Callable[..., list[Chunk]]


QUERIES = [
    ("my new card has not come yet", "card-arrival"),
    ("I can't remember my password", "reset-password"),
    ("can I get my money back for this order", "refund"),
    ("还款的银行卡怎么换", "loan-repayment-card"),
    ("额度怎么变少了", "loan-limit"),
]


@pytest.fixture
def index(embedder: OnnxMiniLMEmbedder, faq: FaqChunks) -> HybridIndex:
    built = HybridIndex(embedder, ChromaVectorStore.in_memory())
    built.upsert(faq())
    return built


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_hybrid_ranks_the_right_entry_first(index: HybridIndex, query: str, expected: str) -> None:
    hits = index.search(query, 3)
    assert hits[0].entry_id == expected
    assert hits[0].metadata["url"] == f"/faq/{expected}"
    assert len({hit.entry_id for hit in hits}) == len(hits)  # an entry counts once
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(0.0 <= hit.confidence <= 1.0 for hit in hits)


def test_modes_and_counts(index: HybridIndex) -> None:
    assert not index.lexical_only
    assert index.entry_count == 5
    for mode in ("hybrid", "bm25", "dense"):
        assert index.search("I forgot my password", 1, mode=mode)[0].entry_id == "reset-password"


def test_delete_and_upsert_change_results(index: HybridIndex, faq: FaqChunks) -> None:
    index.delete_entries(["reset-password"])
    assert "reset-password" not in {h.entry_id for h in index.search("forgot my password", 5)}

    index.upsert(
        [Chunk("pw:1", "password-help", "I forgot my password", {"title": "Password help"})]
    )
    assert index.search("forgot my password", 1)[0].entry_id == "password-help"

    # Upserting an entry replaces all its chunks: the old phrasing no longer matches.
    index.upsert([Chunk("pw:2", "password-help", "Two-factor codes", {"title": "2FA"})])
    assert index.search("two factor code", 1)[0].entry_id == "password-help"
    assert index.chunk_count == len(faq()) - len(faq(["reset-password"])) + 1


async def test_async_wrappers(index: HybridIndex, faq: FaqChunks) -> None:
    await index.adelete_entries(["refund"])
    await index.aupsert(faq(["refund"]))
    hits = await index.asearch("I want a refund", 1)
    assert hits[0].entry_id == "refund"


def test_lexical_only_without_a_model(faq: FaqChunks) -> None:
    index = HybridIndex(None)
    index.upsert(faq())
    assert index.lexical_only
    assert index.search("forgot password", 1)[0].entry_id == "reset-password"
    assert index.search("还款银行卡怎么更换", 1)[0].entry_id == "loan-repayment-card"
    assert 0.0 <= index.search("forgot password", 1)[0].confidence <= 1.0
    with pytest.raises(RuntimeError):
        index.search("password", 1, mode="dense")


def test_set_embedder_upgrades_a_lexical_index(
    embedder: OnnxMiniLMEmbedder, faq: FaqChunks
) -> None:
    index = HybridIndex(None)
    index.upsert(faq())
    index.set_embedder(embedder)
    assert not index.lexical_only
    hits = index.search("plastic not delivered", 1, mode="dense")
    assert hits[0].entry_id == "card-arrival"


def test_persistent_store_survives_reopening(
    tmp_path: Path, counting_embedder: Any, faq: FaqChunks
) -> None:
    first = HybridIndex(counting_embedder, ChromaVectorStore.persistent(tmp_path))
    first.upsert(faq())
    assert counting_embedder.embedded == len(faq())
    expected = [h.entry_id for h in first.search("my card has not come", 3)]
    del first
    SharedSystemClient.clear_system_cache()  # a fresh client, as in a new process

    reopened = HybridIndex(counting_embedder, ChromaVectorStore.persistent(tmp_path))
    assert reopened.load_from_store() == len(faq())
    assert [h.entry_id for h in reopened.search("my card has not come", 3)] == expected

    # Rebuilding from the database reuses the stored vectors of unchanged texts.
    rebuilt = HybridIndex(counting_embedder, ChromaVectorStore.persistent(tmp_path))
    before = counting_embedder.embedded
    rebuilt.replace_all(faq())
    assert counting_embedder.embedded == before
    assert [h.entry_id for h in rebuilt.search("my card has not come", 3)] == expected


def test_empty_index_returns_nothing(embedder: OnnxMiniLMEmbedder) -> None:
    assert HybridIndex(embedder).search("anything") == []
    assert HybridIndex(None).search("anything") == []
