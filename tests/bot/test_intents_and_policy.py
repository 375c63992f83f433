"""Handoff intents (EN/ZH, negations), frustration, keywords, business hours, decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from relaydesk.bot import intents
from relaydesk.bot.knowledge import KbHit, KbResult
from relaydesk.bot.policy import BotPolicy, decide
from relaydesk.sites.hours import within_business_hours

ASKS = [
    "human",
    "agent please",
    "I want to talk to a real person",
    "Can I speak to a representative?",
    "get me a live agent now",
    "I need a human being",
    "人工",
    "转人工",
    "我要人工客服",
    "帮我转接客服",
    "找真人",
    "客服",
]
NOT_ASKS = [
    "I don't need a human",
    "I do not want an agent, just answer",
    "no agent thanks",
    "Are you a human?",
    "my travel agent booked the flight",
    "How do I reset my password?",
    "不需要人工",
    "不用转人工了",
    "别转人工",
    "你是真人吗",
    "客服电话是多少",
    "",
]


@pytest.mark.parametrize("text", ASKS)
def test_explicit_requests_for_a_person(text: str) -> None:
    assert intents.wants_human(text)


@pytest.mark.parametrize("text", NOT_ASKS)
def test_negations_and_lookalikes_are_not_requests(text: str) -> None:
    assert not intents.wants_human(text)


@pytest.mark.parametrize(
    ("text", "frustrated"),
    [
        ("this is useless", True),
        ("You're not helping at all!!!", True),
        ("WHY DOES NOTHING WORK HERE", True),
        ("你们真是垃圾", True),
        ("答非所问，气死了", True),
        ("thanks, that helps", False),
        ("我的卡什么时候到", False),
    ],
)
def test_frustration(text: str, frustrated: bool) -> None:
    assert (intents.frustration(text) > 0) is frustrated


def test_keywords_match_whole_words_and_chinese() -> None:
    assert intents.matched_keyword("I want a Refund now", ["refund"]) == "refund"
    assert intents.matched_keyword("refunded already", ["refund"]) is None
    assert intents.matched_keyword("我要投诉你们", ["投诉"]) == "投诉"
    assert intents.matched_keyword("anything", ["", "  "]) is None


def test_language() -> None:
    assert intents.language("我的卡什么时候到？") == "zh"
    assert intents.language("When will my card arrive?") == "en"
    assert intents.language("12345") == "en"


def result(confidence: float) -> KbResult:
    hit = KbHit("e", None, "t", "s", None, 1.0, confidence, "faq", "text")
    return KbResult(hits=[hit])


def test_decisions() -> None:
    policy = BotPolicy(handoff_keywords=["refund", "complaint"], low_confidence_turns=2)
    assert decide("how?", result(0.9), policy, low_streak=0).action == "answer"
    assert decide("how?", result(0.5), policy, low_streak=0).action == "clarify"
    low = decide("how?", result(0.5), policy, low_streak=1)
    assert (low.action, low.reason) == ("handoff", "low_confidence")
    kw = decide("I have a complaint", result(0.95), policy, low_streak=0)
    assert (kw.action, kw.reason) == ("handoff", "keyword:complaint")
    assert decide("this is useless", result(0.9), policy, low_streak=0).reason == "frustration"
    calm = BotPolicy(handoff_on_frustration=False)
    assert decide("this is useless", result(0.9), calm, low_streak=0).action == "answer"
    assert decide("hi", result(0.1), policy, low_streak=5).small_talk == "greeting"
    strict = BotPolicy(answer_threshold=0.95)
    assert decide("how?", result(0.9), strict, low_streak=0).action == "clarify"


def test_policy_refuses_bad_values() -> None:
    with pytest.raises(ValueError):
        BotPolicy.model_validate({"answer_threshold": 2})
    with pytest.raises(ValueError):
        BotPolicy.model_validate({"low_confidence_turns": 0})
    with pytest.raises(ValueError):
        BotPolicy.model_validate({"surprise": True})


def test_business_hours() -> None:
    hours = {
        "timezone": "Asia/Shanghai",
        "weekly": {"mon": [["09:00", "18:00"]], "sat": [["10:00", "12:00"]]},
        "closed_dates": ["2026-12-28"],
    }
    monday_10_shanghai = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    monday_20_shanghai = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    sunday = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    holiday = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)
    assert within_business_hours(hours, monday_10_shanghai)
    assert not within_business_hours(hours, monday_20_shanghai)
    assert not within_business_hours(hours, sunday)
    assert not within_business_hours(hours, holiday)
    assert within_business_hours({}, sunday), "no hours configured: always open"
    assert within_business_hours({"weekly": {"mon": [["9am", "5pm"]]}}, sunday), "invalid: open"
