"""Whether an answer takes up what the visitor asked, by the words they used.

Two places need it. A follow-up answered with help from the earlier turn: the earlier turn
may say what "it" is, never replace what the question asks about ("What is the capital of
France?" after a shipping question names nothing the shipping answer talks about). And a
Chinese question: the embedding model reads English only, so a Chinese match rests on
shared characters, and particles such as 你们/吗 are shared by unrelated questions ("你们招聘吗"
matched "你们卖哪些咖啡？" at 0.91); the question's own words, searched alone, must find the
same entry (answer.py).
"""

from __future__ import annotations

import re

from relaydesk.bot import followup, intents
from relaydesk.bot.knowledge import KbHit

# English word endings stripped before a topic word is looked up in an answer ("costs",
# "paused", "returning" match "cost", "pause", "return").
_EN_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")


# "shipped", "stopping": the doubled consonant left once the ending is gone.
_EN_DOUBLED = re.compile(r"([bdgklmnprt])\1$")


def _en_stem(word: str) -> str:
    if len(word) <= 4:
        return word
    stem = _EN_SUFFIX.sub("", word)
    return _EN_DOUBLED.sub(r"\1", stem) if stem != word else stem


def _zh_shares(topic: str, haystack: str) -> bool:
    if len(topic) == 1:
        return topic in haystack
    return any(topic[i : i + 2] in haystack for i in range(len(topic) - 1))


def hit_text(hit: KbHit) -> str:
    """What a hit says: its title, the text it matched (a phrasing) and its answer."""
    return f"{hit.title} {hit.matched} {hit.text}"


def addressed_by(question: str, text: str) -> bool:
    """Whether `text` (an answer's title and passage) takes up one of the question's own
    topic words: most of its English content words (loosely stemmed), or a two-character
    piece of its Chinese words. A question with no topic of its own passes."""
    haystack = text.casefold()
    words = followup.content_words(question)
    zh = followup.zh_topic(question)
    if not words and not zh:
        return True
    if words:
        # Most of them: "What are the top-up fees?" is not answered by a pending top-up
        # answer for sharing "top".
        found = sum(_en_stem(w) in haystack for w in words)
        if found * 2 > len(words):
            return True
    return bool(zh) and _zh_shares(zh, haystack)


def own_words(question: str) -> str | None:
    """For a Chinese question with particles or question words around its own words,
    those words alone ("你们招聘吗" -> "招聘"); None otherwise (nothing to strip, or not
    Chinese)."""
    if not intents.CJK.search(question):
        return None
    zh = followup.zh_topic(question)
    if not zh or zh == "".join(intents.CJK.findall(question)):
        return None
    return zh
