"""Each definition in docs/analytics.md on hand-computed event lists (facts.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np

from relaydesk.analytics import facts as F
from relaydesk.analytics.figures import percentiles
from relaydesk.analytics.hours import bucket_edges, business_seconds
from relaydesk.sites.hours import BusinessHours
from tests.analytics.builder import Log, at

DAY = 24 * 60
NINE_TO_FIVE = BusinessHours.model_validate(
    {"timezone": "UTC", "weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed")}}
)


def test_first_response_runs_from_the_handoff_and_skips_bot_replies() -> None:
    # chatwoot#13312: the bot's replies at 0.1 and 1 are not a first response.
    log = Log().started(0).visitor(0).bot(0.1).visitor(0.5).bot(1).handoff(2).assigned(3)
    facts = log.agent(5).resolved(10).facts()
    (cycle,) = facts.cycles
    assert cycle.frt_s == 180.0
    assert cycle.queue_wait_s == 60.0
    assert cycle.resolution_s == 600.0
    assert facts.bot_outcome == F.HANDED_OFF


def test_first_response_without_the_bot_runs_from_the_visitors_first_message() -> None:
    facts = Log().started(0).visitor(1).visitor(2).agent(5).facts()
    assert facts.cycles[0].frt_s == 240.0
    assert facts.cycles[0].queue_wait_s is None  # never queued
    assert not facts.bot_involved and facts.bot_outcome is None


def test_a_reopen_starts_a_new_cycle() -> None:
    # chatwoot#12058: the second contact has its own first response, not 0 and not a
    # figure measured from the first contact.
    log = Log().started(0).visitor(0).handoff(1).agent(3).resolved(5)
    log.reopened(100).visitor(100).bot(100.2).handoff(101).agent(111).resolved(120)
    facts = log.facts()
    assert [c.frt_s for c in facts.cycles] == [120.0, 600.0]
    assert [c.resolution_s for c in facts.cycles] == [300.0, 1200.0]
    assert facts.reopens == 1 and facts.resolved


def test_a_hand_back_starts_a_new_cycle_but_not_a_new_contact() -> None:
    log = Log().started(0).visitor(0).handoff(1).agent(2).handed_back(3)
    log.visitor(4).bot(4.1).handoff(5).agent(9).resolved(10)
    first, second = log.facts().cycles
    assert (first.frt_s, second.frt_s) == (60.0, 240.0)
    assert (first.resolution_s, second.resolution_s) == (None, 600.0)


def test_bot_resolution_settles_after_24_hours_without_a_person() -> None:
    log = Log().started(0).visitor(0).bot(0.5)
    assert log.facts(now_minute=60).bot_outcome == F.PENDING
    assert log.facts(now_minute=60).bot_settles_at == at(0.5 + DAY)
    assert log.facts(now_minute=0.5 + DAY + 1).bot_outcome == F.RESOLVED_BY_BOT


def test_a_return_within_24_hours_takes_the_resolution_back() -> None:
    handed_off = Log().started(0).visitor(0).bot(0.5).visitor(600).bot(600.5).handoff(601)
    assert handed_off.facts().bot_outcome == F.HANDED_OFF
    unanswered = Log().started(0).visitor(0).bot(0.5).visitor(600)
    assert unanswered.facts().bot_outcome == F.UNANSWERED
    # A return after the window does not: the first contact was resolved by the bot.
    late = Log().started(0).visitor(0).bot(0.5).visitor(DAY + 60).bot(DAY + 60.5)
    assert late.handoff(DAY + 61).facts().bot_outcome == F.RESOLVED_BY_BOT


def test_a_person_without_a_handoff_request_is_not_a_bot_resolution() -> None:
    facts = Log().started(0).visitor(0).bot(0.5).agent(3).facts()
    assert facts.bot_outcome == F.HUMAN
    assert facts.cycles[0].frt_s == 180.0  # from the visitor's first message
    before = Log().started(0).visitor(0).handoff(0.1).bot(0.2).facts()
    assert before.bot_outcome == F.BEFORE_BOT


def test_business_hours_count_only_open_time() -> None:
    # Handoff Monday 16:50 UTC, reply Tuesday 09:10: 16 h 20 min on the wall clock, 20
    # minutes of business hours (chatwoot#11057).
    log = Log().started(0).visitor(0).handoff(7 * 60 + 50).agent(DAY + 10)
    (cycle,) = log.facts(hours=NINE_TO_FIVE).cycles
    assert cycle.frt_s == 16 * 3600 + 20 * 60
    assert cycle.frt_bh_s == 20 * 60
    closed = NINE_TO_FIVE.model_copy(update={"closed_dates": [date(2026, 3, 3)]})
    # Tuesday closed: Monday's 10 minutes, then Wednesday from 09:00 to 09:10.
    assert business_seconds(at(7 * 60 + 50), at(2 * DAY + 10), closed) == 20 * 60


def test_business_hours_in_a_zone_with_daylight_saving() -> None:
    hours = BusinessHours.model_validate(
        {"timezone": "America/New_York", "weekly": {"sun": [["00:00", "24:00"]]}}
    )
    # 2026-03-08 is the spring-forward Sunday in New York: 23 hours long.
    start = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    end = datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
    assert business_seconds(start, end, hours) == 23 * 3600


def test_csat_keeps_the_last_score_and_feedback_the_final_rating() -> None:
    log = Log().started(0).visitor(0).bot(1).feedback(2, "m1", "up").feedback(3, "m1", "down")
    facts = log.feedback(4, "m2", "up").resolved(5).csat(6, 2).csat(7, 4).facts()
    assert (facts.feedback_up, facts.feedback_down) == (1, 1)
    assert facts.csat == 4


def test_transfers_and_agents() -> None:
    log = Log().started(0).visitor(0).handoff(1).assigned(2, agent=7).transferred(4, 9)
    facts = log.agent(6, agent=9).facts()
    assert facts.transfers == 1 and facts.agent_ids == {7, 9}
    (cycle,) = facts.cycles
    assert cycle.agent_id == 9 and cycle.responder_id == 9
    assert cycle.frt_s == 300.0 and cycle.queue_wait_s == 60.0


def test_percentiles_interpolate_linearly() -> None:
    figure = percentiles(np.array([60.0, 120.0, 300.0, np.nan]))
    assert (figure.count, figure.median, figure.p90, figure.mean) == (3, 120.0, 264.0, 160.0)
    assert percentiles(np.array([np.nan])).median is None


def test_day_buckets_follow_the_zone_including_dst() -> None:
    # chatwoot#14202: a day in Shanghai starts at 16:00 UTC the day before.
    edges = bucket_edges(date(2026, 3, 2), date(2026, 3, 3), ZoneInfo("Asia/Shanghai"), "day")
    assert [e.isoformat() for e in edges] == [
        "2026-03-01T16:00:00+00:00",
        "2026-03-02T16:00:00+00:00",
        "2026-03-03T16:00:00+00:00",
    ]
    hours = bucket_edges(date(2026, 3, 8), date(2026, 3, 8), ZoneInfo("America/New_York"), "hour")
    assert len(hours) - 1 == 23
