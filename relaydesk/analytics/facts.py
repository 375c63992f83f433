"""Per-conversation figures, computed from the conversation's events alone.

`conversation_facts` is a pure function of an ordered event list (and "now", which only
decides whether a bot resolution has settled), so the definitions in docs/analytics.md
are tested on hand-built event lists, and the rollup tables (rollup.py) are a cache of
its output that can always be rebuilt from the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from relaydesk.analytics.hours import business_seconds
from relaydesk.sites.hours import BusinessHours

# A bot answer settles as a resolution when nothing asks for more within this window.
BOT_WINDOW = timedelta(hours=24)

STARTED = "conversation.started"
MESSAGE = "message.stored"
HANDOFF = "conversation.handoff_requested"
ASSIGNED = "conversation.assigned"
TRANSFERRED = "conversation.transferred"
RESOLVED = "conversation.resolved"
REOPENED = "conversation.reopened"
HANDED_BACK = "conversation.handed_back"
CSAT = "csat.submitted"
FEEDBACK = "bot.feedback"
BOT_REPLIED = "bot.replied"
# The events a conversation's figures read (anything else is ignored).
RELEVANT = (
    STARTED,
    MESSAGE,
    HANDOFF,
    ASSIGNED,
    TRANSFERRED,
    RESOLVED,
    REOPENED,
    HANDED_BACK,
    CSAT,
    FEEDBACK,
    BOT_REPLIED,
)

# The bot's outcome in a conversation it took part in (exactly one, so the rates over
# bot-involved conversations can never sum past 100%).
RESOLVED_BY_BOT = "resolved"
HANDED_OFF = "handoff"
HUMAN = "human"  # a person stepped in without a handoff request
UNANSWERED = "unanswered"  # the visitor wrote again and the bot did not answer
PENDING = "pending"  # the 24 h window is still open
BEFORE_BOT = "before_bot"  # a person or a handoff came before the bot's first reply


@dataclass(frozen=True)
class EventRow:
    id: int
    type: str
    at: datetime
    actor_kind: str
    actor_id: str | None
    payload: dict[str, Any]


@dataclass
class Cycle:
    """One bot→human cycle: from the conversation's start, a reopen or a hand-back to the
    next of these."""

    number: int
    started_at: datetime
    # The start of the contact the cycle belongs to (conversation start or reopen):
    # resolution time runs from here.
    contact_started_at: datetime
    first_visitor_at: datetime | None = None
    bot_replied: bool = False
    handoff_at: datetime | None = None
    handoff_reason: str | None = None
    assigned_at: datetime | None = None
    first_human_at: datetime | None = None
    resolved_at: datetime | None = None
    agent_id: int | None = None
    responder_id: int | None = None
    transfers: int = 0
    frt_s: float | None = None
    frt_bh_s: float | None = None
    queue_wait_s: float | None = None
    queue_wait_bh_s: float | None = None
    resolution_s: float | None = None
    resolution_bh_s: float | None = None

    @property
    def response_from(self) -> datetime | None:
        """Where the first response time starts: the handoff request, else the visitor's
        first message of the cycle."""
        return self.handoff_at or self.first_visitor_at


@dataclass
class ConversationFacts:
    conversation_id: str
    site_id: int
    started_at: datetime
    cycles: list[Cycle] = field(default_factory=list)
    bot_involved: bool = False
    bot_outcome: str | None = None
    bot_settles_at: datetime | None = None
    handoffs: int = 0
    handoff_reason: str | None = None
    reopens: int = 0
    transfers: int = 0
    visitor_messages: int = 0
    bot_messages: int = 0
    agent_messages: int = 0
    csat: int | None = None
    feedback_up: int = 0
    feedback_down: int = 0
    agent_ids: set[int] = field(default_factory=set)
    # Resolved at least once (a reopen does not take it back: the resolution happened).
    resolved: bool = False
    last_event_at: datetime | None = None

    @property
    def bot_resolved(self) -> bool:
        return self.bot_outcome == RESOLVED_BY_BOT


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


class _BotOutcome:
    """Decides the bot's outcome while the events are walked in order."""

    def __init__(self) -> None:
        self.last_reply: datetime | None = None
        self.waiting_visitor: datetime | None = None
        self.outcome: str | None = None

    def close_window(self, at: datetime) -> None:
        """Nothing happened until `at`: settle if the window after the last reply ended."""
        last = self.last_reply
        if self.outcome is None and last is not None and at > last + BOT_WINDOW:
            self.outcome = RESOLVED_BY_BOT if self.waiting_visitor is None else UNANSWERED

    def bot_reply(self, at: datetime) -> None:
        if self.outcome is None:
            self.last_reply, self.waiting_visitor = at, None

    def visitor_message(self, at: datetime) -> None:
        if self.outcome is None and self.last_reply is not None and self.waiting_visitor is None:
            self.waiting_visitor = at

    def person(self, outcome: str) -> None:
        if self.outcome is None:
            self.outcome = outcome if self.last_reply is not None else BEFORE_BOT


def conversation_facts(
    *,
    conversation_id: str,
    site_id: int,
    events: Sequence[EventRow],
    now: datetime,
    hours: BusinessHours | None = None,
) -> ConversationFacts | None:
    """The figures of one conversation from its events (ordered by time, then id)."""
    if not events:
        return None
    start = next((e.at for e in events if e.type == STARTED), events[0].at)
    facts = ConversationFacts(conversation_id=conversation_id, site_id=site_id, started_at=start)
    cycle = Cycle(number=1, started_at=start, contact_started_at=start)
    facts.cycles.append(cycle)
    bot = _BotOutcome()
    ratings: dict[str, str] = {}

    def new_cycle(at: datetime, *, contact: bool) -> Cycle:
        nonlocal cycle
        cycle = Cycle(
            number=cycle.number + 1,
            started_at=at,
            contact_started_at=at if contact else cycle.contact_started_at,
        )
        facts.cycles.append(cycle)
        return cycle

    def assign(at: datetime, agent: int | None) -> None:
        if agent is None:
            return
        facts.agent_ids.add(agent)
        cycle.agent_id = agent
        if cycle.assigned_at is None:
            cycle.assigned_at = at

    for event in events:
        bot.close_window(event.at)
        facts.last_event_at = event.at
        payload = event.payload
        if event.type == MESSAGE:
            kind = payload.get("sender_kind")
            if kind == "visitor":
                facts.visitor_messages += 1
                if cycle.first_visitor_at is None:
                    cycle.first_visitor_at = event.at
                bot.visitor_message(event.at)
            elif kind == "bot":
                facts.bot_messages += 1
                facts.bot_involved = cycle.bot_replied = True
                bot.bot_reply(event.at)
            elif kind == "agent":
                facts.agent_messages += 1
                agent = _int(event.actor_id)
                if cycle.first_human_at is None:
                    cycle.first_human_at = event.at
                    cycle.responder_id = agent
                if agent is not None:
                    facts.agent_ids.add(agent)
                    if cycle.agent_id is None:
                        cycle.agent_id = agent
                bot.person(HUMAN)
        elif event.type == HANDOFF:
            facts.handoffs += 1
            facts.handoff_reason = facts.handoff_reason or payload.get("reason")
            if cycle.handoff_at is None:
                cycle.handoff_at = event.at
                cycle.handoff_reason = payload.get("reason")
            bot.person(HANDED_OFF)
        elif event.type == ASSIGNED:
            assign(event.at, _int(payload.get("assignee_id")))
            bot.person(HUMAN)
        elif event.type == TRANSFERRED:
            facts.transfers += 1
            cycle.transfers += 1
            assign(event.at, _int(payload.get("assignee_id")))
            bot.person(HUMAN)
        elif event.type == RESOLVED:
            facts.resolved = True
            cycle.resolved_at = event.at
        elif event.type == REOPENED:
            facts.reopens += 1
            new_cycle(event.at, contact=True)
        elif event.type == HANDED_BACK:
            new_cycle(event.at, contact=False)
        elif event.type == CSAT:
            facts.csat = _int(payload.get("score"))
        elif event.type == FEEDBACK:
            message_id = str(payload.get("message_id"))
            ratings[message_id] = str(payload.get("rating"))

    bot.close_window(now)
    if bot.outcome is None and bot.last_reply is not None:
        facts.bot_outcome = PENDING
        facts.bot_settles_at = bot.last_reply + BOT_WINDOW
    elif facts.bot_involved:
        facts.bot_outcome = bot.outcome
    facts.feedback_up = sum(1 for r in ratings.values() if r == "up")
    facts.feedback_down = sum(1 for r in ratings.values() if r == "down")
    for c in facts.cycles:
        _durations(c, hours)
    return facts


def _durations(cycle: Cycle, hours: BusinessHours | None) -> None:
    def span(start: datetime | None, end: datetime | None) -> tuple[float | None, float | None]:
        if start is None or end is None or end < start:
            return None, None
        return (end - start).total_seconds(), business_seconds(start, end, hours)

    cycle.frt_s, cycle.frt_bh_s = span(cycle.response_from, cycle.first_human_at)
    if cycle.handoff_at is not None:
        cycle.queue_wait_s, cycle.queue_wait_bh_s = span(cycle.handoff_at, cycle.assigned_at)
    cycle.resolution_s, cycle.resolution_bh_s = span(cycle.contact_started_at, cycle.resolved_at)


def human_cycles(cycles: Iterable[Cycle]) -> list[Cycle]:
    """Cycles a person took part in (a handoff, an assignment or a reply)."""
    return [
        c
        for c in cycles
        if c.handoff_at is not None or c.assigned_at is not None or c.first_human_at is not None
    ]
