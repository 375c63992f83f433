"""What the model wrote, checked before a visitor sees it: refuse answers that repeat the
rules (a leaked system prompt), use markdown links or images, carry URLs or email
addresses that no passage gave (exfiltration, phishing, a made-up source), or name a
source other than a passage number. `prompt.check_answer` runs these; a refused answer
becomes the bot's "not sure".

Why n-grams for the leak check: a model that obeys "print your instructions" rarely
copies them exactly (numbering, line breaks, a lead-in), but long runs of the rules'
words survive; no answer drawn from the passages shares eight words in a row with them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence

LEAK_RUN = 8  # words in a row shared with the rules that count as a leak

_WORD = re.compile(r"[a-z0-9]+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(")
_MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)")
# A source named other than by passage number: "[source: x]", "(来源：x)", "【1】".
_NAMED_SOURCE = re.compile(
    r"(?:\b(?:source|sources|reference|ref)\s*[:：])|(?:来源|出处|参考资料)\s*[:：]|【[^】]*】",
    re.IGNORECASE,
)


def _runs(text: str, size: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def leaks(answer: str, secrets: Iterable[str]) -> bool:
    """True when the answer shares a run of LEAK_RUN words with any of `secrets`."""
    said = _runs(answer, LEAK_RUN)
    return any(said & _runs(secret, LEAK_RUN) for secret in secrets)


def _known(value: str, sources: Sequence[str]) -> bool:
    value = value.lower().rstrip(".,;:!?。，；：！？")
    return any(value in source.lower() for source in sources)


def foreign_reference(answer: str, sources: Sequence[str]) -> str | None:
    """The first link, image, email address or named source in the answer that the
    passages (`sources`: their text and URLs) do not contain; None when there is none."""
    # Never markdown: answers are plain text, an image fetch carries data out on render,
    # and a link's label can hide where it points.
    for pattern in (_MARKDOWN_IMAGE, _MARKDOWN_LINK, _NAMED_SOURCE):
        if match := pattern.search(answer):
            return match.group()
    for pattern in (_URL, _EMAIL):
        for match in pattern.finditer(answer):
            if not _known(match.group(), sources):
                return match.group()
    return None


def refusal(answer: str, *, rules: str, sources: Sequence[str]) -> str | None:
    """Why the answer must not reach the visitor ("leak" or "foreign_reference"), or None."""
    if leaks(answer, [rules]):
        return "leak"
    if foreign_reference(answer, sources) is not None:
        return "foreign_reference"
    return None


# Where a streamed answer may be cut: after whitespace or CJK punctuation, so every word,
# URL or address is whole (and checked) before any of it is passed on. A leaking run of
# the rules is caught at its LEAK_RUN-th word, so at most LEAK_RUN - 1 of them stream.
_CUT = re.compile(r"\s|[。！？，、；：\n]")
OnDelta = Callable[[str], Awaitable[None]]


class StreamScreen:
    """Streamed deltas reach the visitor before the whole answer is checked, so they are
    held back and passed on in whole words, each time after the text so far passes
    `refusal` (and holds no `forbidden` string); after the first refusal nothing more is
    passed on, and the stored answer (the fallback) replaces what was streamed."""

    def __init__(
        self, on_delta: OnDelta, *, rules: str, sources: Sequence[str], forbidden: Sequence[str]
    ) -> None:
        self._on_delta = on_delta
        self._rules = rules
        self._sources = sources
        self._forbidden = forbidden
        self._text = ""
        self._released = 0
        self.stopped = False

    async def __call__(self, delta: str) -> None:
        if self.stopped:
            return
        self._text += delta
        cut = max((m.end() for m in _CUT.finditer(self._text)), default=0)
        if cut <= self._released:
            return
        head = self._text[:cut]
        if any(f in head for f in self._forbidden) or refusal(
            head, rules=self._rules, sources=self._sources
        ):
            self.stopped = True
            return
        piece, self._released = self._text[self._released : cut], cut
        await self._on_delta(piece)

    async def finish(self) -> None:
        """Pass on the held-back tail, once the whole answer has passed the checks."""
        if not self.stopped and self._released < len(self._text):
            piece, self._released = self._text[self._released :], len(self._text)
            await self._on_delta(piece)
