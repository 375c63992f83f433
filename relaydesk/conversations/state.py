"""The conversation state machine, as data.

`bot` → `queued` (handoff requested) → `assigned` (a human owns it) → `resolved`;
`resolved` → `bot` on a new visitor message; `assigned` → `bot` when handed back;
`assigned` → `assigned` on transfer to another agent; `bot`/`queued` → `assigned` when an
agent takes the conversation over.
"""

from __future__ import annotations

from enum import StrEnum

from relaydesk.conversations.models import ConversationStatus as S
from relaydesk.core.errors import IllegalTransition


class Transition(StrEnum):
    REQUEST_HANDOFF = "request_handoff"
    ASSIGN = "assign"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    HAND_BACK = "hand_back"


ALLOWED: dict[Transition, dict[S, S]] = {
    Transition.REQUEST_HANDOFF: {S.BOT: S.QUEUED},
    Transition.ASSIGN: {S.BOT: S.ASSIGNED, S.QUEUED: S.ASSIGNED, S.ASSIGNED: S.ASSIGNED},
    Transition.RESOLVE: {S.BOT: S.RESOLVED, S.QUEUED: S.RESOLVED, S.ASSIGNED: S.RESOLVED},
    Transition.REOPEN: {S.RESOLVED: S.BOT},
    Transition.HAND_BACK: {S.ASSIGNED: S.BOT},
}


def next_status(current: str, transition: Transition) -> S:
    """The status after `transition`, or IllegalTransition naming what is allowed."""
    targets = ALLOWED[transition]
    try:
        return targets[S(current)]
    except (KeyError, ValueError):
        allowed = ", ".join(sorted(targets)) or "none"
        raise IllegalTransition(
            f"cannot {transition.value.replace('_', ' ')} a conversation that is {current} "
            f"(allowed from: {allowed})",
            status=current,
            transition=transition.value,
        ) from None
