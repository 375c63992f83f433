"""Agent assist: knowledge-base answers that fit the conversation, and (with an LLM) a
drafted, cited reply the agent can edit. Nothing is sent to the visitor from here."""

from __future__ import annotations

from typing import Any

from relaydesk.bot import answer, extractive, generate, intents, prompt, service
from relaydesk.bot.prompt import Turn
from relaydesk.conversations.models import Conversation, SenderKind
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.sites import service as sites

SUGGESTIONS = 3


async def suggest(db: Database, *, conversation: Conversation) -> dict[str, Any]:
    messages = await service.context_messages(db, conversation.id)
    turns = [
        Turn("visitor" if m.sender_kind == SenderKind.VISITOR else "bot", m.text)
        for m in messages
        if m.sender_kind in (SenderKind.VISITOR, SenderKind.BOT, SenderKind.AGENT)
    ]
    visitor = [t.text for t in turns if t.role == "visitor"]
    if not visitor:
        return {"suggestions": [], "draft": None, "citations": []}
    policy = await service.get_policy(db, conversation.site_id)
    result, _ = await answer.retrieve(
        db,
        site_id=conversation.site_id,
        question=visitor[-1],
        earlier=visitor[:-1],
        threshold=policy.answer_threshold,
    )
    hits = result.hits[:SUGGESTIONS]
    suggestions = [
        {
            "entry_id": h.entry_id,
            "title": h.title,
            "url": h.url,
            "text": extractive.trim(h.text),
            "confidence": round(h.confidence, 4),
        }
        for h in hits
    ]
    settings = get_settings()
    if not hits or not generate.llm_configured(settings):
        return {"suggestions": suggestions, "draft": None, "citations": []}
    site = await sites.get_site(db, conversation.site_id)
    built = prompt.build(
        site_name=site.name,
        question=visitor[-1],
        passages=hits,
        history=turns[:-1][-answer.HISTORY_TURNS :],
        language=intents.language(visitor[-1]),
    )
    generation = await generate.complete(settings, built.messages)
    checked = prompt.check_answer(generation.text, built) if generation.ok else None
    if checked is None or not checked.grounded:
        return {"suggestions": suggestions, "draft": None, "citations": []}
    return {
        "suggestions": suggestions,
        "draft": checked.text,
        "citations": [
            {"n": n, "entry_id": hits[n - 1].entry_id, "title": hits[n - 1].title}
            for n in checked.cited
        ],
    }
