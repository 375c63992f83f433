"""Companion entries: an FAQ entry and an article passage that say the same thing.

A hand-written help center often answers one question twice, once as an FAQ entry and
once in an article ("How do I return an item?" and the Returns article's "Return policy"
section). Both are right answers, yet each is the other's closest rival, so the margin
signals (confidence.py) read them as a toss-up and the bot declined questions whose top
hit was right: on a 70-question dev set over the demo help center
(benchmarks/data/demo_kb_dev.jsonl) the runner-up was the top hit's FAQ/article
counterpart for most of the answerable questions. Such a counterpart is not a rival:
margins are taken against the best entry that is not one.

Only pairs of different kinds count (an FAQ entry against an article), and only when
the rival's matching chunk is close in meaning to one of the top entry's chunks: two FAQ
entries are never companions, so a knowledge base of FAQ entries alone (banking77,
where near-duplicate intents are where wrong answers come from) scores as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import fusion
from .chunks import KIND_PASSAGE, Chunk

# Cosine between the rival's best-matching chunk and the nearest chunk of the top entry.
# On the demo dev set, FAQ/article pairs at 0.75 and above were the same topic in 19 of
# 21 cases; below it, mostly different questions on a shared subject (e.g. "damaged item"
# against the "wrong or missing items" section at 0.67).
COMPANION_COSINE = 0.75
# Rivals looked at, in fused order: past the first few a rival no longer sets the margin.
COMPANION_CANDIDATES = 4


def chunk_span(
    group_starts: fusion.Indices, entry_starts: fusion.Indices, chunks: int, entry: int
) -> tuple[int, int]:
    """The [first, last) chunk positions of an entry (chunks are ordered by entry)."""
    first_group = int(entry_starts[entry])
    end_group = int(entry_starts[entry + 1]) if entry + 1 < len(entry_starts) else None
    first = int(group_starts[first_group])
    last = int(group_starts[end_group]) if end_group is not None else chunks
    return first, last


def find(
    chunks: Sequence[Chunk],
    vectors: fusion.Scores,
    chunk_dense: fusion.Scores,
    group_starts: fusion.Indices,
    entry_starts: fusion.Indices,
    top: int,
    rivals: Sequence[int],
) -> frozenset[int]:
    """The rivals (entry positions) that are companions of the top entry."""
    top_first, top_last = chunk_span(group_starts, entry_starts, len(chunks), top)
    top_is_article = chunks[top_first].metadata.get("kind") == KIND_PASSAGE
    found = set()
    for rival in rivals[:COMPANION_CANDIDATES]:
        first, last = chunk_span(group_starts, entry_starts, len(chunks), rival)
        if (chunks[first].metadata.get("kind") == KIND_PASSAGE) == top_is_article:
            continue
        best = first + int(np.argmax(chunk_dense[first:last]))
        if float(np.max(vectors[top_first:top_last] @ vectors[best])) >= COMPANION_COSINE:
            found.add(rival)
    return frozenset(found)
