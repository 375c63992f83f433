from __future__ import annotations

import numpy as np

from relaydesk.knowledge.retrieval.lexical import LexicalIndex
from relaydesk.knowledge.retrieval.text import cjk_fraction, tokenize


def test_english_is_stemmed_without_stopwords() -> None:
    tokens = tokenize("The cards are arriving")
    assert "card" in tokens and "arriv" in tokens
    assert "the" not in tokens and "are" not in tokens


def test_chinese_is_segmented_with_character_ngrams() -> None:
    tokens = tokenize("怎么更换银行卡")
    assert "更换" in tokens and "银行卡" in tokens
    assert any(t.endswith("换银") for t in tokens)  # a bigram across jieba words
    assert "更换" in tokenize("怎么更换银行卡", cjk_ngrams=False)
    assert not any(t.endswith("换银") for t in tokenize("怎么更换银行卡", cjk_ngrams=False))


def test_mixed_language_text_gets_both_treatments() -> None:
    tokens = tokenize("我的cards还没到")
    assert "card" in tokens
    assert "没到" in tokens or any(t.endswith("没到") for t in tokens)
    assert 0.0 < cjk_fraction("我的cards还没到") < 1.0
    assert cjk_fraction("") == 0.0


def test_bm25_ranks_english_and_chinese() -> None:
    docs = [
        "How do I reset my password?",
        "Where is my card?",
        "怎么更换还款银行卡",
        "借款额度降低了",
    ]
    index = LexicalIndex(docs)
    for query, expected in [
        ("password resetting", 0),
        ("my cards", 1),
        ("还款卡怎么换", 2),
        ("额度为什么降低", 3),
    ]:
        assert int(np.argmax(index.scores(index.query_tokens(query)))) == expected, query


def test_unknown_or_empty_queries_score_zero() -> None:
    index = LexicalIndex(["alpha beta", "gamma"])
    assert not index.scores(index.query_tokens("zzz")).any()
    assert not index.scores(index.query_tokens("")).any()
    assert not LexicalIndex([]).scores(["alpha"]).any()


def test_coverage() -> None:
    index = LexicalIndex(["reset password", "card"])
    tokens = index.query_tokens("reset my password")
    assert index.coverage(tokens, 0) > index.coverage(tokens, 1)
