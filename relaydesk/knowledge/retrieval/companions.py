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

Chinese questions are read by the multilingual sentence channel, not the English-only
embedder, so their companions are found with that channel's vectors (`find_by_groups`):
one per phrasing group (an FAQ entry's phrasings joined, an article passage). Chinese
confidence is BM25's (the lexical model), and its margin had the same blind spot: "怎么
取消订阅？", an FAQ entry's own title, scored 0.55 because the subscription article's
"取消订阅" section was its closest rival (docs/retrieval.md, section 8).
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
# The same for the sentence channel (USE multilingual), between the rival's best group and
# the nearest group of the top entry. On the demo help center's Chinese dev questions
# 0.7, 0.75 and 0.8 answer the same (one more right answer than without, none wrong; 0.85
# and up as without), and the follow-up dev set is the same at every value; the middle of
# that plateau, which is also the English value (docs/retrieval.md, section 8).
SENTENCE_COMPANION_COSINE = 0.75


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
    top_is_article = _is_article(chunks, top_first)
    found = set()
    for rival in rivals[:COMPANION_CANDIDATES]:
        first, last = chunk_span(group_starts, entry_starts, len(chunks), rival)
        if _is_article(chunks, first) == top_is_article:
            continue
        best = first + int(np.argmax(chunk_dense[first:last]))
        if float(np.max(vectors[top_first:top_last] @ vectors[best])) >= COMPANION_COSINE:
            found.add(rival)
    return frozenset(found)


def _is_article(chunks: Sequence[Chunk], first: int) -> bool:
    return chunks[first].metadata.get("kind") == KIND_PASSAGE


def find_by_groups(
    chunks: Sequence[Chunk],
    group_vectors: fusion.Scores,
    group_row: fusion.Indices,
    group_scores: fusion.Scores,
    group_starts: fusion.Indices,
    entry_starts: fusion.Indices,
    top: int,
    rivals: Sequence[int],
    threshold: float = SENTENCE_COMPANION_COSINE,
) -> frozenset[int]:
    """As `find`, with one vector per phrasing group (the sentence channel's): a rival of
    the other kind whose best group for the query (by `group_scores`) is within
    `threshold` cosine of one of the top entry's groups. `group_row` maps a group to its
    row of `group_vectors` (-1: the group has no vector, e.g. no CJK text)."""
    top_groups = _groups(entry_starts, len(group_starts), top)
    top_rows = group_row[top_groups]
    top_rows = top_rows[top_rows >= 0]
    if not top_rows.size:
        return frozenset()
    top_is_article = _is_article(chunks, int(group_starts[top_groups[0]]))
    found = set()
    for rival in rivals[:COMPANION_CANDIDATES]:
        groups = _groups(entry_starts, len(group_starts), rival)
        if _is_article(chunks, int(group_starts[groups[0]])) == top_is_article:
            continue
        best = int(group_row[groups[int(np.argmax(group_scores[groups]))]])
        if best < 0:
            continue
        if float(np.max(group_vectors[top_rows] @ group_vectors[best])) >= threshold:
            found.add(rival)
    return frozenset(found)


def _groups(entry_starts: fusion.Indices, groups: int, entry: int) -> fusion.Indices:
    """The group numbers of one entry (groups are ordered by entry)."""
    first = int(entry_starts[entry])
    last = int(entry_starts[entry + 1]) if entry + 1 < len(entry_starts) else groups
    return np.arange(first, last, dtype=np.int64)
