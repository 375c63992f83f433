from __future__ import annotations

import numpy as np

from relaydesk.knowledge.retrieval.lexical import LexicalIndex
from relaydesk.knowledge.retrieval.text import (
    CHAR_PREFIX,
    PINYIN_PREFIX,
    cjk_fraction,
    pinyin,
    tokenize,
)


def test_english_is_stemmed_without_stopwords() -> None:
    tokens = tokenize("The cards are arriving")
    assert "card" in tokens and "arriv" in tokens
    assert "the" not in tokens and "are" not in tokens


def test_chinese_is_segmented_with_characters_and_pinyin() -> None:
    tokens = tokenize("怎么更换银行卡")
    assert "更换" in tokens and "银行卡" in tokens
    assert CHAR_PREFIX + "换" in tokens
    assert PINYIN_PREFIX + "hang" in tokens  # 行 read as in 银行, not xing
    plain = tokenize("怎么更换银行卡", cjk_ngrams=False)
    assert "更换" in plain
    assert not any(t.startswith((CHAR_PREFIX, PINYIN_PREFIX)) for t in plain)


def test_pinyin_is_toneless_and_skips_non_han() -> None:
    assert pinyin("微粒贷") == ["wei", "li", "dai"]
    assert pinyin("薇利贷") == pinyin("微粒贷")  # homophone typos
    assert pinyin("かな한국") == []
    assert pinyin("银行") == ["yin", "hang"]


def test_homophone_typo_still_matches() -> None:
    index = LexicalIndex(["微粒贷怎么开通", "信用卡怎么还款"])
    # 薇利 shares no character or jieba word with 微粒; only the pinyin matches.
    scores = index.scores(index.query_tokens("薇利"))
    assert scores[0] > 0.0 and scores[1] == 0.0


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
