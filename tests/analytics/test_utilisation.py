"""Agent load and utilisation (docs/analytics.md) on a hand-computed case, and through
REST."""

from __future__ import annotations

import httpx
import pytest

from relaydesk.analytics import facts as F
from relaydesk.analytics.utilisation import PRESENCE, LogEvent, timelines
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from tests.analytics.seed import Chat, seed
from tests.factories import bearer_for, make_site, make_staff

H = 3600.0
DAY = 86400.0


def _presence(at: float, agent: int, status: str) -> LogEvent:
    return LogEvent(at, PRESENCE, None, {"user_id": agent, "status": status})


def _own(at: float, kind: str, conversation: str, agent: int | None = None) -> LogEvent:
    return LogEvent(at, kind, conversation, {"assignee_id": agent})


EVENTS = [
    _own(-100, F.ASSIGNED, "c0", 1),  # before the range: agent 1 starts with one
    _presence(-50, 1, "online"),
    _own(1 * H, F.ASSIGNED, "c1", 1),  # two: at capacity
    _own(2 * H, F.TRANSFERRED, "c1", 2),  # to agent 2, who is offline
    _presence(3 * H, 1, "away"),
    _own(4 * H, F.RESOLVED, "c0"),
    _presence(5 * H, 1, "online"),
    _presence(23 * H, 1, "offline"),
    _presence(DAY + 1 * H, 2, "online"),
    _own(DAY + 2 * H, F.REOPENED, "c1"),  # a reopen takes it from its owner
    _own(DAY + 3 * H, F.ASSIGNED, "c9", 3),  # agent 3 is not reported on
]


def test_utilisation_by_hand() -> None:
    found = timelines(EVENTS, [0.0, DAY, 2 * DAY], {1: 2, 2: 4}, now=10 * DAY)
    one, two = found[1], found[2]
    # Agent 1, day 1: online 0-3 h (1, 2, 1 conversations) and 5-23 h (none); away 3-5 h.
    assert one.buckets[0].figures(2) == {
        "online_s": 3 * H + 18 * H,
        "away_s": 2 * H,
        "concurrent_avg": round((1 + 2 + 1) * H / (21 * H), 3),  # 0.19
        "concurrent_peak": 2,
        "utilisation": round((4 / 21) / 2, 4),  # 0.0952
        "at_capacity_s": 1 * H,
    }
    # Day 2: offline, owning nothing.
    assert one.buckets[1].figures(2)["online_s"] == 0
    assert one.buckets[1].figures(2)["utilisation"] is None
    assert one.whole.figures(2) == one.buckets[0].figures(2)
    # Agent 2 held c1 offline on day 1 (peak 1, no online time), then was online from
    # 25 h to the end with it for the first hour.
    assert two.buckets[0].figures(4) == {
        "online_s": 0,
        "away_s": 0,
        "concurrent_avg": None,
        "concurrent_peak": 1,
        "utilisation": None,
        "at_capacity_s": 0,
    }
    assert two.buckets[1].figures(4) == {
        "online_s": 23 * H,
        "away_s": 0,
        "concurrent_avg": round(1 / 23, 3),
        "concurrent_peak": 1,
        "utilisation": round(1 / 23 / 4, 4),
        "at_capacity_s": 0,
    }
    assert 3 not in found


def test_the_range_ends_now() -> None:
    found = timelines(EVENTS, [0.0, DAY, 2 * DAY], {1: 2}, now=12 * H)
    # Online 0-3 h and 5-12 h.
    assert found[1].whole.figures(2)["online_s"] == 10 * H
    assert found[1].buckets[1].figures(2)["online_s"] == 0


async def test_rest_and_scope(db: Database, live_server: str) -> None:
    site = await make_site(db)
    ava = await make_staff(db, site=site, name="Ava")
    bo = await make_staff(db, site=site, name="Bo")
    admin = await make_staff(db, roles=[Role.ADMIN])
    await seed(db, site, [Chat(1, "visitor_asked", ava), Chat(1, "visitor_asked", bo)])
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:

        async def get(who: object, **params: object) -> httpx.Response:
            return await client.get(
                "/api/v1/analytics/utilisation",
                params={"site": site.id, **params},
                headers={"Authorization": f"Bearer {bearer_for(who)}"},  # type: ignore[arg-type]
            )

        rows = (await get(admin)).json()
        assert [(r["name"], r["concurrent_peak"], r["capacity"]) for r in rows] == [
            ("Ava", 1, ava.capacity),
            ("Bo", 1, bo.capacity),
        ]
        assert len(rows[0]["points"]) == 7
        # Agents see their own row only.
        assert [r["name"] for r in (await get(bo)).json()] == ["Bo"]
        assert (await get(bo, agent=ava.id)).status_code == 403
        csv = await client.get(
            "/api/v1/analytics/utilisation.csv",
            params={"site": site.id},
            headers={"Authorization": f"Bearer {bearer_for(admin)}"},
        )
        assert csv.text.splitlines()[0].startswith("agent_id,name,capacity,online_s")


@pytest.mark.parametrize("interval", ["week"])
async def test_bad_interval(db: Database, live_server: str, interval: str) -> None:
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        response = await client.get(
            "/api/v1/analytics/utilisation",
            params={"site": site.id, "interval": interval},
            headers={"Authorization": f"Bearer {bearer_for(admin)}"},
        )
    assert response.status_code == 422
