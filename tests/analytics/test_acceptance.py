"""Acceptance: 27 conversations driven through the real Socket.IO protocol, at chosen
times, yield exactly the figures computed by hand below.

The site is in Asia/Shanghai (UTC+8), open Monday to Friday 09:00-18:00. Day 1 is Monday
2 March 2026 (local). Groups, with their hand-computed figures:

G1  5 bot-only, answered (card question)            bot-resolved; feedback up on #1, down on #2
G2  5 bot answer, then "human" at +60 s; accept +30 s; first reply 60..300 s after the
    handoff; resolved 1200 s after the start; CSAT 5, 4, 4, 3, 1
G3  2 handoff, reply 60 s, resolved at +600 s; the visitor returns 1 h later (reopen), the
    bot answers, "human" again, accept +30 s, reply 600 s, resolved 1200 s after the reopen
G4  2 handoff, agent 1 accepts +30 s and transfers to agent 2 at +60 s; reply 300 s;
    resolved at 1800 s
G5  2 handoff at 17:50 local; accepted 09:05 and answered 09:10 the next day:
    wall 55,200 s (15 h 20 min), business hours 1,200 s (10 + 10 min); queue 54,900 / 900
G6  5 bot-only across midnight: 3 start 23:50 on day 1, 2 start 00:10 on day 2 (local)
G7  2 with no bot: the handoff button first, accept +30 s, reply 120 s after the handoff
G8  2 the bot answers, then an agent writes 90 s after the visitor (a takeover, no handoff)
G9  2 the bot answers; 2 h later the visitor asks for a human (a return within 24 h takes
    the resolution back); nobody accepts
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from relaydesk.analytics import aggregate, rollup
from relaydesk.analytics.frame import Filters
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Site
from relaydesk.sites import service as sites
from tests import sockets
from tests.analytics.conftest import Clock
from tests.analytics.scenario import Scenario, local, seconds
from tests.factories import bearer_for, make_staff, route_manually

CARD = "When will my card arrive?"
HUMAN = "I want to talk to a human"
HOURS = {
    "timezone": "Asia/Shanghai",
    "weekly": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


async def _play(s: Scenario, a1: sockets.Peer, a2: sockets.Peer, agent2_id: int) -> None:
    t = local(1, 10)
    for n in range(5):  # G1
        chat = await s.open(t + seconds(minutes=n))
        await s.say(chat, CARD, t + seconds(minutes=n))
        if n < 2:
            await s.feedback(chat, "up" if n == 0 else "down", t + seconds(minutes=n, seconds=10))
    t = local(1, 11)
    for n, (frt, score) in enumerate(zip((60, 120, 180, 240, 300), (5, 4, 4, 3, 1), strict=True)):
        start = t + seconds(minutes=10 * n)  # G2
        chat = await s.open(start)
        await s.say(chat, CARD, start)
        await s.say(chat, HUMAN, start + seconds(seconds=60))
        await s.accept(a1, chat, start + seconds(seconds=90))
        await s.reply(a1, chat, start + seconds(seconds=60 + frt))
        await s.resolve(a1, chat, start + seconds(seconds=1200))
        await s.csat(chat, score, start + seconds(seconds=1210))
    t = local(1, 12)
    for n in range(2):  # G3
        start = t + seconds(minutes=10 * n)
        chat = await s.open(start)
        await s.say(chat, HUMAN, start)
        await s.accept(a1, chat, start + seconds(seconds=30))
        await s.reply(a1, chat, start + seconds(seconds=60))
        await s.resolve(a1, chat, start + seconds(seconds=600))
        back = start + seconds(hours=1)
        await s.say(chat, CARD, back)
        await s.say(chat, HUMAN, back + seconds(seconds=10))
        await s.accept(a1, chat, back + seconds(seconds=40))
        await s.reply(a1, chat, back + seconds(seconds=610))
        await s.resolve(a1, chat, back + seconds(seconds=1200))
    t = local(1, 14)
    for n in range(2):  # G4
        start = t + seconds(minutes=10 * n)
        chat = await s.open(start)
        await s.say(chat, HUMAN, start)
        await s.accept(a1, chat, start + seconds(seconds=30))
        await s.transfer(a1, chat, agent2_id, start + seconds(seconds=60))
        await s.reply(a2, chat, start + seconds(seconds=300))
        await s.resolve(a2, chat, start + seconds(seconds=1800))
    for n in range(2):  # G5
        start = local(1, 17, 50, n)
        chat = await s.open(start)
        await s.say(chat, HUMAN, start)
        await s.accept(a1, chat, local(2, 9, 5, n))
        await s.reply(a1, chat, local(2, 9, 10, n))
    for start in [local(1, 23, 50, n) for n in range(3)] + [local(2, 0, 10, n) for n in range(2)]:
        chat = await s.open(start)  # G6
        await s.say(chat, CARD, start)
    t = local(1, 15)
    for n in range(2):  # G7
        start = t + seconds(minutes=10 * n)
        chat = await s.open(start)
        await s.handoff_button(chat, start)
        await s.say(chat, "Hello?", start + seconds(seconds=5), bot=False)
        await s.accept(a1, chat, start + seconds(seconds=30))
        await s.reply(a1, chat, start + seconds(seconds=120))
    t = local(1, 16)
    for n in range(2):  # G8
        start = t + seconds(minutes=10 * n)
        chat = await s.open(start)
        await s.say(chat, CARD, start)
        await s.reply(a1, chat, start + seconds(seconds=90))
    t = local(1, 13)
    for n in range(2):  # G9
        start = t + seconds(minutes=10 * n)
        chat = await s.open(start)
        await s.say(chat, CARD, start)
        await s.say(chat, HUMAN, start + seconds(hours=2))


@pytest.fixture
async def played(db: Database, site: Site, clock: Clock, live_server: str) -> dict[str, Any]:
    assert site.id is not None
    await sites.update_site(db, site_id=site.id, business_hours=HOURS)
    await route_manually(db, site)
    agent1 = await make_staff(db, site=site, name="Ann")
    agent2 = await make_staff(db, site=site, name="Bo")
    admin = await make_staff(db, roles=[Role.ADMIN])
    assert agent2.id is not None
    a1 = await sockets.staff(live_server, bearer_for(agent1))
    a2 = await sockets.staff(live_server, bearer_for(agent2))
    scenario = Scenario(db, clock, live_server, site.site_key)
    try:
        await _play(scenario, a1, a2, agent2.id)
    finally:
        await scenario.close()
        await a1.disconnect()
        await a2.disconnect()
    clock.set(local(10, 12))  # every bot answer's 24 h window has closed
    return {
        "base": live_server,
        "site": site.id,
        "admin": bearer_for(admin),
        "a1": agent1,
        "db": db,
    }


async def _get(played: dict[str, Any], path: str, token: str | None = None, **query: Any) -> Any:
    async with httpx.AsyncClient(base_url=played["base"]) as client:
        response = await client.get(
            path,
            params={"site": played["site"], **query},
            headers={"Authorization": f"Bearer {token or played['admin']}"},
        )
    assert response.status_code == 200, response.text
    return response.json() if "json" in response.headers["content-type"] else response.text


@pytest.mark.postgres
async def test_scenario_yields_the_hand_computed_figures(played: dict[str, Any]) -> None:
    o = await _get(
        played, "/api/v1/analytics/overview", **{"from": "2026-03-02", "to": "2026-03-03"}
    )
    assert o["timezone"] == "Asia/Shanghai"
    assert o["conversations"] == 27
    bot = o["bot"]
    # Involved: all but G7. Resolved: G1 + G6. Handed off: G2-G5 and G9. Human: G8.
    assert (bot["involved"], bot["resolved"], bot["handed_off"], bot["human"]) == (25, 10, 13, 2)
    assert (bot["resolution_rate"], bot["handoff_rate"]) == (0.4, 0.52)
    assert bot["resolution_rate"] + bot["handoff_rate"] <= 1
    handoffs = o["handoffs"]
    # Cycles with a handoff: G2 5, G3 4, G4 2, G5 2, G7 2, G9 2.
    assert handoffs["total"] == 17 and handoffs["conversations"] == 15
    assert handoffs["by_reason"] == {"visitor_asked": 15, "visitor_request": 2}
    # First response samples: 60 120 180 240 300 | 60 60 600 600 | 300 300 |
    # 55200 55200 | 120 120 | 90 90 -> sorted, n = 17: median the 9th = 180;
    # p90 at rank 14.4 = 600 + 0.4 * (55200 - 600) = 22440.
    frt = o["first_response_s"]
    assert (frt["count"], frt["median"], frt["p90"]) == (17, 180.0, 22440.0)
    # Within business hours G5's two become 1200: p90 = 600 + 0.4 * 600 = 840.
    assert (frt["business_hours"]["median"], frt["business_hours"]["p90"]) == (180.0, 840.0)
    # Queue waits: 13 x 30 s (G2 5, G3 4, G4 2, G7 2) and G5's 54900 twice; n = 15,
    # p90 at rank 12.6 = 30 + 0.6 * 54870 = 32952. Business hours: 900 for G5.
    wait = o["queue_wait_s"]
    assert (wait["count"], wait["median"], wait["p90"]) == (15, 30.0, 32952.0)
    assert wait["business_hours"]["p90"] == 552.0  # 30 + 0.6 * 870
    # Resolutions: G2 5 x 1200, G3 600 600 1200 1200, G4 1800 1800 -> median 1200, p90
    # at rank 9 = 1800.
    resolution = o["resolution_s"]
    assert (resolution["count"], resolution["median"], resolution["p90"]) == (11, 1200.0, 1800.0)
    assert o["resolved"] == 9 and o["reopened"] == 2 and o["transferred"] == 2
    csat = o["csat"]
    assert (csat["responses"], csat["average"]) == (5, 3.4)
    assert csat["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 2, "5": 1}
    assert csat["response_rate"] == round(5 / 9, 4)
    assert o["feedback"] == {"up": 1, "down": 1, "ratio": 0.5}


async def test_day_boundaries_follow_the_chosen_zone(played: dict[str, Any]) -> None:
    """chatwoot#14202: G6's 00:10 conversations are on day 2 in Shanghai but on day 1 in
    UTC (16:10 UTC), and the 23:50 ones are on day 1 in both."""
    query = {"from": "2026-03-02", "to": "2026-03-03", "metric": "conversations"}
    shanghai = await _get(played, "/api/v1/analytics/timeseries", **query)
    assert [p["value"] for p in shanghai["points"]] == [25.0, 2.0]
    assert shanghai["points"][0]["start"] == "2026-03-02T00:00:00+08:00"
    utc = await _get(played, "/api/v1/analytics/timeseries", tz="UTC", **query)
    assert [p["value"] for p in utc["points"]] == [27.0, 0.0]


@pytest.mark.postgres
async def test_summary_equals_timeseries_totals(played: dict[str, Any]) -> None:
    """chatwoot#12261: every count metric's points sum to the overview's figure, for days
    and hours, in two zones."""
    span = {"from": "2026-03-01", "to": "2026-03-04"}
    for tz in ("Asia/Shanghai", "America/New_York"):
        o = await _get(played, "/api/v1/analytics/overview", tz=tz, **span)
        expected = {
            "conversations": o["conversations"],
            "bot_resolved": o["bot"]["resolved"],
            "bot_involved": o["bot"]["involved"],
            "handoffs": o["handoffs"]["total"],
            "csat_responses": o["csat"]["responses"],
            "feedback_down": o["feedback"]["down"],
        }
        for metric, total in expected.items():
            for interval in ("day", "hour"):
                series = await _get(
                    played,
                    "/api/v1/analytics/timeseries",
                    tz=tz,
                    metric=metric,
                    interval=interval,
                    **span,
                )
                assert sum(p["value"] for p in series["points"]) == total, (tz, metric)
                assert series["total"] == total
        frt = await _get(
            played, "/api/v1/analytics/timeseries", tz=tz, metric="first_response_s", **span
        )
        assert sum(p["count"] for p in frt["points"]) == o["first_response_s"]["count"]


@pytest.mark.postgres
async def test_slot_rollup_sums_equal_the_conversation_rows(
    played: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """analytics_slot (the pre-added counts) gives exactly the sums over
    analytics_conversation, for the whole range and per day and hour, in two zones."""
    db: Database = played["db"]
    span = {"from": "2026-03-01", "to": "2026-03-04"}
    before = await _get(played, "/api/v1/analytics/overview", **span)
    # A rebuild as a backfill runs it: slots re-added per site whole, then ANALYZE (and
    # VACUUM on PostgreSQL); the figures do not move.
    monkeypatch.setattr(rollup, "SLOT_RANGES", 0)
    monkeypatch.setattr(rollup, "ANALYZE_AFTER", 1)
    assert await rollup.rebuild(db) >= 27
    monkeypatch.undo()
    assert await _get(played, "/api/v1/analytics/overview", **span) == before
    for tz in ("Asia/Shanghai", "America/New_York", "Asia/Kathmandu"):
        for extra in ({}, {"channel": "widget"}, {"team_id": 1}):
            filters = Filters(
                site_id=played["site"],
                date_from=date(2026, 3, 1),
                date_to=date(2026, 3, 4),
                tz=tz,
                **extra,  # type: ignore[arg-type]
            )
            async with db.engine.connect() as connection:
                a = aggregate.Aggregator(connection, filters)
                assert a._slots() is not None
                buckets = [None, a.bucket("day")[0], a.bucket("hour")[0]]
                from_slots = [await a.conversations(b) for b in buckets]
                monkeypatch.setattr(aggregate.Aggregator, "_slots", lambda self: None)
                from_rows = [await a.conversations(b) for b in buckets]
                monkeypatch.undo()
            # The row path has no row for an empty range; the slot path sums to zeros.
            for slots, rows in zip(from_slots, from_rows, strict=True):
                nonzero = {k: v for k, v in slots.items() if any(v.values())}
                assert nonzero == {k: v for k, v in rows.items() if any(v.values())}, (tz, extra)
            total = from_slots[0][0]["conversations"]
            assert total >= 27 if "team_id" not in extra else total == 0


@pytest.mark.postgres
async def test_cycle_slot_rollups_give_the_cycle_rows_figures(
    played: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """analytics_cycle_slot and analytics_handoff_slot (the time values and handoff counts
    per slot) give exactly what the cycle rows give: every time column's count, median,
    p90 and mean, and the handoffs by reason, for the whole range and per day and hour,
    in several zones, after the refreshes the scenario made and after a rebuild."""
    db: Database = played["db"]
    await _get(played, "/api/v1/analytics/overview", **{"from": "2026-03-01", "to": "2026-03-04"})
    columns = [f"{p}{s}" for p in aggregate.TIME_COLUMNS.values() for s in ("_s", "_bh_s")]
    for rebuilt in (False, True):
        if rebuilt:
            monkeypatch.setattr(rollup, "SLOT_RANGES", 0)  # re-made per site whole
            assert await rollup.rebuild(db) >= 27
            monkeypatch.undo()
        for tz in ("UTC", "Asia/Shanghai", "America/New_York", "Asia/Kathmandu"):
            for extra in ({}, {"channel": "widget"}, {"team_id": 1}):
                filters = Filters(
                    site_id=played["site"],
                    date_from=date(2026, 3, 1),
                    date_to=date(2026, 3, 4),
                    tz=tz,
                    **extra,  # type: ignore[arg-type]
                )
                async with db.engine.connect() as connection:
                    a = aggregate.Aggregator(connection, filters)
                    assert a._slots() is not None
                    buckets = [None, a.bucket("day")[0], a.bucket("hour")[0]]
                    from_slots = [(await a.times(columns, b), await a.handoffs(b)) for b in buckets]
                    monkeypatch.setattr(aggregate.Aggregator, "_slots", lambda self: None)
                    from_rows = [(await a.times(columns, b), await a.handoffs(b)) for b in buckets]
                    monkeypatch.undo()
                assert from_slots == from_rows, (tz, extra, rebuilt)
                whole_times, whole_handoffs = from_slots[0]
                if "team_id" in extra:
                    assert not whole_handoffs and not any(whole_times.values())
                else:
                    assert whole_times["frt_s"][0].count > 0 and sum(whole_handoffs[0].values()) > 0


async def test_export_respects_business_hours_and_lists_every_conversation(
    played: dict[str, Any],
) -> None:
    """chatwoot#11057: the exported time figures have business-hours variants that match
    the dashboard's; one CSV row per conversation."""
    span = {"from": "2026-03-02", "to": "2026-03-03"}
    rows = (await _get(played, "/api/v1/analytics/conversations.csv", **span)).splitlines()
    assert len(rows) == 1 + 27
    assert "first_response_s" in rows[0] and "first_response_bh_s" in rows[0]
    g5 = [r for r in rows if ",55200.0," in r]
    assert len(g5) == 2 and all(",1200.0," in r for r in g5)
    series = await _get(
        played,
        "/api/v1/analytics/timeseries",
        metric="first_response_s",
        business_hours="true",
        stat="p90",
        **span,
    )
    assert series["total"] == 840.0


async def test_agents_see_only_their_own_figures(played: dict[str, Any]) -> None:
    token = bearer_for(played["a1"])
    span = {"from": "2026-03-02", "to": "2026-03-03"}
    mine = await _get(played, "/api/v1/analytics/overview", token, **span)
    # Agent 1 answered every human cycle but G4's two (agent 2 replied there).
    assert mine["first_response_s"]["count"] == 15
    ids = await _get(played, "/api/v1/analytics/drilldown", token, metric="conversations", **span)
    assert len(ids["conversation_ids"]) == mine["conversations"]
