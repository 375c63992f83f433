"""Which knowledge-base hits a reply offers as related articles.

A bilingual knowledge base returns hits in both languages for one question (the dense
model and BM25 both match across languages on shared words, numbers and brands), and an
English visitor shown Chinese titles cannot use them. So related items are the hits in
the visitor's language; only when none of the retrieved hits is in that language (a
knowledge base written in one other language) are the others offered, since pointing
somewhere beats pointing nowhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from relaydesk.bot import intents
from relaydesk.bot.knowledge import KbHit
from relaydesk.core.i18n import normalise_locale

LIMIT = 3


def visitor_language(question: str, locale: str | None) -> str:
    """`en` or `zh`: the question's own language, with the widget's locale deciding when
    the question cannot (no letters, like an order number, or a mostly-Latin question
    with some Chinese in it from a visitor whose widget speaks Chinese)."""
    widget = normalise_locale(locale)
    detected = intents.language(question)
    if widget is None or detected == "zh":
        return detected
    if not any(c.isalpha() for c in question):
        return widget
    if widget == "zh" and intents.CJK.search(question):
        return "zh"
    return detected


def language_of(hit: KbHit) -> str:
    return normalise_locale(hit.locale) or hit.locale.lower()


def pick(hits: Sequence[KbHit], language: str, limit: int = LIMIT) -> list[dict[str, Any]]:
    """Up to `limit` related items from `hits` (best first), in `language` when any is."""
    chosen = [h for h in hits if language_of(h) == language] or list(hits)
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for hit in chosen:
        # Several passages of one article are one related item.
        if hit.entry_id in seen:
            continue
        seen.add(hit.entry_id)
        out.append({"entry_id": hit.entry_id, "title": hit.title, "url": hit.url})
        if len(out) == limit:
            break
    return out
