"""Tokenisation for the lexical index: English stemming; jieba, characters and pinyin for CJK.

Text is split into runs of CJK characters and runs of other word characters, so mixed
text ("我的card还没到") gets both treatments. Latin-script words are lower-cased, stripped
of English stopwords and Snowball-stemmed. CJK runs are segmented by jieba and, in
addition, contribute their characters and the toneless pinyin of their Han characters:
jieba often segments a query and its paraphrase differently (微粒贷 vs 微粒 + 贷), where
characters still match, and colloquial queries are full of homophone typos typed with a
pinyin keyboard (薇粒贷, 微利贷 for 微粒贷), where the pinyin still matches.

BM25 recall@1 on bq-faq (all of it: it has no separate dev split, so every variant was
also checked on its odd and even query halves, which agreed), BM25 defaults k1 1.5, b 0.75:
jieba alone 0.077; + characters + bigrams (the previous tokens) 0.080; + characters 0.088;
+ characters + pinyin 0.090 (chosen); characters alone 0.090. Bigrams, trigrams and pinyin
bigrams each lowered it, as did separate BM25 rankers per token kind fused by score or
rank (0.085-0.088) and TF-IDF cosine (0.068-0.091). Later tries, same protocol, none
clearing BM25-with-jieba + 0.03 (0.107): jieba search-mode words 0.087-0.088; characters
and pinyin without jieba words 0.094; a k1 x b grid over these tokens at best 0.095
(k1 1.0, b 1.0); BM25L, BM25+ and ATIRE 0.094; Dirichlet-smoothed query likelihood
0.074-0.089; pseudo-relevance feedback from the top 1-10 entries 0.089-0.094; LSA (256
dimensions over the knowledge base's words and characters) added to BM25 0.101, the only
clear gain; its first SVD took 100 s, but a sparse one over these same tokens takes 1-2 s
and now runs as its own channel (latent.py). Most misses rank a paraphrase of the right
entry first (the corpus has many unlabelled duplicates), which no lexical view fixes.
A pretrained multilingual sentence encoder in LSA's place (sentence.py) reaches 0.110.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

import jieba
import Stemmer
from bm25s.stopwords import STOPWORDS_EN
from pypinyin import lazy_pinyin

# Han ideographs (with extension A and compatibility blocks), kana and Hangul.
_CJK_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_RUN = re.compile(rf"(?P<cjk>[{_CJK_CHARS}]+)|(?P<word>[^\W_{_CJK_CHARS}]+)")
_CJK_CHAR = re.compile(rf"[{_CJK_CHARS}]")
# Characters and pinyin syllables live in their own namespaces so a one-character jieba
# word and the same character (or an English word and a syllable, "fan") are two
# features rather than one term with a doubled frequency.
CHAR_PREFIX = "\u00a71"
PINYIN_PREFIX = "\u00a7p"

_STOPWORDS = frozenset(STOPWORDS_EN)
_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _jieba() -> jieba.Tokenizer:
    # jieba logs its dictionary loading at INFO on every process start.
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    with _jieba_lock:
        tokenizer.initialize()
    return tokenizer


def cjk_fraction(text: str) -> float:
    """Share of the text's word characters that are CJK (0.0 for empty text)."""
    word_chars = sum(len(m.group()) for m in _RUN.finditer(text))
    if word_chars == 0:
        return 0.0
    return len(_CJK_CHAR.findall(text)) / word_chars


def tokenize(text: str, *, cjk_ngrams: bool = True) -> list[str]:
    """Tokens of `text` for BM25 (the same function serves documents and queries).

    `cjk_ngrams=False` gives plain jieba segmentation (no character or pinyin tokens),
    kept as the benchmark's baseline.
    """
    words: list[str] = []
    tokens: list[str] = []
    for match in _RUN.finditer(text.casefold()):
        cjk = match.group("cjk")
        if cjk is None:
            word = match.group("word")
            if word not in _STOPWORDS:
                words.append(word)
            continue
        tokens.extend(t for t in _jieba().lcut(cjk) if t.strip())
        if cjk_ngrams:
            tokens.extend(CHAR_PREFIX + char for char in cjk)
            tokens.extend(PINYIN_PREFIX + syllable for syllable in pinyin(cjk))
    if words:
        tokens.extend(_stemmer().stemWords(words))
    return tokens


def pinyin(cjk: str) -> list[str]:
    """Toneless pinyin of each Han character (kana and Hangul give none).

    Tones are dropped because homophone typos often differ in tone (薇 wēi / 微 wēi but
    利 lì / 粒 lì / 力 lì); pypinyin's phrase dictionary picks the reading of polyphones
    (银行 yin hang, 行长 hang zhang).
    """
    return [s for s in lazy_pinyin(cjk, errors="ignore") if s.isascii() and s.isalpha()]
