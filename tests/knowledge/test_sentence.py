"""The multilingual sentence channel for CJK text: it replaces LSA, encodes each text
once across snapshots, stays out of English-only knowledge bases, and (with the real
packaged encoder) ranks a paraphrase sharing no token above an unrelated entry."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from relaydesk.knowledge.retrieval.chunks import Chunk
from relaydesk.knowledge.retrieval.index import HybridIndex
from relaydesk.knowledge.retrieval.sentence import SentenceIndex, bundled_encoder
from relaydesk.knowledge.retrieval.text import tokenize
from tests.knowledge.test_latent import QUERY, TARGET, UNRELATED, _chinese_kb, _rank


class CountingEncoder:
    """Deterministic vectors from characters: texts sharing characters score higher."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    @property
    def model_id(self) -> str:
        return "counting"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        rows = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for char in text:
                rows[row, ord(char) % 64] += 1.0
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def test_it_replaces_lsa_and_encodes_each_text_once() -> None:
    encoder = CountingEncoder()
    index = HybridIndex(None, cjk_encoder=encoder)
    kb = _chinese_kb()
    index.upsert(kb)
    snap = index._snapshot
    assert snap.sentence.active and snap.latent.basis is None
    assert sorted(encoder.encoded) == sorted({c.text for c in kb})

    encoder.encoded.clear()
    index.upsert([Chunk("unrelated:q", "unrelated", "逾期了罚息怎么算", {}, "entry:unrelated")])
    assert encoder.encoded == ["逾期了罚息怎么算"]  # the others are reused

    hits = index.search(TARGET, 3)
    assert hits[0].entry_id == "target"
    assert encoder.encoded[-1] == TARGET  # the query itself


def test_english_text_is_never_encoded_and_bm25_mode_skips_it() -> None:
    encoder = CountingEncoder()
    index = HybridIndex(None, cjk_encoder=encoder)
    index.upsert(
        [Chunk(f"e{n}", f"e{n}", f"How do I reset password {n}?", {}, f"e{n}") for n in range(5)]
    )
    index.search("重置密码", 3)
    index.search("reset password", 3)
    assert encoder.encoded == []

    chinese = HybridIndex(None, cjk_encoder=encoder)
    chinese.upsert(_chinese_kb(size_per_topic=2))
    encoder.encoded.clear()
    chinese.search(QUERY, 3, mode="bm25")
    assert encoder.encoded == []


def test_a_mixed_knowledge_base_gets_vectors_for_its_cjk_documents_only() -> None:
    texts = ["How do I reset my password?", "忘记密码怎么办", "重置登录密码"]
    built = SentenceIndex.build(texts, CountingEncoder())
    assert built.documents.tolist() == [1, 2]
    scores = built.scores("密码忘了")
    assert scores[0] == 0.0 and scores[1] > 0.0


def test_the_packaged_encoder_ranks_a_paraphrase_above_an_unrelated_entry() -> None:
    encoder = bundled_encoder()  # a declared dependency: never skipped
    assert encoder is not None
    assert not set(tokenize(QUERY)) & set(tokenize(TARGET))
    index = HybridIndex(None)
    index.upsert(_chinese_kb())
    scores = index._snapshot.sentence.scores(QUERY)
    texts = [c.text for c in index._snapshot.chunks]  # one chunk per group here
    assert scores[texts.index(TARGET)] > scores[texts.index(UNRELATED)]
    assert _rank(index, "target") < _rank(index, "unrelated")
