"""Knowledge-base search for the bot and the REST API: one hybrid index per site.

Each process keeps, per site, a `HybridIndex` built from the site's published articles and
FAQ entries (lazily, on the site's first search, or by `warm_up` at start-up). Vectors live
in Chroma: the data dir's embedded Chroma (opened by the serving process only), or the
Chroma server at `RELAYDESK_CHROMA_URL`; one collection per site, so rebuilding one site
never touches another's vectors.

Convergence between processes: every change that affects retrieval bumps the site's
knowledge-base version in the database, in the change's own transaction. Before a search
the site's version is read (at most once a second per site), and if it moved, the index
re-reads only the entries whose row revision changed. The process that made a change
applies it right after its commit, so its own searches see the change at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select

from relaydesk.core import state
from relaydesk.core.config import Settings, get_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Site
from relaydesk.core.state import AppState, Slot
from relaydesk.knowledge import published
from relaydesk.knowledge.chunking import (
    snippet,
)
from relaydesk.knowledge.models import Article, ContentStatus, FaqEntry
from relaydesk.knowledge.retrieval import (
    ChromaVectorStore,
    Chunk,
    Embedder,
    Hit,
    HybridIndex,
    resolve_embedder,
)

log = logging.getLogger(__name__)

VERSION_TTL_SECONDS = 1.0
MODEL_RETRY_SECONDS = 300.0
MAX_QUERY_CHARS = 1_000
MAX_K = 50
COLLECTION_PREFIX = "relaydesk_site_"


@dataclass(frozen=True)
class KnowledgeHit:
    entry_id: str  # "article:<id>" or "faq:<id>"
    external_id: str | None
    title: str
    snippet: str
    url: str | None
    score: float
    confidence: float
    kind: str  # "article" or "faq"
    # What an answer may be built from: the FAQ entry's answer, or the article passage.
    text: str
    # The chunk that matched: a question phrasing, the answer, or the passage with its
    # title and heading path.
    matched_text: str
    chunk_id: str
    heading_path: list[str] = field(default_factory=list)
    locale: str = "en"

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class SearchResult:
    hits: list[KnowledgeHit]
    took_ms: float
    lexical_only: bool


@dataclass
class _SiteIndex:
    index: HybridIndex
    version: int
    revisions: dict[str, int]  # entry id -> row revision it was indexed at
    checked_at: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class IndexManager:
    """The per-site indexes of one process."""

    def __init__(
        self,
        settings: Settings,
        *,
        version_ttl: float = VERSION_TTL_SECONDS,
        embedder: Embedder | None = None,
        use_store: bool = True,
    ) -> None:
        self.settings = settings
        self.version_ttl = version_ttl
        self._embedder = embedder
        self._embedder_resolved_at: float | None = time.monotonic() if embedder else None
        self._use_store = use_store
        self._sites: dict[int, _SiteIndex] = {}
        self._site_locks: dict[int, asyncio.Lock] = {}
        self._resolve_lock: asyncio.Lock | None = None
        self.store_error: str | None = None
        # Set once start-up has resolved the model and built the indexes of every site
        # with content (`warm_up`): from then on a question is answered without waiting.
        self.warmed_up = False

    # Embedding model

    @property
    def mode(self) -> str:
        if self._embedder_resolved_at is None:
            return "starting"
        return "lexical-only" if self._embedder is None else "hybrid"

    @property
    def model_id(self) -> str | None:
        return self._embedder.model_id if self._embedder is not None else None

    async def embedder(self) -> Embedder | None:
        """The embedding model, resolved once; while there is none, retried every few
        minutes (without downloading), so retrieval upgrades itself when one appears."""
        now = time.monotonic()
        resolved = self._embedder_resolved_at
        if resolved is not None and (
            self._embedder is not None or now - resolved < MODEL_RETRY_SECONDS
        ):
            return self._embedder
        if self._resolve_lock is None:
            self._resolve_lock = asyncio.Lock()
        async with self._resolve_lock:
            if self._embedder_resolved_at == resolved:
                first = resolved is None
                embedder = await asyncio.to_thread(
                    resolve_embedder, self.settings, allow_download=first
                )
                self._embedder_resolved_at = time.monotonic()
                if embedder is not None and self._embedder is None:
                    self._embedder = embedder
                    if not first:
                        log.info("an embedding model appeared: rebuilding hybrid indexes")
                    self._sites.clear()  # rebuilt lazily with embeddings
        return self._embedder

    # Stores

    def _make_store(self, site_id: int) -> ChromaVectorStore | None:
        if not self._use_store:
            return None
        name = f"{COLLECTION_PREFIX}{site_id}"
        try:
            if self.settings.chroma_url:
                return ChromaVectorStore.http(self.settings.chroma_url, name)
            path = Path(self.settings.data_dir) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            return ChromaVectorStore.persistent(path, name)
        except Exception as exc:  # Chroma unreachable: vectors stay in memory this time
            self.store_error = f"{type(exc).__name__}: {exc}"
            log.warning("Chroma is unavailable (%s); vectors are kept in memory", self.store_error)
            return None

    def _new_index(
        self, site_id: int, embedder: Embedder | None, chunks: list[Chunk]
    ) -> HybridIndex:
        store = self._make_store(site_id) if embedder is not None else None
        try:
            index = HybridIndex(embedder, store)
            index.replace_all(chunks)
        except Exception as exc:
            if store is None:
                raise
            self.store_error = f"{type(exc).__name__}: {exc}"
            log.warning("Chroma failed (%s); vectors are kept in memory", self.store_error)
            index = HybridIndex(embedder, None)
            index.replace_all(chunks)
        return index

    # Building and refreshing

    def _site_lock(self, site_id: int) -> asyncio.Lock:
        lock = self._site_locks.get(site_id)
        if lock is None:
            lock = self._site_locks[site_id] = asyncio.Lock()
        return lock

    async def _build(self, db: Database, site_id: int) -> _SiteIndex:
        embedder = await self.embedder()
        version = await published.read_kb_version(db, site_id)
        rows = await published.published_rows(db, site_id, None)
        chunks, revisions = await asyncio.to_thread(published.chunks_of, rows)
        started = time.perf_counter()
        index = await asyncio.to_thread(self._new_index, site_id, embedder, chunks)
        log.info(
            "knowledge index of site %s: %d entries, %d chunks, %s, built in %.1f s",
            site_id,
            len(revisions),
            len(chunks),
            "lexical-only" if embedder is None else "hybrid",
            time.perf_counter() - started,
        )
        return _SiteIndex(index, version, revisions, time.monotonic())

    async def index_for(self, db: Database, site_id: int) -> HybridIndex:
        """The site's index, built if needed and brought up to date with the database."""
        if self._embedder is None:
            await self.embedder()
        state = self._sites.get(site_id)
        if state is None:
            async with self._site_lock(site_id):
                state = self._sites.get(site_id)
                if state is None:
                    state = await self._build(db, site_id)
                    self._sites[site_id] = state
            return state.index
        if time.monotonic() - state.checked_at >= self.version_ttl:
            state.checked_at = time.monotonic()
            if await published.read_kb_version(db, site_id) != state.version:
                await self._refresh(db, site_id, state)
        return state.index

    async def _refresh(
        self,
        db: Database,
        site_id: int,
        state: _SiteIndex,
        *,
        changed: Collection[str] | None = None,
        expected_version: int | None = None,
    ) -> None:
        async with state.lock:
            version = await published.read_kb_version(db, site_id)
            if version == state.version:
                return
            if changed is not None and expected_version == version and state.version == version - 1:
                # Exactly one change since this index was current: the one we were told of.
                keys = set(changed)
            else:
                current = await published.published_revisions(db, site_id)
                keys = {k for k, r in current.items() if state.revisions.get(k) != r}
                keys |= set(state.revisions) - set(current)
            rows = await published.published_rows(db, site_id, keys) if keys else []
            chunks, revisions = await asyncio.to_thread(published.chunks_of, rows)
            gone = keys - set(revisions)
            if chunks:
                await state.index.aupsert(chunks)
            if gone:
                await state.index.adelete_entries(sorted(gone))
            for key in gone:
                state.revisions.pop(key, None)
            state.revisions.update(revisions)
            state.version = version
            state.checked_at = time.monotonic()

    async def apply(
        self, db: Database, *, site_id: int, entry_ids: Collection[str], kb_version: int
    ) -> None:
        """After a committed change: re-index just those entries (if the site is loaded)."""
        state = self._sites.get(site_id)
        if state is None:
            return
        try:
            await self._refresh(db, site_id, state, changed=entry_ids, expected_version=kb_version)
        except Exception:
            # The change is committed; the next search's version check retries the refresh.
            log.exception("re-indexing site %s after a change failed", site_id)
            state.version = -1

    async def rebuild(self, db: Database, *, site_id: int) -> tuple[int, int]:
        """Rebuild the site's index from the database; (entries, chunks)."""
        async with self._site_lock(site_id):
            self._sites.pop(site_id, None)
            state = await self._build(db, site_id)
            self._sites[site_id] = state
        return state.index.entry_count, state.index.chunk_count

    def loaded_sites(self) -> list[int]:
        return sorted(self._sites)

    # Searching

    async def search(self, db: Database, *, site_id: int, query: str, k: int = 5) -> SearchResult:
        started = time.perf_counter()
        query = " ".join(query.split())[:MAX_QUERY_CHARS]
        k = max(0, min(int(k), MAX_K))
        index = await self.index_for(db, site_id)
        hits = await index.asearch(query, k) if query and k else []
        return SearchResult(
            hits=[_knowledge_hit(hit) for hit in hits],
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            lexical_only=index.lexical_only,
        )


def _knowledge_hit(hit: Hit) -> KnowledgeHit:
    meta = hit.metadata
    kind = str(meta.get("entry_kind") or ("faq" if hit.entry_id.startswith("faq:") else "article"))
    if kind == "faq":
        text = str(meta.get("answer") or hit.text)
    else:
        text = str(meta.get("passage") or hit.text)
    external = meta.get("external_id")
    url = meta.get("url")
    return KnowledgeHit(
        entry_id=hit.entry_id,
        external_id=str(external) if external is not None else None,
        title=str(meta.get("title") or ""),
        snippet=snippet(text),
        url=url if isinstance(url, str) else None,
        score=round(float(hit.score), 6),
        confidence=round(float(hit.confidence), 6),
        kind=kind,
        text=text,
        matched_text=hit.text,
        chunk_id=hit.chunk_id,
        heading_path=[str(h) for h in meta.get("heading_path") or []],
        locale=str(meta.get("locale") or "en"),
    )


# The app's manager: one per app state (core/state.py), made on first use.

INDEX_MANAGER: Slot[IndexManager] = Slot(
    "knowledge.index_manager", lambda app: IndexManager(get_settings())
)


def _manager_key(settings: Settings) -> tuple[Any, ...]:
    return (
        str(Path(settings.data_dir).resolve()),
        settings.chroma_url,
        str(settings.embedding_model_dir),
        settings.embedding_provider,
        settings.embedding_model,
        settings.effective_database_url,
    )


def get_index_manager(settings: Settings | None = None) -> IndexManager:
    settings = settings or get_settings()
    app = state.current(settings)
    manager = app.peek(INDEX_MANAGER)
    # A test that overrides the data dir or the model gets a manager for them.
    if manager is None or _manager_key(manager.settings) != _manager_key(settings):
        manager = IndexManager(settings)
        app.put(INDEX_MANAGER, manager)
    return manager


def retrieval_status(app: AppState) -> dict[str, Any]:
    """For /readyz: which retrieval mode the app runs in."""
    manager = app.peek(INDEX_MANAGER)
    if manager is None:
        return {"mode": "not started", "ready": False}
    status: dict[str, Any] = {
        "mode": manager.mode,
        "ready": manager.warmed_up,
        "sites_loaded": len(manager.loaded_sites()),
    }
    if manager.model_id:
        status["model"] = manager.model_id
    status["vector_store"] = "chroma server" if manager.settings.chroma_url else "embedded chroma"
    if manager.store_error:
        status["vector_store_error"] = manager.store_error
    return status


async def sites_with_content(db: Database) -> list[int]:
    async with db.read() as session:
        articles = await session.execute(
            select(Article.site_id).where(Article.status == ContentStatus.PUBLISHED).distinct()
        )
        faqs = await session.execute(
            select(FaqEntry.site_id).where(FaqEntry.status == ContentStatus.PUBLISHED).distinct()
        )
        return sorted(set(articles.scalars()) | set(faqs.scalars()))


async def warm_up(db: Database, settings: Settings | None = None) -> None:
    """Resolve the model and build every site's index (start-up, in the background)."""
    manager = get_index_manager(settings)
    try:
        await manager.embedder()
        for site_id in await sites_with_content(db):
            await manager.index_for(db, site_id)
    except Exception:
        log.exception("warming up the knowledge indexes failed; they build on first search")
    manager.warmed_up = True


# The bot's API


async def search(
    db: Database,
    *,
    site_id: int,
    query: str,
    k: int = 5,
    manager: IndexManager | None = None,
) -> SearchResult:
    """The k best published articles passages / FAQ entries of the site for `query`."""
    return await (manager or get_index_manager()).search(db, site_id=site_id, query=query, k=k)


def _primary(locale: str) -> str:
    return locale.strip().replace("_", "-").split("-")[0].lower()


async def suggestions(db: Database, *, site_id: int, locale: str, limit: int = 4) -> list[str]:
    """FAQ questions to offer as quick replies: the first phrasing of the site's first
    published FAQ entries in the visitor's language (else the site's default language)."""
    limit = max(0, min(int(limit), 20))
    if not limit:
        return []
    async with db.read() as session:
        default = (
            await session.execute(select(Site.default_locale).where(Site.id == site_id))
        ).scalar_one_or_none()
        for language in dict.fromkeys(x for x in (_primary(locale), _primary(default or "")) if x):
            rows = await session.execute(
                select(FaqEntry.title, FaqEntry.questions)
                .where(
                    FaqEntry.site_id == site_id,
                    FaqEntry.status == ContentStatus.PUBLISHED,
                    or_(
                        func.lower(FaqEntry.locale) == language,
                        func.lower(FaqEntry.locale).like(f"{language}-%"),
                    ),
                )
                .order_by(col(FaqEntry.id))
                .limit(limit * 3)
            )
            found: list[str] = []
            for title, questions in rows.all():
                question = (questions[0] if questions else title).strip()
                if question and question not in found:
                    found.append(question)
                if len(found) == limit:
                    break
            if found:
                return found
    return []
