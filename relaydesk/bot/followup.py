"""Whether a visitor's question depends on the conversation before it, judged from the
question alone.

Earlier turns used to be folded into the search whenever a question was short (ten
words or fewer) and the question alone was not confident. Most standalone questions are
that short, so a new topic ("Who won the football world cup in 2018?" after "How much
does shipping cost?") was searched together with the previous one, matched the previous
topic, and was answered with its article, cited. On banking77-faq-open in conversation
that made 22.6% of answers wrong (2.6% for the same questions asked alone).

A question now counts as dependent only when it cannot stand on its own: it has no
content words at all ("How much is it?", "why?"), or it points back (a pronoun such as
"it"/"that", an opening such as "what about"/"and", Chinese 那/这/它/呢) and has at most
two content words of its own ("Do you ship there too?", "那运费谁出？"). Anything with
more to say is a new question and is answered on its own.
"""

from __future__ import annotations

import re

from bm25s.stopwords import STOPWORDS_EN

from relaydesk.bot import intents

# Words that point back at something said earlier.
_EN_ANAPHORS = frozenset(
    [
        "it",
        "its",
        "it's",
        "itself",
        "that",
        "that's",
        "this",
        "these",
        "those",
        "they",
        "them",
        "their",
        "theirs",
        "there",
        "one",
        "ones",
        "same",
        "such",
        "he",
        "she",
        "him",
        "her",
        "his",
    ]
)
# Openings that continue an earlier question ("what about express?", "and to Canada?").
_EN_CONTINUATION = re.compile(
    r"^\s*(?:what|how)\s+about\b|^\s*(?:and|also|so|but|or|then|what\s+if|same)\b",
    re.IGNORECASE,
)
# Words that add to or swap out something said earlier ("can I exchange instead?").
_EN_ADDING = frozenset(["instead", "too", "either", "else", "also"])
# "the link" in "How long is the link valid?" names something from the previous answer.
_EN_DEFINITE = "the"
# Question and filler words that carry no topic of their own.
_EN_GENERIC = frozenset(
    [
        "how",
        "what",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "why",
        "which",
        "much",
        "many",
        "long",
        "often",
        "soon",
        "do",
        "does",
        "did",
        "done",
        "can",
        "could",
        "would",
        "will",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "have",
        "has",
        "had",
        "get",
        "got",
        "getting",
        "need",
        "want",
        "wanted",
        "like",
        "please",
        "pls",
        "ok",
        "okay",
        "thanks",
        "thank",
        "yes",
        "no",
        "yeah",
        "yep",
        "sure",
        "also",
        "too",
        "instead",
        "else",
        "again",
        "then",
        "still",
        "really",
        "just",
        "even",
        "exactly",
        "anyway",
        "well",
        "hi",
        "hello",
        "hey",
        "right",
        "take",
        "takes",
        "taking",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "yours",
        "we",
        "us",
        "our",
        "ours",
    ]
)
_EN_STOPWORDS = frozenset(STOPWORDS_EN)
_EN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
MAX_OWN_CONTENT_WORDS = 2

# Chinese openings and particles that point back or continue ("那运费谁出？", "这个呢").
_ZH_CONTINUATION = re.compile(r"^(?:那|这|它|还有|另外|而且|如果|要是|那么|那个|这个|然后|所以)")
_ZH_ANAPHOR = re.compile(r"(?:它|它们|这个|那个|这些|那些|这样|那样|呢[？?]?$|该|此)")
# Pointing particles, question words and fillers: what is left of a Chinese question
# without them is its own topic.
_ZH_FILLER = re.compile(
    r"那么|那个|这个|那些|这些|它们|怎么办|怎么|什么|多少|哪里|为什么|可以|能不能|是不是|"
    r"[那这它呢吗吧啊呀么的了是我你要还也就都会能]"
)
# Chinese drops the subject it shares with the previous turn ("可以暂停吗", "链接多久失效"):
# questions this short rarely carry a topic of their own.
ZH_SHORT_CHARS = 6
ZH_POINTING_MAX_CHARS = 10


def content_words(text: str) -> list[str]:
    """English words that name a topic: not stopwords, pronouns or question words."""
    words = _EN_WORD.findall(text.casefold())
    return [
        w
        for w in words
        if w not in _EN_STOPWORDS and w not in _EN_ANAPHORS and w not in _EN_GENERIC
    ]


def depends_on_context(text: str) -> bool:
    """Whether the question needs the earlier conversation to be understood."""
    cjk = intents.CJK.findall(text)
    if cjk and len(cjk) * 2 >= len(re.sub(r"\W", "", text)):
        chars = "".join(cjk)
        if len(chars) <= ZH_SHORT_CHARS:
            return True
        pointing = bool(_ZH_CONTINUATION.match(chars) or _ZH_ANAPHOR.search(text.strip()))
        return pointing and len(chars) <= ZH_POINTING_MAX_CHARS
    own = content_words(text)
    if not own:
        return bool(_EN_WORD.search(text.casefold()))
    words = set(_EN_WORD.findall(text.casefold()))
    pointing = (
        bool(words & (_EN_ANAPHORS | _EN_ADDING))
        or _EN_DEFINITE in words
        or bool(_EN_CONTINUATION.match(text))
    )
    return pointing and len(own) <= MAX_OWN_CONTENT_WORDS


def has_own_topic(text: str) -> bool:
    """Whether the question names anything itself (an English content word, or any Chinese
    word beyond the pointing particles), so that a context-assisted hit can be checked
    against what the question alone finds."""
    cjk = "".join(intents.CJK.findall(text))
    if cjk:
        return bool(_ZH_FILLER.sub("", cjk))
    return bool(content_words(text))
