"""The hybrid index: dense, BM25 and (for CJK) sentence or LSA scores, ranked by entry."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Literal

import numpy as np

from . import companions, exact, fusion
from .chunks import Chunk, Hit
from .confidence import (
    HYBRID_MODEL,
    LEXICAL_MODEL,
    SENTENCE_MODEL,
    HitSignals,
    size_invariant,
)
from .dense import ChromaVectorStore
from .embedding import Embedder, Vectors, normalize_rows
from .execution import run_search, single_threaded_blas
from .latent import LatentBasis, LatentIndex
from .lexical import LexicalIndex
from .sentence import SentenceEncoder, SentenceIndex, bundled_encoder
from .signals import SUPPORT_NEIGHBOURS, SignalContext

log = logging.getLogger(__name__)

SearchMode = Literal["hybrid", "bm25", "dense"]
# HybridIndex(cjk_encoder=BUNDLED): the packaged multilingual sentence encoder if installed.
BUNDLED: Literal["bundled"] = "bundled"


@dataclass(frozen=True)
class _Snapshot:
    """Everything a search reads, replaced whole on every change (searches take no lock).

    Chunks are ordered by entry, then group, so per-group and per-entry maxima are
    contiguous `reduceat` segments.
    """

    chunks: list[Chunk]
    entry_ids: list[str]
    group_starts: fusion.Indices  # first chunk of each group
    entry_starts: fusion.Indices  # first group of each entry
    group_entry: fusion.Indices
    chunk_group: fusion.Indices
    vectors: Vectors | None
    centroids: Vectors | None
    lexical: LexicalIndex  # one document per group: its chunks' texts joined
    latent: LatentIndex  # over the same documents (those with CJK text)
    # Also over the CJK documents; when active it replaces the latent channel.
    sentence: SentenceIndex
    # Each group's row in `sentence.vectors`, -1 for a group without one.
    sentence_row: fusion.Indices
    # Each listed phrasing's key -> its chunk's position in `chunks` (exact.py).
    phrasings: dict[str, int]


def _build_snapshot(
    chunks: Iterable[Chunk],
    vectors: dict[str, Vectors] | None,
    cjk_ngrams: bool,
    latent_basis: LatentBasis | None = None,
    cjk_encoder: SentenceEncoder | None = None,
    previous_sentence: SentenceIndex | None = None,
) -> _Snapshot:
    ordered = sorted(chunks, key=lambda c: (c.entry_id, c.group_key, c.chunk_id))
    group_starts: list[int] = []
    entry_starts: list[int] = []
    group_entry: list[int] = []
    group_texts: list[str] = []
    entry_ids: list[str] = []
    position = 0
    for entry_id, entry_chunks in groupby(ordered, key=lambda c: c.entry_id):
        entry_starts.append(len(group_starts))
        entry_ids.append(entry_id)
        for _, members in groupby(entry_chunks, key=lambda c: c.group_key):
            texts = [c.text for c in members]
            group_starts.append(position)
            group_entry.append(len(entry_ids) - 1)
            group_texts.append("\n".join(texts))
            position += len(texts)
    group_ends = [*group_starts[1:], position] if group_starts else []
    matrix = centroids = None
    if vectors is not None and ordered:
        matrix = np.vstack([vectors[c.chunk_id] for c in ordered]).astype(np.float32)
        centroids = normalize_rows(np.add.reduceat(matrix, group_starts, axis=0))
    lexical = LexicalIndex(group_texts, cjk_ngrams=cjk_ngrams)
    # Plain jieba BM25 (cjk_ngrams=False) is the benchmark's baseline: nothing added to it.
    # A multilingual sentence encoder, where there is one, stands in for LSA (sentence.py).
    sentence = SentenceIndex.empty(len(group_texts))
    latent = LatentIndex.empty(len(group_texts))
    if cjk_ngrams and cjk_encoder is not None:
        sentence = SentenceIndex.build(group_texts, cjk_encoder, previous_sentence)
    elif cjk_ngrams:
        latent = LatentIndex.build(group_texts, lexical.document_tokens, latent_basis)
    sentence_row = np.full(len(group_texts), -1, dtype=np.int64)
    sentence_row[sentence.documents] = np.arange(len(sentence.documents), dtype=np.int64)
    return _Snapshot(
        chunks=ordered,
        entry_ids=entry_ids,
        group_starts=np.asarray(group_starts, dtype=np.int64),
        entry_starts=np.asarray(entry_starts, dtype=np.int64),
        group_entry=np.asarray(group_entry, dtype=np.int64),
        chunk_group=np.repeat(
            np.arange(len(group_starts), dtype=np.int64),
            [end - start for start, end in zip(group_starts, group_ends, strict=True)],
        ),
        vectors=matrix,
        centroids=centroids,
        lexical=lexical,
        latent=latent,
        sentence=sentence,
        sentence_row=sentence_row,
        phrasings=exact.phrasing_table(ordered),
    )


class HybridIndex:
    """Ranked FAQ entries and article chunks for a query; thread-safe.

    Without an embedder it runs lexical-only (`lexical_only`), and `set_embedder`
    upgrades it in place. With a `store`, vectors persist in Chroma and are reused
    whenever a chunk's text and the model are unchanged. `cjk_encoder` scores CJK text
    where the embedder cannot read it: by default the packaged multilingual sentence
    encoder (sentence.py), falling back to LSA (latent.py) if it is not installed or is
    None.
    """

    def __init__(
        self,
        embedder: Embedder | None,
        store: ChromaVectorStore | None = None,
        *,
        cjk_ngrams: bool = True,
        cjk_encoder: SentenceEncoder | Literal["bundled"] | None = BUNDLED,
        cjk_sentence_confidence: bool = False,
    ) -> None:
        single_threaded_blas()  # searches run side by side, one core each (execution.py)
        self._embedder = embedder
        # Off: Chinese confidence is BM25's (the lexical model). The sentence-channel model
        # (confidence.SENTENCE_MODEL) was tried and not adopted: held out, it answered 11%
        # of bq-faq wrongly (budget 5%), and on the demo help center's dev sets it answered
        # fewer Chinese questions (4 of 12 vs 7; follow-ups 9 of 14 vs 12), the entry's own
        # phrasings included (docs/retrieval.md). The cross-validation script turns it on.
        self._cjk_sentence_confidence = cjk_sentence_confidence
        self._cjk_encoder = bundled_encoder() if cjk_encoder == BUNDLED else cjk_encoder
        self._store = store
        self._cjk_ngrams = cjk_ngrams
        self._chunks: dict[str, Chunk] = {}
        self._vectors: dict[str, tuple[str, Vectors]] = {}  # chunk id -> (text digest, vector)
        self._write_lock = threading.Lock()
        if embedder is not None and store is not None:
            store.bind(embedder.model_id)
        self._snapshot = _build_snapshot([], None, cjk_ngrams, cjk_encoder=self._cjk_encoder)

    @property
    def lexical_only(self) -> bool:
        return self._embedder is None

    @property
    def chunk_count(self) -> int:
        return len(self._snapshot.chunks)

    @property
    def entry_count(self) -> int:
        return len(self._snapshot.entry_ids)

    # Writes

    def upsert(self, chunks: Iterable[Chunk]) -> None:
        """Index `chunks`, replacing every chunk of each entry they belong to."""
        incoming = list(chunks)
        with self._write_lock:
            entries = {c.entry_id for c in incoming}
            stale = [cid for cid, c in self._chunks.items() if c.entry_id in entries]
            incoming_ids = {c.chunk_id for c in incoming}
            self._forget([cid for cid in stale if cid not in incoming_ids])
            self._chunks.update((c.chunk_id, c) for c in incoming)
            self._embed_missing(incoming)
            self._publish()

    def replace_all(self, chunks: Iterable[Chunk]) -> None:
        """Make the index hold exactly `chunks` (e.g. at start-up, from the database)."""
        incoming = list(chunks)
        with self._write_lock:
            incoming_ids = {c.chunk_id for c in incoming}
            self._forget([cid for cid in self._chunks if cid not in incoming_ids])
            if self._store is not None and self._embedder is not None:
                stored_ids = {c.chunk_id for c, _ in self._store.chunks()}
                self._store.delete(sorted(stored_ids - incoming_ids))
            self._chunks = {c.chunk_id: c for c in incoming}
            self._embed_missing(incoming)
            self._publish()

    def delete_entries(self, entry_ids: Iterable[str]) -> None:
        doomed = set(entry_ids)
        with self._write_lock:
            self._forget([cid for cid, c in self._chunks.items() if c.entry_id in doomed])
            if self._store is not None and self._embedder is not None:
                self._store.delete_entries(sorted(doomed))
            self._publish()

    def load_from_store(self) -> int:
        """Rebuild the index from the Chroma store alone; returns the chunk count."""
        if self._store is None or self._embedder is None:
            raise RuntimeError("loading needs both a store and an embedder")
        stored = self._store.chunks()
        with self._write_lock:
            self._chunks = {c.chunk_id: c for c, _ in stored}
            self._vectors = {c.chunk_id: (c.text_digest, v) for c, v in stored}
            self._publish()
        return len(stored)

    def set_embedder(self, embedder: Embedder) -> None:
        """Start using (or switch) the embedding model; embeds what the model lacks."""
        with self._write_lock:
            if self._embedder is not None and self._embedder.model_id == embedder.model_id:
                return
            self._embedder = embedder
            self._vectors = {}
            if self._store is not None:
                self._store.bind(embedder.model_id)
            self._embed_missing(list(self._chunks.values()))
            self._publish()
        log.info("knowledge retrieval now uses embeddings from %s", embedder.model_id)

    def _forget(self, chunk_ids: Sequence[str]) -> None:
        for chunk_id in chunk_ids:
            self._chunks.pop(chunk_id, None)
            self._vectors.pop(chunk_id, None)
        if chunk_ids and self._store is not None and self._embedder is not None:
            self._store.delete(list(chunk_ids))

    def _embed_missing(self, chunks: Sequence[Chunk]) -> None:
        if self._embedder is None:
            return
        missing = [c for c in chunks if self._vectors.get(c.chunk_id, ("",))[0] != c.text_digest]
        if self._store is not None and missing:
            stored = self._store.vectors([c.chunk_id for c in missing])
            for chunk in missing:
                hit = stored.get(chunk.chunk_id)
                if hit is not None and hit.text_digest == chunk.text_digest:
                    self._vectors[chunk.chunk_id] = (chunk.text_digest, hit.vector)
            missing = [
                c
                for c in missing
                if c.chunk_id not in stored or stored[c.chunk_id].text_digest != c.text_digest
            ]
        if not missing:
            return
        vectors = self._embedder.embed([c.text for c in missing])
        for chunk, vector in zip(missing, vectors, strict=True):
            self._vectors[chunk.chunk_id] = (chunk.text_digest, vector)
        if self._store is not None:
            self._store.upsert(missing, vectors)

    def _publish(self) -> None:
        vectors = None
        if self._embedder is not None:
            vectors = {cid: vector for cid, (_, vector) in self._vectors.items()}
        self._snapshot = _build_snapshot(
            self._chunks.values(),
            vectors,
            self._cjk_ngrams,
            self._snapshot.latent.basis,
            self._cjk_encoder,
            self._snapshot.sentence,
        )

    # Reads

    def exact_entry(self, query: str) -> str | None:
        """The entry that lists `query` word for word as one of its phrasings, if exactly
        one does (exact.py): `search` ranks it first, at least EXACT_PHRASING_CONFIDENCE."""
        snap = self._snapshot
        position = exact.lookup(snap.phrasings, query)
        return None if position == exact.SHARED else snap.chunks[position].entry_id

    def search(self, query: str, k: int = 5, *, mode: SearchMode = "hybrid") -> list[Hit]:
        """The k best entries for `query`, each once at its best chunk, best first."""
        return [hit for hit, _ in self.search_with_signals(query, k, mode=mode)]

    def search_with_signals(
        self, query: str, k: int = 5, *, mode: SearchMode = "hybrid"
    ) -> list[tuple[Hit, HitSignals]]:
        """As `search`, with each hit's confidence inputs (to fit or inspect confidence)."""
        snap = self._snapshot
        embedder = self._embedder
        if not snap.entry_ids or k <= 0:
            return []
        dense_ready = embedder is not None and snap.vectors is not None
        if mode == "dense" and not dense_ready:
            raise RuntimeError("dense search needs an embedding model")

        chunk_dense = group_dense = centroid_dense = None
        # With a zero dense weight (a mostly-CJK query and an English-only model) the
        # query's embedding would be computed only to be multiplied by 0: skip it. It was
        # most of a Chinese query's CPU (7 of 12 ms on bq-faq); the ranking is the same,
        # as the fused score below is then exactly what it was.
        weight = 1.0
        if embedder is not None and mode == "hybrid":
            weight = fusion.dense_weight(query, multilingual_embedder=embedder.multilingual)
        if mode != "bm25" and weight > 0.0 and embedder is not None and snap.vectors is not None:
            assert snap.centroids is not None
            query_vector = embedder.embed([query])[0]
            chunk_dense = snap.vectors @ query_vector
            centroid_dense = snap.centroids @ query_vector
            group_dense = fusion.group_dense_scores(chunk_dense, snap.group_starts, centroid_dense)
        tokens = snap.lexical.query_tokens(query)
        group_lexical = fusion.normalise_lexical(snap.lexical.scores(tokens))
        latent = sentence = None
        latent_weight = 1.0
        multilingual = embedder is not None and embedder.multilingual
        if mode == "hybrid" and fusion.uses_latent(query, multilingual_embedder=multilingual):
            if snap.sentence.active and len(snap.sentence.documents):
                latent = sentence = snap.sentence.scores(query)
                latent_weight = fusion.SENTENCE_WEIGHT
            elif not snap.sentence.active:
                latent = snap.latent.scores(tokens)
            # else no CJK document: nothing to score, and confidence is BM25's (lexical)

        if weight == 0.0 and dense_ready:
            # Scaled as when dense scores were fused at weight 0, so ties break as before.
            # An English-only model's cosines between Chinese texts are high whatever they
            # say, so they never reach confidence: the sentence channel stands in for them.
            fused = fusion.fuse(
                np.zeros_like(group_lexical), group_lexical, 0.0, latent, latent_weight
            )
        elif group_dense is None:
            fused = fusion.fuse(None, group_lexical, 0.0, latent, latent_weight)
        elif mode == "dense":
            fused = group_dense
        else:
            fused = fusion.fuse(group_dense, group_lexical, weight, latent)

        entry_scores = fusion.best_per_entry(fused, snap.entry_starts)
        ranked = [int(e) for e in fusion.top_k(entry_scores, k + 1)]
        # The query is word for word one entry's listed phrasing: that entry comes first,
        # whatever the scores (hybrid only: bm25 and dense are the benchmarks' baselines).
        own = exact.lookup(snap.phrasings, query) if mode == "hybrid" else exact.SHARED
        own_entry = -1
        if own != exact.SHARED:
            own_entry = int(snap.group_entry[snap.chunk_group[own]])
            ranked = [own_entry, *(e for e in ranked if e != own_entry)][: k + 1]
        entry_lexical = fusion.best_per_entry(group_lexical, snap.entry_starts)
        # A CJK query read by the sentence channel: its confidence comes from that channel
        # and BM25 together (the sentence model), not from BM25 alone.
        cjk_semantic = (
            self._cjk_sentence_confidence and sentence is not None and group_dense is None
        )
        semantic = group_dense if group_dense is not None else sentence
        if cjk_semantic:
            assert sentence is not None
            # On one scale whatever the embedder: fused scores carry LEXICAL_WEIGHT with one.
            signal_scores = fusion.best_per_entry(
                fusion.fuse(None, group_lexical, 0.0, sentence, latent_weight), snap.entry_starts
            )
        elif group_dense is not None:
            signal_scores = entry_scores
        else:
            # The lexical model was fitted on normalised BM25 scores, not fused ones.
            signal_scores = entry_lexical
        context = SignalContext(
            entry_scores=signal_scores,
            entry_lexical=entry_lexical,
            entry_dense=(
                fusion.best_per_entry(semantic, snap.entry_starts) if semantic is not None else None
            ),
            query_tokens=len(tokens),
            entries=len(snap.entry_ids),
        )
        if cjk_semantic:
            assert sentence is not None
            nearest_groups = fusion.top_k(sentence, SUPPORT_NEIGHBOURS)
            nearest_entries = snap.group_entry[nearest_groups]
        if chunk_dense is not None:
            entry_phrasing = np.maximum.reduceat(chunk_dense, snap.group_starts[snap.entry_starts])
            nearest = fusion.top_k(chunk_dense, SUPPORT_NEIGHBOURS)
            nearest_entries = snap.group_entry[snap.chunk_group[nearest]]
        if cjk_semantic:
            model = SENTENCE_MODEL
        else:
            model = LEXICAL_MODEL if group_dense is None else HYBRID_MODEL

        results = []
        top_companions: frozenset[int] = frozenset()
        if chunk_dense is not None and group_dense is not None and snap.vectors is not None:
            top_companions = companions.find(
                snap.chunks,
                snap.vectors,
                chunk_dense,
                snap.group_starts,
                snap.entry_starts,
                ranked[0],
                ranked[1:],
            )
        # A Chinese question judged by BM25 (the lexical model): its top hit's margins skip
        # companions too, found with the sentence channel's vectors (companions.py).
        sentence_companions: frozenset[int] = frozenset()
        if sentence is not None and group_dense is None and not cjk_semantic:
            sentence_companions = companions.find_by_groups(
                snap.chunks,
                snap.sentence.vectors,
                snap.sentence_row,
                sentence,
                snap.group_starts,
                snap.entry_starts,
                ranked[0],
                ranked[1:],
                # Read here, not bound as the default: the tests switch it off.
                companions.SENTENCE_COMPANION_COSINE,
            )
        for entry in ranked[:k]:
            group = _best_in_range(fused, snap.entry_starts, entry)
            if cjk_semantic:
                assert sentence is not None
                chunk = snap.chunks[int(snap.group_starts[group])]
                signals = context.signals(
                    entry,
                    snap.lexical.coverage(tokens, group),
                    dense=float(sentence[group]),
                    support=float(np.mean(nearest_entries == entry)),
                )
            elif chunk_dense is None or group_dense is None:
                chunk = snap.chunks[int(snap.group_starts[group])]
                signals = context.signals(
                    entry,
                    snap.lexical.coverage(tokens, group),
                    companions=sentence_companions if entry == ranked[0] else frozenset(),
                )
            else:
                chunk = snap.chunks[_best_in_range(chunk_dense, snap.group_starts, group)]
                signals = context.signals(
                    entry,
                    snap.lexical.coverage(tokens, group),
                    dense=float(group_dense[group]),
                    phrasing=float(entry_phrasing[entry]),
                    centroid=float(centroid_dense[group]) if centroid_dense is not None else 0.0,
                    support=float(np.mean(nearest_entries == entry)),
                    # Only the top hit's margins: it is the one the bot answers with.
                    companions=top_companions if entry == ranked[0] else frozenset(),
                )
            confidence = model(signals)
            if model is HYBRID_MODEL:
                confidence = size_invariant(confidence, signals.entries)
            if entry == own_entry:
                chunk = snap.chunks[own]  # the phrasing it is, as the matched text
                confidence = max(confidence, exact.EXACT_PHRASING_CONFIDENCE)
            hit = Hit(
                entry_id=snap.entry_ids[entry],
                chunk_id=chunk.chunk_id,
                score=signals.score,
                confidence=confidence,
                text=chunk.text,
                metadata=dict(chunk.metadata),
            )
            results.append((hit, signals))
        return results

    # Async wrappers: embedding and index builds take long enough to stall the event loop.

    async def asearch(self, query: str, k: int = 5, *, mode: SearchMode = "hybrid") -> list[Hit]:
        # The bounded search workers, not the default pool: see execution.py.
        return await run_search(self.search, query, k, mode=mode)

    async def aupsert(self, chunks: Iterable[Chunk]) -> None:
        await asyncio.to_thread(self.upsert, list(chunks))

    async def areplace_all(self, chunks: Iterable[Chunk]) -> None:
        await asyncio.to_thread(self.replace_all, list(chunks))

    async def adelete_entries(self, entry_ids: Iterable[str]) -> None:
        await asyncio.to_thread(self.delete_entries, list(entry_ids))


def _best_in_range(scores: fusion.Scores, starts: fusion.Indices, segment: int) -> int:
    """Index of the highest score within one `reduceat` segment."""
    first = int(starts[segment])
    last = int(starts[segment + 1]) if segment + 1 < len(starts) else len(scores)
    return first + int(np.argmax(scores[first:last]))
