"""The per-site bot policy, business hours, and the answer / clarify / hand-off decision."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from relaydesk.bot import intents
from relaydesk.bot.knowledge import KbResult
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD

log = logging.getLogger(__name__)

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


# Business hours

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


class BusinessHours(BaseModel):
    """`Site.business_hours`. An empty object means always open.

    {"timezone": "Asia/Shanghai",
     "weekly": {"mon": [["09:00", "18:00"]], "sat": [["10:00", "14:00"]]},
     "closed_dates": ["2026-12-25"]}

    Days missing from `weekly` are closed; a day may have several ranges; "24:00" ends a
    day. Times are local to `timezone` (an IANA name, default UTC).
    """

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[tuple[HHMM, HHMM]]]
    closed_dates: list[date] = Field(default_factory=list)

    def is_open(self, now: datetime) -> bool:
        try:
            local = now.astimezone(ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError):
            local = now
        if local.date() in self.closed_dates:
            return False
        minutes = local.hour * 60 + local.minute
        for start, end in self.weekly.get(_DAYS[local.weekday()], []):  # type: ignore[call-overload]
            if _minutes(start) <= minutes < _minutes(end):
                return True
        return False


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def within_business_hours(raw: dict[str, object], now: datetime) -> bool:
    """Whether `Site.business_hours` says the site is open at `now`; an empty or invalid
    value means always open, so a typo never hides the queue from visitors."""
    if not raw:
        return True
    try:
        hours = BusinessHours.model_validate(raw)
    except ValidationError:
        log.warning("invalid business_hours ignored: %s", raw)
        return True
    return hours.is_open(now)
