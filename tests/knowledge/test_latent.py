"""The latent (LSA) channel for CJK text: paraphrases without shared words, fold-in of
edits, refits, and staying out of English-only knowledge bases."""

from __future__ import annotations

import random

import numpy as np

from relaydesk.knowledge.retrieval import fusion, latent
from relaydesk.knowledge.retrieval.chunks import Chunk
from relaydesk.knowledge.retrieval.index import HybridIndex
from relaydesk.knowledge.retrieval.latent import LatentIndex
from relaydesk.knowledge.retrieval.text import tokenize

# Three topics of a small Chinese help centre. Late payment is asked about in two
# vocabularies (逾期/罚息 and 晚交/滞纳金) that share no character and no syllable;
# the knowledge base's own questions use them together, which is all LSA learns from.
LATE = ["逾期罚息", "晚交滞纳金", "逾期以后", "晚交了", "罚息多少", "滞纳金怎么算"]
PASSWORD = ["登录密码", "忘记密码", "重置密码", "账号登不上", "密码错误", "修改登录密码"]
CARD = ["卡片邮寄", "新卡寄到", "快递单号", "收到新卡", "邮寄地址", "卡片到了没有"]
ENDINGS = ["怎么办", "是什么意思", "在哪里查看", "要多久", "可以吗", "请问一下"]

TARGET = "逾期罚息"  # what the query means, in the other vocabulary
UNRELATED = "修改登录密码"
QUERY = "晚交滞纳金"


def _chinese_kb(size_per_topic: int = 20) -> list[Chunk]:
    rng = random.Random(3)
    chunks = [
        Chunk("target:q", "target", TARGET, {"title": TARGET}, "entry:target"),
        Chunk("unrelated:q", "unrelated", UNRELATED, {"title": UNRELATED}, "entry:unrelated"),
    ]
    for name, words in (("late", LATE), ("password", PASSWORD), ("card", CARD)):
        for n in range(size_per_topic):
            text = "".join(rng.sample(words, 2)) + rng.choice(ENDINGS)
            chunks.append(Chunk(f"{name}{n}:q", f"{name}{n}", text, {}, f"entry:{name}{n}"))
    return chunks


def _rank(index: HybridIndex, entry_id: str, mode: str = "hybrid") -> int:
    hits = index.search(QUERY, index.entry_count, mode=mode)  # type: ignore[arg-type]
    return [h.entry_id for h in hits].index(entry_id)


def _latent_score(index: HybridIndex, entry_id: str) -> float:
    snap = index._snapshot
    group = int(snap.entry_starts[snap.entry_ids.index(entry_id)])
    return float(snap.latent.scores(tokenize(QUERY))[group])


def test_a_paraphrase_sharing_no_token_outranks_an_unrelated_entry() -> None:
    assert not set(tokenize(QUERY)) & set(tokenize(TARGET))
    index = HybridIndex(None, cjk_encoder=None)
    index.upsert(_chinese_kb())
    assert index._snapshot.latent.basis is not None

    scores = index._snapshot.latent.scores(tokenize(QUERY))
    texts = [c.text for c in index._snapshot.chunks]  # one chunk per group here
    assert scores[texts.index(TARGET)] > scores[texts.index(UNRELATED)] + 0.2
    assert _rank(index, "target") < _rank(index, "unrelated")
    # BM25 alone has nothing to tell them apart by: both score zero.
    bm25 = index.search_with_signals(QUERY, index.entry_count, mode="bm25")
    assert {s.score for h, s in bm25 if h.entry_id in ("target", "unrelated")} == {0.0}


def test_an_edit_is_folded_into_the_basis_and_a_large_change_refits_it() -> None:
    index = HybridIndex(None, cjk_encoder=None)
    index.upsert(_chinese_kb())
    basis = index._snapshot.latent.basis
    assert _latent_score(index, "unrelated") < 0.2

    # An edited entry is scored at once, in the basis it already had (no new SVD).
    index.upsert([Chunk("unrelated:q", "unrelated", "逾期了罚息怎么算", {}, "entry:unrelated")])
    assert index._snapshot.latent.basis is basis
    assert _latent_score(index, "unrelated") > 0.5

    # Past REFIT_SHARE of the documents changed, the basis is fitted again.
    many = [
        Chunk(f"new{n}:q", f"new{n}", f"新卡寄到{n}号{CARD[n % 6]}", {}, f"entry:new{n}")
        for n in range(10)
    ]
    index.upsert(many)
    assert index._snapshot.latent.basis is not basis
    assert index._snapshot.latent.basis is not None
    assert index._snapshot.latent.basis.fitted_on == {c.text for c in index._snapshot.chunks}


def test_the_channel_stays_off_without_enough_cjk_text() -> None:
    english = [
        Chunk(f"e{n}", f"e{n}", f"How do I reset password number {n}?", {}, f"entry:e{n}")
        for n in range(80)
    ]
    index = HybridIndex(None, cjk_encoder=None)
    index.upsert(english)
    assert index._snapshot.latent.basis is None
    assert not index._snapshot.latent.scores(tokenize("重置密码")).any()

    small = _chinese_kb(size_per_topic=10)  # 32 documents: too few to learn from
    assert len(small) < latent.MIN_DOCUMENTS
    index.upsert(small)
    assert index._snapshot.latent.basis is None

    # In a mixed knowledge base only the CJK documents get vectors.
    built = LatentIndex.build(
        [c.text for c in english + _chinese_kb()],
        [tokenize(c.text) for c in english + _chinese_kb()],
        None,
    )
    assert built.documents.min() == len(english)
    assert np.allclose(np.linalg.norm(built.vectors, axis=1), 1.0, atol=1e-5)


def test_only_mostly_cjk_queries_use_it_and_only_with_an_english_only_model() -> None:
    assert fusion.uses_latent("晚交滞纳金", multilingual_embedder=False)
    assert fusion.uses_latent("我的card还没到呢", multilingual_embedder=False)
    assert not fusion.uses_latent("my new card has not arrived", multilingual_embedder=False)
    assert not fusion.uses_latent("晚交滞纳金", multilingual_embedder=True)
