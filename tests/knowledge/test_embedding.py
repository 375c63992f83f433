from __future__ import annotations

import numpy as np
import pytest

from relaydesk.knowledge.retrieval.embedding import Embedder, OnnxMiniLMEmbedder, embed_async

# What these tests check is the model's own output, computed for every call (the rest of
# the suite reuses vectors it has already computed: tests/conftest.py).
pytestmark = pytest.mark.fresh_embeddings

TEXTS = [
    "short",
    "My card still hasn't arrived and it has been two weeks, what should I do now?",
    "How do I reset my password?",
    "怎么更换绑定的还款银行卡",
    "我的card还没到",
    "",
    "refund " * 400,  # longer than the 256-token limit
]


def test_vectors_are_unit_length_float32(embedder: OnnxMiniLMEmbedder) -> None:
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(TEXTS), embedder.dimension) == (len(TEXTS), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert isinstance(embedder, Embedder)


def test_deterministic(embedder: OnnxMiniLMEmbedder) -> None:
    np.testing.assert_array_equal(embedder.embed(TEXTS), embedder.embed(TEXTS))


def test_padded_batches_match_one_at_a_time(embedder: OnnxMiniLMEmbedder) -> None:
    batched = embedder.embed(TEXTS)
    single = np.vstack([embedder.embed([text]) for text in TEXTS])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_similar_questions_are_closer(embedder: OnnxMiniLMEmbedder) -> None:
    query, same, other = embedder.embed(
        ["my card has not arrived yet", "When will my card arrive?", "How do I reset my password?"]
    )
    assert float(query @ same) > float(query @ other) + 0.2


def test_chinese_text_embeds(embedder: OnnxMiniLMEmbedder) -> None:
    a, b = embedder.embed(["怎么更换还款银行卡", "怎么更换还款银行卡"])
    assert np.all(np.isfinite(a))
    assert float(a @ b) > 0.9999


def test_model_id_is_stable(embedder: OnnxMiniLMEmbedder) -> None:
    assert embedder.model_id == embedder.model_id
    assert embedder.model_id.startswith("onnx:all-MiniLM-L6-v2:")


def test_empty_input(embedder: OnnxMiniLMEmbedder) -> None:
    assert embedder.embed([]).shape == (0, 384)


async def test_async_helper_matches_sync(embedder: OnnxMiniLMEmbedder) -> None:
    vectors = await embed_async(embedder, TEXTS[:3])
    np.testing.assert_allclose(vectors, embedder.embed(TEXTS[:3]), atol=1e-6)
