"""The per-site bot policy, and the answer / clarify / hand-off decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from relaydesk.bot import intents
from relaydesk.bot.knowledge import KbResult
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD

Action = Literal["answer", "clarify", "handoff"]

# Handoff reasons, recorded on the conversation (`handoff_reason`) and in its event.
VISITOR_ASKED = "visitor_asked"
LOW_CONFIDENCE = "low_confidence"
FRUSTRATION = "frustration"
KEYWORD = "keyword"

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class BotPolicy(BaseModel):
    """How the bot behaves on one site (stored per site; missing keys take these)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    answer_threshold: float = Field(DEFAULT_ANSWER_THRESHOLD, ge=0.0, le=1.0)
    # Hand off after this many low-confidence turns in a row (1 = at the first).
    low_confidence_turns: int = Field(2, ge=1, le=20)
    handoff_on_frustration: bool = True
    handoff_keywords: list[Keyword] = Field(default_factory=list, max_length=100)
    # Offer a person with every not-sure answer (the widget shows a button).
    offer_human: bool = True


@dataclass(frozen=True)
class Decision:
    action: Action
    confidence: float
    reason: str | None = None  # why it hands off
    small_talk: str | None = None


def decide(
    text: str, result: KbResult, policy: BotPolicy, *, low_streak: int, grounded: bool = True
) -> Decision:
    """What to do with a visitor message, given what retrieval found.

    `low_streak` is how many of the bot's previous turns in a row were not sure;
    `grounded` False (grounding.grounded: a Chinese match sharing no word of the
    question's own) means the top hit is never answered, whatever its confidence."""
    confidence = result.top_confidence
    if intents.wants_human(text):
        return Decision("handoff", confidence, VISITOR_ASKED)
    keyword = intents.matched_keyword(text, policy.handoff_keywords)
    if keyword is not None:
        return Decision("handoff", confidence, f"{KEYWORD}:{keyword}"[:64])
    if policy.handoff_on_frustration and intents.frustration(text) > 0:
        return Decision("handoff", confidence, FRUSTRATION)
    if grounded and confidence >= policy.answer_threshold:
        return Decision("answer", confidence)
    chat = intents.small_talk(text)
    if chat is not None:
        return Decision("clarify", confidence, small_talk=chat)
    if low_streak + 1 >= policy.low_confidence_turns:
        return Decision("handoff", confidence, LOW_CONFIDENCE)
    return Decision("clarify", confidence)
