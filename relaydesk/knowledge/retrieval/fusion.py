"""How phrasing scores become entry scores, and how dense and lexical scores combine.

Plain reciprocal-rank fusion of the two entry rankings scores below dense alone on
banking77-faq (recall@1 0.684 vs 0.756), because BM25 is much weaker there and RRF
weighs the rankings equally. Instead scores are combined on their own scales:

    phrasing group  = PHRASING_MAX_WEIGHT * best phrasing cosine
                      + (1 - PHRASING_MAX_WEIGHT) * cosine to the phrasings' centroid
    fused           = dense_weight * phrasing group + LEXICAL_WEIGHT * BM25 / best BM25
    entry           = its best group

For a mostly-CJK query with an English-only model, the dense weight is 0 and a CJK
semantic channel stands in for it: the lexical part becomes BM25 / best BM25 + a weight
times that channel's cosine. The channel is the packaged multilingual sentence encoder
(sentence.py), at SENTENCE_WEIGHT, or, where that package is not installed, LSA over the
knowledge base's CJK text (latent.py; 0.091 -> 0.097 on bq-faq), at weight 1.

SENTENCE_WEIGHT was chosen by leave-one-dataset-out cross-validation over the two
Chinese dev tasks (`python -m benchmarks.retrieval --cross-validate fusion`, docs/retrieval.md):
the weight best on bq-faq alone is the weight best on atec-faq alone, 2.0 on the grid
0.5-4, and each task's recall@1 at the other's choice is bq-faq 0.1103 -> 0.1119 and
atec-faq 0.1095 -> 0.1197 against the earlier, untuned weight 1. English queries never
reach this channel, so banking77 is unchanged.

BM25 is scored over a group's phrasings joined into one document, so a query word that
appears in any phrasing counts. The defaults were chosen by grid search on a dev split
of banking77 (the 9,618 train.csv rows that are not phrasings, never test.csv) over
max weight {0.3, 0.4, 0.5, 0.6, 1.0} x lexical weight {0, 0.05, 0.1, 0.15, 0.2}; at
these values dev recall@1 is 0.802, MRR@10 0.868 (best phrasing alone: 0.747; with the
title as a phrasing: 0.762; plus the centroid: 0.795). Neighbours score within 0.4 points.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .text import cjk_fraction

Scores = NDArray[np.float32]
Indices = NDArray[np.int64]

PHRASING_MAX_WEIGHT = 0.4
LEXICAL_WEIGHT = 0.1
# A query that is mostly CJK gets no dense weight at all with an English-only model: the
# cosines carry no meaning there, and its confidence comes from the lexical model.
MIN_DENSE_WEIGHT = 0.5
# The sentence channel's weight against BM25 / best BM25 (see the module docstring).
SENTENCE_WEIGHT = 2.0


def dense_weight(query: str, *, multilingual_embedder: bool) -> float:
    """How much the dense score counts for this query.

    all-MiniLM-L6-v2 is English-only: on bq-faq (Chinese) its recall@1 is 0.022, and any
    weight on it only adds noise, so CJK text leans on BM25 in proportion to its share,
    and mostly-CJK text on BM25 alone (bq-faq hybrid recall@1 0.0875 -> 0.0899, up on
    both its odd and even query halves; BM25 alone 0.0907).
    """
    if multilingual_embedder:
        return 1.0
    weight = 1.0 - cjk_fraction(query)
    return weight if weight >= MIN_DENSE_WEIGHT else 0.0


def uses_latent(query: str, *, multilingual_embedder: bool) -> bool:
    """Whether the latent channel scores this query: where no model reads its language.

    Without any model (lexical-only) that is judged as for an English-only one.
    """
    return not multilingual_embedder and dense_weight(query, multilingual_embedder=False) == 0.0


def group_dense_scores(
    chunk_scores: Scores, group_starts: Indices, centroid_scores: Scores
) -> Scores:
    best = np.maximum.reduceat(chunk_scores, group_starts)
    mixed = PHRASING_MAX_WEIGHT * best + (1.0 - PHRASING_MAX_WEIGHT) * centroid_scores
    return np.asarray(mixed, dtype=np.float32)


def normalise_lexical(raw: Scores) -> Scores:
    """BM25 scores divided by the query's best, so they fall in [0, 1]."""
    top = float(raw.max(initial=0.0))
    if top <= 0.0:
        return np.zeros_like(raw)
    return np.asarray(raw / top, dtype=np.float32)


def fuse(
    dense: Scores | None,
    lexical: Scores,
    weight_of_dense: float,
    latent: Scores | None = None,
    latent_weight: float = 1.0,
) -> Scores:
    if latent is not None:
        lexical = np.asarray(lexical + latent_weight * latent, dtype=np.float32)
    if dense is None:
        return lexical
    return np.asarray(weight_of_dense * dense + LEXICAL_WEIGHT * lexical, dtype=np.float32)


def best_per_entry(group_scores: Scores, entry_starts: Indices) -> Scores:
    """Each entry's score is its best group's (entries occupy contiguous group ranges)."""
    return np.asarray(np.maximum.reduceat(group_scores, entry_starts), dtype=np.float32)


def top_k(scores: Scores, k: int) -> Indices:
    """Indices of the k highest scores, best first."""
    k = min(k, scores.shape[0])
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    candidates = np.argpartition(-scores, k - 1)[:k]
    return np.asarray(candidates[np.argsort(-scores[candidates], kind="stable")], dtype=np.int64)
