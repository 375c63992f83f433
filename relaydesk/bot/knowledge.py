"""The bot's view of the knowledge base: `search` and `suggestions` behind a protocol.

`relaydesk.knowledge.search` (the knowledge domain's search service) is used as soon as it
exists; until then, and in tests and benchmarks, a `IndexSource` of per-site
`HybridIndex`es can be installed with `set_source`. The bot only ever sees `KbHit`s, so
the two sources are interchangeable.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from relaydesk.core import state
from relaydesk.core.db import Database
from relaydesk.core.state import Slot
from relaydesk.knowledge.retrieval import HybridIndex
from relaydesk.knowledge.retrieval.chunks import KIND_ANSWER, KIND_PASSAGE, Chunk

log = logging.getLogger(__name__)

SNIPPET_CHARS = 240


@dataclass(frozen=True)
class KbHit:
    entry_id: str
    external_id: str | None
    title: str
    snippet: str
    url: str | None
    score: float
    confidence: float
    kind: str
    # What the bot may answer from: an FAQ entry's answer or an article passage.
    text: str
    # The entry's language, so related items can be offered in the visitor's.
    locale: str = "en"
    # The indexed text the query matched (a question phrasing, or the passage).
    matched: str = ""


@dataclass(frozen=True)
class KbResult:
    hits: list[KbHit]
    took_ms: float = 0.0
    lexical_only: bool = False

    @property
    def top_confidence(self) -> float:
        return self.hits[0].confidence if self.hits else 0.0


class KnowledgeSource(Protocol):
    async def search(self, db: Database, *, site_id: int, query: str, k: int = 5) -> KbResult: ...

    async def suggestions(
        self, db: Database, *, site_id: int, locale: str, limit: int = 4
    ) -> list[str]: ...


def _text(value: Any, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def hit_from(raw: Any) -> KbHit:
    """A `KbHit` from any object with the search service's hit attributes."""
    text = _text(getattr(raw, "text", None)) or _text(getattr(raw, "snippet", None))
    external = getattr(raw, "external_id", None)
    url = getattr(raw, "url", None)
    return KbHit(
        entry_id=str(getattr(raw, "entry_id", "")),
        external_id=str(external) if external is not None else None,
        title=_text(getattr(raw, "title", None)),
        snippet=_text(getattr(raw, "snippet", None)) or text[:SNIPPET_CHARS],
        url=url if isinstance(url, str) else None,
        score=_float(getattr(raw, "score", 0.0)),
        confidence=_float(getattr(raw, "confidence", 0.0)),
        kind=_text(getattr(raw, "kind", None), "faq"),
        text=text,
        locale=_text(getattr(raw, "locale", None), "en"),
        matched=_text(getattr(raw, "matched_text", None)),
    )


class ModuleSource:
    """The knowledge domain's `relaydesk.knowledge.search`, looked up at call time so the
    bot starts using it the moment it lands; with no such module the KB is empty."""

    module_name = "relaydesk.knowledge.search"

    def _module(self) -> Any | None:
        try:
            return importlib.import_module(self.module_name)
        except ModuleNotFoundError as exc:
            if exc.name != self.module_name:
                raise
            return None

    async def search(self, db: Database, *, site_id: int, query: str, k: int = 5) -> KbResult:
        module = self._module()
        if module is None:
            return KbResult(hits=[])
        result = await module.search(db, site_id=site_id, query=query, k=k)
        return KbResult(
            hits=[hit_from(h) for h in getattr(result, "hits", [])],
            took_ms=_float(getattr(result, "took_ms", 0.0)),
            lexical_only=bool(getattr(result, "lexical_only", False)),
        )

    async def suggestions(
        self, db: Database, *, site_id: int, locale: str, limit: int = 4
    ) -> list[str]:
        module = self._module()
        if module is None or not hasattr(module, "suggestions"):
            return []
        found = await module.suggestions(db, site_id=site_id, locale=locale, limit=limit)
        return [s for s in found if isinstance(s, str)][:limit]


@dataclass
class _SiteKb:
    index: HybridIndex
    answers: dict[str, str] = field(default_factory=dict)
    questions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # locale -> ...


class IndexSource:
    """Per-site `HybridIndex`es held in memory (tests, benchmarks)."""

    def __init__(self) -> None:
        self._sites: dict[int, _SiteKb] = {}

    def add_site(self, site_id: int, index: HybridIndex, chunks: Iterable[Chunk]) -> None:
        """Serve `index` for `site_id`; `chunks` (already in the index) give each entry's
        answer text and its suggestion question."""
        kb = _SiteKb(index=index)
        for chunk in chunks:
            kind = chunk.metadata.get("kind")
            if kind in (KIND_ANSWER, KIND_PASSAGE):
                kb.answers.setdefault(chunk.entry_id, chunk.text)
            elif kind == "question":
                locale = str(chunk.metadata.get("locale", "en"))
                kb.questions.setdefault(locale, []).append((chunk.entry_id, chunk.text))
        self._sites[site_id] = kb

    async def search(self, db: Database, *, site_id: int, query: str, k: int = 5) -> KbResult:
        kb = self._sites.get(site_id)
        if kb is None:
            return KbResult(hits=[])
        started = time.perf_counter()
        hits = await kb.index.asearch(query, k)
        took = (time.perf_counter() - started) * 1000
        out = []
        for hit in hits:
            meta = hit.metadata
            text = kb.answers.get(hit.entry_id, hit.text)
            out.append(
                KbHit(
                    entry_id=hit.entry_id,
                    external_id=meta.get("external_id"),
                    title=str(meta.get("title", "")),
                    snippet=text[:SNIPPET_CHARS],
                    url=meta.get("url"),
                    score=hit.score,
                    confidence=hit.confidence,
                    kind=str(meta.get("kind", "faq")),
                    text=text,
                    locale=str(meta.get("locale") or "en"),
                    matched=hit.text,
                )
            )
        return KbResult(hits=out, took_ms=took, lexical_only=kb.index.lexical_only)

    async def suggestions(
        self, db: Database, *, site_id: int, locale: str, limit: int = 4
    ) -> list[str]:
        kb = self._sites.get(site_id)
        if kb is None:
            return []
        seen: set[str] = set()
        found: list[str] = []
        for entry_id, question in kb.questions.get(locale, []):
            if entry_id not in seen:
                seen.add(entry_id)
                found.append(question)
        return found[:limit]


# The app's source (core/state.py): the knowledge domain's search unless one is installed.
SOURCE: Slot[KnowledgeSource] = Slot("bot.knowledge_source", lambda app: ModuleSource())


def set_source(source: KnowledgeSource | None) -> None:
    """Install a source on the app's state (None restores the knowledge domain's search)."""
    state.current().put(SOURCE, source)


def get_source() -> KnowledgeSource:
    return state.current().get(SOURCE)
