"""Whether a visitor's question depends on the conversation before it, judged from the
question alone.

Earlier turns used to be folded into the search whenever a question was short (ten
words or fewer) and the question alone was not confident. Most standalone questions are
that short, so a new topic ("Who won the football world cup in 2018?" after "How much
does shipping cost?") was searched together with the previous one, matched the previous
topic, and was answered with its article, cited. On banking77-faq-open in conversation
that made 22.6% of answers wrong (2.6% for the same questions asked alone).

A question now counts as dependent only when it cannot stand on its own: it has no
content words at all ("How much is it?", "why?"), it points back (a pronoun such as
"it"/"that", an opening such as "what about"/"and", Chinese 那/这/它/呢) and has at most
three content words of its own ("Do you ship there too?", "那运费谁出？"), or it is a
short question with a single topic word ("how many days do I get?"). Anything with more
to say is a new question and is answered on its own.

A dependent question is searched again as a standalone query: the earlier turn's topic
words in front of the question (`standalone_query`), and the answer found that way must
take up the question's own topic words (`addressed_by`), so the earlier turn can only
say what "it" is, never replace what is asked.
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
# "is there", "there are": the existential "there" points at nothing ("Why is there a
# random withdrawal in my app?" is a new question, not one about an earlier place).
# Likewise the conjunction in "now that", "so that", and the "it" that stands in for a
# clause after it ("How much is it to get life insurance?", "does it cost to send money
# abroad?"): the subject "it" after a verb, followed by "to", a verb and what the verb
# is about. Not an object or a place ("send it to Canada" still points back), nor a verb
# left without its object ("Does it cost to cancel?" asks to cancel the earlier thing).
_EN_EXISTENTIAL = re.compile(
    r"\b(?:is|are|was|were|be)\s+there\b|\bthere(?:'s|\s+(?:is|are|was|were))\b|"
    r"\b(?:now|so|such)\s+that\b|"
    r"\b(?:is|was|does|did|will|would|can|could|should)\s+it\b(?=\s+(?:(?:take|cost)s?\s+"
    r"(?:\w+\s+)?)?to\s+(?!(?:me|you|us|them|him|her|it|my|your|our|their|his|its|the|a|an|"
    r"this|that|there|here)\b)[a-z]+\s+\w)",
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
        "about",
        "well",
        "hi",
        "hello",
        "hey",
        "right",
        # Time and manner words that say when or whether, not what ("what should I do
        # now?", "and if it already shipped?", "why did that happen?").
        "now",
        "already",
        "yet",
        "happen",
        "happened",
        "happens",
        "anything",
        "something",
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
# A pointing question may still name a detail of its own ("can you put my company name
# on it?"); more than this and it is a question in its own right.
MAX_OWN_CONTENT_WORDS = 3
MAX_DEFINITE_CONTENT_WORDS = 2
# A question with a single topic word and no more than this many words ("how many days
# do I get?", "do you have decaf?") may lean on the previous turn for its subject.
ELLIPTICAL_MAX_WORDS = 7

# Chinese openings and particles that point back or continue ("那运费谁出？", "这个呢").
_ZH_CONTINUATION = re.compile(r"^(?:那|这|它|还有|另外|而且|如果|要是|那么|那个|这个|然后|所以)")
_ZH_ANAPHOR = re.compile(r"(?:它|它们|这个|那个|这些|那些|这样|那样|呢[？?]?$|该|此)")
# Pointing particles, question words and fillers: what is left of a Chinese question
# without them is its own topic.
_ZH_FILLER = re.compile(
    r"那么|那个|这个|那些|这些|它们|你们|我们|怎么办|怎么|什么|多少|哪里|为什么|可以|能不能|"
    r"是不是|[那这它呢吗吧啊呀么的了是我你要还也就都会能]"
)
# The leading pointer of a Chinese follow-up ("那怎么取消？"), dropped when the earlier
# topic is put in its place.
_ZH_LEADING_POINTER = re.compile(r"^\s*(?:那么|那个|这个|那|这|它)\s*")
# English word endings stripped before a topic word is looked up in an answer ("costs",
# "paused", "returning" match "cost", "pause", "return").
_EN_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")
# How many earlier visitor turns are searched back for a topic.
TOPIC_LOOKBACK = 3
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


def _mostly_chinese(text: str) -> bool:
    cjk = intents.CJK.findall(text)
    return bool(cjk) and len(cjk) * 2 >= len(re.sub(r"\W", "", text))


def _zh_pointing(text: str) -> bool:
    chars = "".join(intents.CJK.findall(text))
    return bool(_ZH_CONTINUATION.match(chars) or _ZH_ANAPHOR.search(text.strip()))


def depends_on_context(text: str) -> bool:
    """Whether the question needs the earlier conversation to be understood."""
    if _mostly_chinese(text):
        chars = "".join(intents.CJK.findall(text))
        if len(chars) <= ZH_SHORT_CHARS:
            return True
        return _zh_pointing(text) and len(chars) <= ZH_POINTING_MAX_CHARS
    own = content_words(text)
    words = _EN_WORD.findall(text.casefold())
    if not own:
        return bool(words)
    pointers = _EN_WORD.findall(_EN_EXISTENTIAL.sub(" ", text.casefold()))
    # "那 Apple Pay 呢？": a Chinese pointer around an English name.
    if intents.CJK.search(text) and _zh_pointing(text):
        return len(own) <= MAX_OWN_CONTENT_WORDS
    pointing = bool(set(pointers) & (_EN_ANAPHORS | _EN_ADDING)) or bool(
        _EN_CONTINUATION.match(text)
    )
    if pointing:
        return len(own) <= MAX_OWN_CONTENT_WORDS
    # "the link" may name something from the previous answer, but "the US", "the top-up
    # fees" in a longer question are the question's own.
    if _EN_DEFINITE in pointers:
        return len(own) <= MAX_DEFINITE_CONTENT_WORDS
    return len(own) == 1 and len(words) <= ELLIPTICAL_MAX_WORDS


def zh_topic(text: str) -> str:
    """A Chinese question's own words: its Han characters without pointers, question
    words and particles ("那运费谁出？" -> "运费谁出")."""
    return _ZH_FILLER.sub("", "".join(intents.CJK.findall(text)))


def has_own_topic(text: str) -> bool:
    """Whether the question names anything itself (an English content word, or any Chinese
    word beyond the pointing particles), so that a context-assisted hit can be checked
    against what the question alone finds."""
    if intents.CJK.search(text) and (zh_topic(text) or _mostly_chinese(text)):
        return bool(zh_topic(text)) or bool(content_words(text))
    return bool(content_words(text))


def topic(text: str) -> str:
    """What an earlier question was about, without its question words: "Do you deliver
    to Japan?" -> "deliver japan", "咖啡订阅怎么运作？" -> "咖啡订阅运作"."""
    if _mostly_chinese(text):
        return " ".join(p for p in (zh_topic(text), *content_words(text)) if p)
    return " ".join(content_words(text))


def standalone_queries(
    question: str, earlier: list[str] | tuple[str, ...]
) -> tuple[str, list[str]] | None:
    """The follow-up made to stand on its own, in a few wordings: the most recent earlier
    visitor turn that names a topic, and the question (without its leading Chinese
    pointer) after the whole earlier question, after its topic words, and before them
    ("Do you deliver to Japan? what does that cost?", "deliver japan what does that
    cost?", "what does that cost? deliver japan"). The earlier turn is returned too.

    Several wordings because confidence is fitted on single questions, and which
    concatenation reads most like one varies: on the dev follow-ups the whole earlier
    question alone left 12 of 44 right entries ranked first but under the bar, and each
    wording lifts some that the others leave under it. Each wording must pass the same
    checks on its own (answer.retrieve). None when no earlier turn names anything."""
    for turn in reversed(earlier[-TOPIC_LOOKBACK:]):
        words = topic(turn)
        if words:
            rest = _ZH_LEADING_POINTER.sub("", question) if _mostly_chinese(question) else question
            rest = rest.strip()
            queries = [f"{turn.strip()} {rest}", f"{words} {rest}", f"{rest} {words}"]
            return turn.strip(), list(dict.fromkeys(queries))
    return None


def standalone_query(question: str, earlier: list[str] | tuple[str, ...]) -> str | None:
    """The first wording of `standalone_queries`: the whole earlier question, then the
    follow-up ("Do you deliver to Japan?" + "what does that cost?"; "咖啡订阅怎么运作？" +
    "怎么取消？"). None when no earlier turn names anything."""
    found = standalone_queries(question, earlier)
    return found[1][0] if found else None
