"""Hand-built event lists for the definition tests: each call appends one event at
`minute` minutes after a fixed start (2026-03-02 09:00 UTC, a Monday)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from relaydesk.analytics.facts import ConversationFacts, EventRow, conversation_facts
from relaydesk.sites.hours import BusinessHours

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


class Log:
    def __init__(self) -> None:
        self.events: list[EventRow] = []
        self._ids = itertools.count(1)

    def add(
        self,
        minute: float,
        type: str,
        actor: str = "system",
        actor_id: str | None = None,
        **payload: Any,
    ) -> Log:
        self.events.append(EventRow(next(self._ids), type, at(minute), actor, actor_id, payload))
        return self

    def started(self, m: float) -> Log:
        return self.add(m, "conversation.started", "visitor", "v")

    def visitor(self, m: float) -> Log:
        return self.add(m, "message.stored", "visitor", "v", sender_kind="visitor")

    def bot(self, m: float) -> Log:
        return self.add(m, "message.stored", "bot", None, sender_kind="bot")

    def agent(self, m: float, agent: int = 7) -> Log:
        return self.add(m, "message.stored", "agent", str(agent), sender_kind="agent")

    def handoff(self, m: float, reason: str = "visitor_asked") -> Log:
        return self.add(m, "conversation.handoff_requested", "bot", reason=reason)

    def assigned(self, m: float, agent: int = 7) -> Log:
        return self.add(m, "conversation.assigned", "agent", str(agent), assignee_id=agent)

    def transferred(self, m: float, agent: int | None, team: int | None = None) -> Log:
        return self.add(
            m, "conversation.transferred", "agent", "7", assignee_id=agent, team_id=team
        )

    def resolved(self, m: float) -> Log:
        return self.add(m, "conversation.resolved", "agent", "7")

    def reopened(self, m: float) -> Log:
        return self.add(m, "conversation.reopened", "visitor", "v")

    def handed_back(self, m: float) -> Log:
        return self.add(m, "conversation.handed_back", "agent", "7")

    def csat(self, m: float, score: int) -> Log:
        return self.add(m, "csat.submitted", "visitor", "v", score=score, has_comment=False)

    def feedback(self, m: float, message_id: str, rating: str) -> Log:
        return self.add(m, "bot.feedback", "visitor", "v", message_id=message_id, rating=rating)

    def facts(
        self, now_minute: float = 10_000, hours: BusinessHours | None = None
    ) -> ConversationFacts:
        result = conversation_facts(
            conversation_id="c", site_id=1, events=self.events, now=at(now_minute), hours=hours
        )
        assert result is not None
        return result
