"""One bot reply, from question to checked text: retrieve with context, decide, generate
(LLM or extractive), verify citations. No conversation side effects, so live turns and
`POST /api/v1/bot/answer` share it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from relaydesk.bot import extractive, followup, generate, grounding, intents, prompt, related
from relaydesk.bot.knowledge import KbHit, KbResult, get_source
from relaydesk.bot.policy import Action, BotPolicy, Decision, decide
from relaydesk.bot.prompt import Turn
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.knowledge.retrieval.exact import phrasing_key

SEARCH_K = 5
PASSAGES = 3
HISTORY_TURNS = 6
# A context-assisted hit must also be among the question's own nearest entries when the
# question has a topic word of its own: the earlier turn may pick between candidates the
# question raises, never bring in a topic it does not touch. ("How do I do it?" has no
# topic to contradict; there the earlier turn alone says what "it" is.) 5, not 10: chosen
# across the dev sets (docs/retrieval.md, "Follow-ups in conversation").
CONTEXT_CANDIDATES = 5
# ... and, unless the question alone ranks it first too, its text must take up the
# question's own words (grounding.addressed_by).
GROUNDING_CANDIDATES = 3


@dataclass
class Reply:
    action: Action
    text: str
    confidence: float
    citations: list[dict[str, Any]] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    mode: str = "fixed"  # "llm", "extractive" or "fixed"
    failure: str | None = None
    reason: str | None = None
    small_talk: str | None = None
    query: str = ""

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "action": self.action,
            "confidence": round(self.confidence, 4),
            "citations": self.citations,
            "related": self.related,
            "suggestions": self.suggestions,
        }
        if self.reason:
            data["reason"] = self.reason
        if self.small_talk:
            data["small_talk"] = self.small_talk
        return data


async def retrieve(
    db: Database, *, site_id: int, question: str, earlier: Sequence[str], threshold: float
) -> tuple[KbResult, str]:
    """Search with the question alone; only a question that cannot stand on its own
    (followup.py) is searched again as standalone queries built from the earlier turn
    (`followup.standalone_queries`). Such a query's top hit is used only if it passes the
    same bar (`threshold`) and beats the question alone, and, when the question has words
    of its own, is among the entries those words find and either is their first or its
    text takes those words up (grounding.addressed_by). Context never
    lowers the bar for answering: the bar is met either by the standalone query itself, or
    by the earlier question, which found the same entry above the bar on its own
    (`_anchored`)."""
    source = get_source()
    own = await source.search(db, site_id=site_id, query=question, k=CONTEXT_CANDIDATES)
    result = replace(own, hits=own.hits[:SEARCH_K])
    if (
        result.top_confidence >= threshold
        or not earlier
        or not followup.depends_on_context(question)
    ):
        return result, question
    found = followup.standalone_queries(question, list(earlier))
    if found is None:
        return result, question
    turn, queries = found
    anchor = await source.search(db, site_id=site_id, query=turn, k=1)
    own_ids = [h.entry_id for h in own.hits]
    own_topic = followup.has_own_topic(question)
    best: tuple[float, KbResult, str] | None = None
    for combined in queries:
        alt = await source.search(db, site_id=site_id, query=combined, k=SEARCH_K)
        if not alt.hits:
            continue
        top = alt.hits[0]
        confidence = max(alt.top_confidence, _anchored(anchor, top, threshold))
        if confidence < threshold or confidence <= result.top_confidence:
            continue
        if own_topic and not (
            top.entry_id in own_ids
            and (
                top.entry_id == own_ids[0]
                or grounding.addressed_by(question, grounding.hit_text(top))
            )
        ):
            continue
        if best is None or confidence > best[0]:
            best = (confidence, alt, combined)
    if best is None:
        return result, question
    confidence, alt, combined = best
    hits = [replace(alt.hits[0], confidence=confidence), *alt.hits[1:]]
    return replace(alt, hits=hits), combined


def _anchored(anchor: KbResult, top: KbHit, threshold: float) -> float:
    """The earlier question's own confidence in `top`, when it found `top` first and
    above the bar on its own (0 otherwise). A follow-up that only continues it ("I lost
    my card" -> "what should I do now?") then stays on an entry already found above the
    bar; a standalone query joining two questions scores lower than either (0.68 there)
    because confidence is fitted on single questions, not because the entry is doubtful."""
    first = anchor.hits[0] if anchor.hits else None
    if first is not None and first.entry_id == top.entry_id and first.confidence >= threshold:
        return first.confidence
    return 0.0


async def _grounded(db: Database, site_id: int, query: str, result: KbResult) -> bool:
    """Whether a Chinese query's own words, without its particles and question words,
    find the same entry among their first few (grounding.py): a match on 你们/吗 alone is
    no answer. ("暂停" alone is ambiguous between a subscription and a sign-in pause, so
    the first few, not the first.) A query that is word for word the phrasing its top
    hit matched (retrieval/exact.py) is that entry's own question: grounded."""
    if result.hits and phrasing_key(query) == phrasing_key(result.hits[0].matched):
        return True
    words = grounding.own_words(query) if result.hits else None
    if words is None:
        return True
    alone = await get_source().search(db, site_id=site_id, query=words, k=GROUNDING_CANDIDATES)
    top = result.hits[0].entry_id
    return any(h.entry_id == top and h.score > 0 for h in alone.hits)


def _citation(n: int, hit: KbHit) -> dict[str, Any]:
    return {
        "n": n,
        "entry_id": hit.entry_id,
        "external_id": hit.external_id,
        "title": hit.title,
        "url": hit.url,
    }


async def respond(
    db: Database,
    *,
    site_id: int,
    site_name: str,
    question: str,
    history: Sequence[Turn],
    policy: BotPolicy,
    low_streak: int = 0,
    on_delta: generate.OnDelta | None = None,
    on_start: Callable[[], Awaitable[None]] | None = None,
    handoff_text: str | None = None,
    needs_knowledge: bool = False,
    locale: str | None = None,
) -> Reply | None:
    """The bot's reply, or None when `needs_knowledge` and the site's knowledge base has
    nothing at all for it (a site nobody set the bot up for: no knowledge, no policy).
    `on_start` runs once the bot knows it will reply (the caller shows it typing).
    `locale` is the visitor's widget language; related items are in the visitor's."""
    language = intents.language(question)
    reader = related.visitor_language(question, locale)
    earlier = [t.text for t in history if t.role == "visitor"]
    result, query = await retrieve(
        db,
        site_id=site_id,
        question=question,
        earlier=earlier,
        threshold=policy.answer_threshold,
    )
    if needs_knowledge and not result.hits:
        return None
    if on_start is not None:
        await on_start()
    grounded = await _grounded(db, site_id, query, result)
    decision = decide(question, result, policy, low_streak=low_streak, grounded=grounded)
    if decision.action == "handoff":
        text = handoff_text or extractive.text(language, "handoff_queued_no_position")
        return Reply(
            "handoff",
            text,
            decision.confidence,
            related=related.pick(result.hits, reader),
            reason=decision.reason,
            query=query,
        )
    if decision.action == "clarify":
        return _not_sure(decision, result, language, reader, policy, query)
    hits = result.hits[:PASSAGES]
    settings = get_settings()
    failure = None
    if generate.llm_configured(settings):
        built = prompt.build(
            site_name=site_name,
            question=question,
            passages=hits,
            history=list(history)[-HISTORY_TURNS:],
            language=language,
        )
        screened = prompt.screen(on_delta, built)  # nothing unchecked is streamed
        generation = await generate.stream(settings, built.messages, screened)
        if generation.ok:
            checked = prompt.check_answer(generation.text, built)
            if checked.grounded and screened is not None:
                await screened.finish()
            if not checked.grounded:
                # The model found no support in the passages (or broke the rules): say so.
                reply = _not_sure(decision, result, language, reader, policy, query)
                reply.mode, reply.failure = "llm", "ungrounded"
                return reply
            return Reply(
                "answer",
                checked.text,
                decision.confidence,
                citations=[_citation(n, hits[n - 1]) for n in checked.cited],
                related=related.pick(result.hits[1:], reader),
                mode="llm",
                query=query,
            )
        failure = generation.failure
    best = hits[0]
    return Reply(
        "answer",
        extractive.answer(best.text),
        decision.confidence,
        citations=[_citation(1, best)],
        related=related.pick(result.hits[1:], reader),
        mode="extractive",
        failure=failure,
        query=query,
    )


def _not_sure(
    decision: Decision,
    result: KbResult,
    language: str,
    reader: str,
    policy: BotPolicy,
    query: str,
) -> Reply:
    if decision.small_talk is not None:
        return Reply(
            "clarify",
            extractive.text(language, decision.small_talk),
            decision.confidence,
            small_talk=decision.small_talk,
            query=query,
        )
    items = related.pick(result.hits, reader)
    return Reply(
        "clarify",
        extractive.not_sure(language, has_related=bool(items), offer_human=policy.offer_human),
        decision.confidence,
        related=items,
        suggestions=[r["title"] for r in items if r["title"]],
        query=query,
    )
