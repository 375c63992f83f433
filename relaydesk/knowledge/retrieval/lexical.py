"""BM25 (bm25s) over documents tokenised by `text.tokenize`."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import bm25s
import numpy as np
from numpy.typing import NDArray

from .text import tokenize

Scores = NDArray[np.float32]


class LexicalIndex:
    """An immutable BM25 index; build a new one when the documents change.

    Rebuilding is cheap (10,000 short documents take well under a second, as their tokens
    are cached) and keeps searches lock-free: a search holds on to the index it started with.
    """

    def __init__(self, documents: Sequence[str], *, cjk_ngrams: bool = True) -> None:
        self._cjk_ngrams = cjk_ngrams
        self.document_tokens = [_document_tokens(doc, cjk_ngrams) for doc in documents]
        self._token_sets = [frozenset(tokens) for tokens in self.document_tokens]
        self._size = len(documents)
        self._bm25: bm25s.BM25 | None = None
        if any(self.document_tokens):
            self._bm25 = bm25s.BM25()
            self._bm25.index([list(t) for t in self.document_tokens], show_progress=False)

    def __len__(self) -> int:
        return self._size

    def query_tokens(self, query: str) -> list[str]:
        return tokenize(query, cjk_ngrams=self._cjk_ngrams)

    def scores(self, query_tokens: Sequence[str]) -> Scores:
        """BM25 score of every document (zeros when no query token is indexed)."""
        if self._bm25 is None:
            return np.zeros(self._size, dtype=np.float32)
        known = [t for t in query_tokens if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def coverage(self, query_tokens: Sequence[str], document: int) -> float:
        """Share of the query's distinct tokens that occur in the document.

        Unlike a BM25 score this is comparable across queries, so it feeds confidence.
        """
        distinct = set(query_tokens)
        if not distinct:
            return 0.0
        return len(distinct & self._token_sets[document]) / len(distinct)


@lru_cache(maxsize=50_000)
def _document_tokens(document: str, cjk_ngrams: bool) -> tuple[str, ...]:
    # Every write rebuilds the whole index, and jieba plus pinyin cost about 0.3 ms per
    # Chinese document, so unchanged documents are not tokenised again.
    return tuple(tokenize(document, cjk_ngrams=cjk_ngrams))
