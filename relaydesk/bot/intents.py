"""What a visitor's message says about the conversation itself, in English and Chinese:
an explicit request for a person (not a negated one), frustration, configured keywords,
and the message's language.

These are small lexicons on purpose: they run on every message before retrieval, must be
predictable for support teams to reason about, and never depend on the LLM's output (a
handoff triggered by a magic string in generated text is exactly what we avoid).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Han characters (CJK Unified Ideographs, Extension A, Compatibility).
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# English: who the visitor may ask for.
_EN_PERSON = re.compile(
    r"\b(?:human(?:\s+being)?s?|(?:live|real|actual)\s+(?:person|people|agent|human)|"
    r"agents?|representatives?|rep|operators?|someone\s+real|a\s+person|"
    r"customer\s+(?:service|support)\s+(?:agent|rep|representative|person|staff)|"
    r"support\s+(?:agent|staff|person)|staff\s+member)\b",
    re.IGNORECASE,
)
# Negations in the words just before the request ("I don't need a human").
_EN_NEGATION = re.compile(
    r"\b(?:don'?t|do\s+not|doesn'?t|didn'?t|no|not|never|without|no\s+need|nor|"
    r"won'?t|wouldn'?t|needn'?t|rather\s+not)\b",
    re.IGNORECASE,
)
# "my travel agent", "user agent": a different kind of agent, not a request for one.
_EN_OTHER_AGENT = re.compile(
    r"\b(?:my|his|her|their|our|travel|estate|user|insurance|secret|free|booking|"
    r"shipping|customs)\s+$",
    re.IGNORECASE,
)
# "Are you a human?" asks about the bot; it is not a request for one.
_EN_ABOUT_BOT = re.compile(
    r"\b(?:are|r)\s+(?:you|u)\s+(?:a\s+|an\s+)?(?:real\s+)?(?:human|person|bot|agent)\b",
    re.IGNORECASE,
)

# Chinese: 人工 / 转人工 / 真人 / 人工客服, and 客服 only with a request verb or alone.
_ZH_PERSON = re.compile(
    r"(?:转人工|人工客服|人工服务|人工坐席|人工|真人|"
    r"(?:找|联系|转|要|接|叫|呼叫|转接)(?:一下)?(?:在线)?客服|客服在吗|^客服[呢吧啊!！?？。]*$)"
)
_ZH_NEGATION = re.compile(r"(?:不需要|不用|不要|无需|没必要|别|不想|不必|用不着|不找)\s*$")
_ZH_ABOUT_BOT = re.compile(r"(?:你|您)是(?:不是)?(?:真人|人工|机器人)")

_EN_FRUSTRATION = re.compile(
    r"\b(?:useless|stupid|dumb|idiot(?:ic)?|terrible|awful|horrible|ridiculous|pathetic|"
    r"worst|hate|angry|furious|annoy(?:ed|ing)|frustrat(?:ed|ing)|fed\s+up|sick\s+of|"
    r"waste\s+of\s+time|not\s+helpful|(?:isn'?t|not|doesn'?t|don'?t)\s+help(?:ing)?|"
    r"wtf|damn|rubbish|garbage|nonsense|unacceptable)\b",
    re.IGNORECASE,
)
_ZH_FRUSTRATION = re.compile(
    r"(?:没用|垃圾|太差|很差|真差|气死|无语|烦死|烦人|废物|生气|破机器|什么破|答非所问|"
    r"听不懂|不靠谱|坑人|骗子|受够|浪费时间|太慢了|差评)"
)
_SHOUTING = re.compile(r"[!！?？]{3,}")


def language(text: str) -> str:
    """`zh` when the text is mostly Chinese characters, else `en`."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return "en"
    cjk = sum(1 for c in letters if CJK.match(c))
    return "zh" if cjk * 3 >= len(letters) else "en"


def _clause_before(text: str, start: int) -> str:
    """The words of the same clause before position `start`."""
    head = text[:start]
    cut = max(head.rfind(p) for p in ".!?;,，。！？；\n")
    return head[cut + 1 :]


def wants_human(text: str) -> bool:
    """An explicit, non-negated request to talk to a person."""
    for match in _EN_PERSON.finditer(text):
        clause = _clause_before(text, match.start())
        if _EN_ABOUT_BOT.search(text[max(0, match.start() - 20) : match.end()]):
            continue
        if _EN_OTHER_AGENT.search(clause):
            continue
        if not _EN_NEGATION.search(" ".join(clause.split()[-5:])):
            return True
    for match in _ZH_PERSON.finditer(text):
        before = _clause_before(text, match.start())[-6:]
        if _ZH_ABOUT_BOT.search(text[max(0, match.start() - 4) : match.end() + 1]):
            continue
        if not _ZH_NEGATION.search(before):
            return True
    return False


def frustration(text: str) -> int:
    """How many frustration signals the text carries (0 = none)."""
    signals = len(_EN_FRUSTRATION.findall(text)) + len(_ZH_FRUSTRATION.findall(text))
    letters = [c for c in text if c.isalpha() and c.isascii()]
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        signals += 1  # SHOUTING
    if _SHOUTING.search(text):
        signals += 1
    return signals


def matched_keyword(text: str, keywords: Iterable[str]) -> str | None:
    """The first configured keyword in the text (whole words for Latin script)."""
    folded = text.casefold()
    for keyword in keywords:
        key = keyword.strip().casefold()
        if not key:
            continue
        if CJK.search(key):
            if key in folded:
                return keyword
        elif re.search(rf"(?<!\w){re.escape(key)}(?!\w)", folded):
            return keyword
    return None


_GREETING = re.compile(
    r"^\s*(?:hi|hello|hey|hiya|good\s+(?:morning|afternoon|evening)|你好|您好|嗨|哈喽|在吗)"
    r"[\s!！.。,，~～]*(?:there|bot)?[\s!！.。]*$",
    re.IGNORECASE,
)
_THANKS = re.compile(
    r"^\s*(?:thanks?(?:\s+you)?(?:\s+(?:so|very)\s+much)?|thx|ty|cheers|great|ok(?:ay)?|"
    r"谢谢(?:你|您)?|多谢|感谢|好的|明白了)[\s!！.。,，~～]*$",
    re.IGNORECASE,
)


def small_talk(text: str) -> str | None:
    """`greeting` or `thanks` for messages that are nothing else (no retrieval needed)."""
    if _GREETING.match(text):
        return "greeting"
    if _THANKS.match(text):
        return "thanks"
    return None
