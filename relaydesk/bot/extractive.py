"""Answers without an LLM, and the bot's fixed texts in English and Chinese.

An extractive answer is the best passage trimmed at a sentence boundary to a readable
length, with its citation. The fixed texts say plainly what the bot does and does not
know; they never pretend to be an answer.
"""

from __future__ import annotations

import re

MAX_ANSWER_CHARS = 400
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "not_sure": "I'm not sure I have the right answer to that.",
        # The related articles are listed under the message, so this says so in a whole
        # sentence instead of ending on a colon that the next sentence would complete.
        "not_sure_related": "I'm not sure I have the right answer to that. The related "
        "articles below might help.",
        "offer_human": "If you like, I can also connect you with a person.",
        "rephrase": "Could you tell me a bit more about what you need?",
        "handoff_queued": "I'm connecting you with a person from our team. You're number "
        "{position} in the queue.",
        "handoff_queued_no_position": "I'm connecting you with a person from our team.",
        "handoff_offline": "Our team isn't available right now. Leave your email and message "
        "and we'll get back to you.",
        "greeting": "Hello! What can I help you with?",
        "thanks": "You're welcome! Anything else I can help with?",
    },
    "zh": {
        "not_sure": "抱歉，我不确定能正确回答这个问题。",
        "not_sure_related": "抱歉，我不确定能正确回答这个问题。下方的相关文章或许有帮助。",
        "offer_human": "如果需要，我也可以为您转接人工客服。",
        "rephrase": "能再详细说说您遇到的问题吗？",
        "handoff_queued": "正在为您转接人工客服，您当前排在第 {position} 位。",
        "handoff_queued_no_position": "正在为您转接人工客服。",
        "handoff_offline": "客服人员暂时不在线。请留下您的邮箱和问题，我们会尽快回复您。",
        "greeting": "您好！请问有什么可以帮您？",
        "thanks": "不客气！还有其他可以帮您的吗？",
    },
}


def text(language: str, key: str, **values: object) -> str:
    table = TEXTS.get(language, TEXTS["en"])
    return table[key].format(**values)


def trim(passage: str, limit: int = MAX_ANSWER_CHARS) -> str:
    """The passage cut after the last whole sentence that fits in `limit` characters
    (or at a word boundary with an ellipsis when the first sentence is already too long)."""
    passage = " ".join(passage.split())
    if len(passage) <= limit:
        return passage
    kept = ""
    for sentence in _SENTENCE_END.split(passage):
        candidate = f"{kept} {sentence}".strip() if kept else sentence
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept
    cut = passage[:limit].rsplit(" ", 1)[0] if " " in passage[:limit] else passage[:limit]
    return cut.rstrip(",;:，；：") + "…"


def answer(passage: str) -> str:
    """An extractive answer citing passage [1]."""
    body = trim(passage)
    return f"{body} [1]"


def not_sure(language: str, *, has_related: bool, offer_human: bool) -> str:
    parts = [text(language, "not_sure_related" if has_related else "not_sure")]
    if not has_related:
        parts.append(text(language, "rephrase"))
    if offer_human:
        parts.append(text(language, "offer_human"))
    return (" " if language == "en" else "").join(parts)
