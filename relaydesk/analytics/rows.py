"""The rollup rows of one conversation's facts (facts.py): its analytics_conversation row
and one analytics_cycle row per cycle, as plain dicts for Core executemany inserts."""

from __future__ import annotations

from relaydesk.analytics import facts as F


def conversation_row(result: F.ConversationFacts, team_id: int | None) -> dict[str, object]:
    human = F.human_cycles(result.cycles)
    first = human[0] if human else None
    resolved = next((c for c in result.cycles if c.resolution_s is not None), None)
    return {
        "conversation_id": result.conversation_id,
        "site_id": result.site_id,
        "started_at": result.started_at,
        "started_ts": result.started_at.timestamp(),
        "team_id": team_id,
        "channel": "widget",
        "bot_involved": result.bot_involved,
        "bot_outcome": result.bot_outcome,
        "bot_settles_ts": (
            result.bot_settles_at.timestamp() if result.bot_settles_at is not None else None
        ),
        "handoffs": result.handoffs,
        "handoff_reason": result.handoff_reason,
        "reopens": result.reopens,
        "transfers": result.transfers,
        "visitor_messages": result.visitor_messages,
        "bot_messages": result.bot_messages,
        "agent_messages": result.agent_messages,
        "csat": result.csat,
        "feedback_up": result.feedback_up,
        "feedback_down": result.feedback_down,
        "agent_ids": sorted(result.agent_ids),
        "resolved": result.resolved,
        "cycles": len(result.cycles),
        "first_response_s": first.frt_s if first else None,
        "first_response_bh_s": first.frt_bh_s if first else None,
        "resolution_s": resolved.resolution_s if resolved else None,
        "resolution_bh_s": resolved.resolution_bh_s if resolved else None,
        "queue_wait_s": first.queue_wait_s if first else None,
        "queue_wait_bh_s": first.queue_wait_bh_s if first else None,
    }


def cycle_row(result: F.ConversationFacts, cycle: F.Cycle) -> dict[str, object]:
    return {
        "conversation_id": result.conversation_id,
        "site_id": result.site_id,
        "number": cycle.number,
        "started_at": cycle.started_at,
        "started_ts": cycle.started_at.timestamp(),
        "agent_id": cycle.agent_id,
        "bot_replied": cycle.bot_replied,
        "human": cycle in F.human_cycles([cycle]),
        "handoff_at": cycle.handoff_at,
        "handoff_reason": cycle.handoff_reason,
        "assigned_at": cycle.assigned_at,
        "first_human_at": cycle.first_human_at,
        "resolved_at": cycle.resolved_at,
        "transfers": cycle.transfers,
        "frt_s": cycle.frt_s,
        "frt_bh_s": cycle.frt_bh_s,
        "queue_wait_s": cycle.queue_wait_s,
        "queue_wait_bh_s": cycle.queue_wait_bh_s,
        "resolution_s": cycle.resolution_s,
        "resolution_bh_s": cycle.resolution_bh_s,
    }
