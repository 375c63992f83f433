"""The inbox's drill-down filter (`GET /api/v1/conversations?drill=...`): the list is
exactly the conversations the figure counts (its `total` equals the figure), whatever
their status; it is scoped as the figure (an agent's own); bad keys are 422s naming the
part at fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from relaydesk.core.db import Database
from relaydesk.core.models import Role
from tests.analytics.seed import Chat, seed
from tests.factories import bearer_for, make_site, make_staff

DRILL = ["query", "drill"]


def _day(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()


async def _list(client: httpx.AsyncClient, token: str, **key: Any) -> tuple[int, set[str]]:
    """(total, ids) of the whole drill-down list, every page."""
    ids: set[str] = set()
    params: dict[str, str] = {"drill": urlencode(key), "limit": "2"}
    total = -1
    while True:
        response = await client.get(
            "/api/v1/conversations", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        total = page["total"]
        ids |= {row["id"] for row in page["items"]}
        if not page["next_cursor"]:
            return total, ids
        params["cursor"] = page["next_cursor"]


async def test_each_figure_lists_exactly_its_conversations(db: Database, live_server: str) -> None:
    site = await make_site(db)
    ava = await make_staff(db, site=site, name="Ava")
    bo = await make_staff(db, site=site, name="Bo")
    admin = await make_staff(db, roles=[Role.ADMIN])
    ids = await seed(
        db,
        site,
        [
            Chat(1),
            Chat(1, "visitor_asked", ava),
            Chat(2, "low_confidence", bo),
            Chat(3),
            Chat(3, "visitor_asked", ava),
            Chat(9),  # outside the range below
        ],
    )
    token = bearer_for(admin)
    key = {"site": site.id, "from": _day(5), "to": _day(0)}
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        overview = (await client.get("/api/v1/analytics/overview", params=key, headers=auth)).json()
        assert overview["conversations"] == 5
        # A headline number: the list holds the same conversations, resolved ones too.
        total, found = await _list(client, token, metric="conversations", **key)
        assert total == overview["conversations"] == len(found)
        assert found == set(ids[:5])
        total, found = await _list(client, token, metric="handoffs", **key)
        assert total == overview["handoffs"]["total"] == 3
        assert found == {ids[1], ids[2], ids[4]}
        # One handoff reason (a row of the reasons table).
        total, found = await _list(client, token, metric="handoffs", reason="visitor_asked", **key)
        assert (total, found) == (
            overview["handoffs"]["by_reason"]["visitor_asked"],
            {ids[1], ids[4]},
        )
        # A time figure: the conversations with such a time.
        total, found = await _list(client, token, metric="first_response_s", **key)
        assert total == overview["first_response_s"]["count"] == 3
        # A chart point: one day of the timeseries.
        series = (
            await client.get(
                "/api/v1/analytics/timeseries",
                params={**key, "metric": "conversations"},
                headers=auth,
            )
        ).json()
        point = next(p for p in series["points"] if p["start"].startswith(_day(3)))
        total, found = await _list(
            client, token, metric="conversations", site=site.id, **{"from": _day(3), "to": _day(3)}
        )
        assert total == point["count"] == 2 and found == {ids[3], ids[4]}
        # An agent filter: the conversations the agent handled.
        total, found = await _list(client, token, metric="conversations", agent=ava.id, **key)
        assert (total, found) == (2, {ids[1], ids[4]})

    # An agent's drill-down is their own figure, whatever agent the key names.
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        total, found = await _list(client, bearer_for(bo), metric="conversations", **key)
        assert (total, found) == (1, {ids[2]})
        refused = await client.get(
            "/api/v1/conversations",
            params={"drill": urlencode({"metric": "conversations", "agent": ava.id, **key})},
            headers={"Authorization": f"Bearer {bearer_for(bo)}"},
        )
        assert refused.status_code == 403


@pytest.mark.parametrize(
    ("drill", "loc"),
    [
        ("metric=happiness&site={site}", ["query", "drill", "metric"]),
        ("metric=conversations", ["query", "drill", "site"]),
        ("metric=conversations&site={site}&site=2", ["query", "drill", "site"]),
        ("metric=conversations&site={site}&colour=red", ["query", "drill", "colour"]),
        ("metric=conversations&site=99999999999999999999", ["query", "drill", "site"]),
        ("metric=conversations&site={site}&from=2026-02-30", ["query", "drill", "from"]),
        ("metric=conversations&site={site}&tz=Mars/Olympus", ["query", "drill", "tz"]),
        ("metric=conversations&site={site}&from=2024-01-01&to=2026-01-01", [*DRILL, "to"]),
        ("metric=conversations&site={site}&hour=3", ["query", "drill", "hour"]),
        ("metric=conversations&site={site}&from=9999-12-30&to=9999-12-31", [*DRILL, "from"]),
        ("metric=conversations&site={site}&from=0001-01-01&to=0001-01-02", [*DRILL, "from"]),
        ("metric=conversations&site={site}&reason=keyword", ["query", "drill", "reason"]),
        ("no-equals-sign", ["query", "drill"]),
        ("x" * 601, ["query", "drill"]),
    ],
)
async def test_bad_drill_keys_are_refused_naming_the_part(
    db: Database, live_server: str, drill: str, loc: list[str]
) -> None:
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        response = await client.get(
            "/api/v1/conversations",
            params={"drill": drill.replace("{site}", str(site.id))},
            headers={"Authorization": f"Bearer {bearer_for(admin)}"},
        )
    assert response.status_code == 422, response.text
    errors = response.json()["error"]["details"]["errors"]
    assert [e["loc"][: len(loc)] for e in errors] == [loc]
