"""Acceptance 3 of issue 6: auto-assignment respects caps, teams and presence (5 agents, 50
queued conversations), keeps FIFO order, breaks ties round-robin, leaves manual teams
alone, and stays correct when passes run concurrently from two database handles (as two
processes would)."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

import pytest
from sqlmodel import col, select

from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.models import Event, Site, StaffUser, Team
from relaydesk.routing import assign, presence
from tests.conftest import RecordingEmitter
from tests.factories import make_site
from tests.routing.conftest import add_team, agent, fetch_all, queued, set_mode

pytestmark = pytest.mark.postgres


async def _world(db: Database) -> tuple[Site, Team, Team, dict[str, StaffUser]]:
    site = await make_site(db)
    team_a = await add_team(db, site, "Sales")
    team_b = await add_team(db, site, "Billing")
    agents = {
        "a1": await agent(db, site, [team_a], capacity=3),
        "a2": await agent(db, site, [team_a], capacity=5),
        "a3": await agent(db, site, [team_b], capacity=4),
        "a4": await agent(db, site, [team_a], capacity=5, status="away"),
        "a5": await agent(db, site, [team_b], capacity=5, status="offline"),
    }
    return site, team_a, team_b, agents


def _team_for(n: int, team_a: Team, team_b: Team) -> Team | None:
    return [team_a, team_a, team_b, team_b, None][n % 5]


async def _loads(db: Database, site: Site) -> Counter[int]:
    return Counter(
        c.assignee_id
        for c in await fetch_all(db, site)
        if c.status == ConversationStatus.ASSIGNED and c.assignee_id is not None
    )


async def _check_invariants(
    db: Database, site: Site, agents: dict[str, StaffUser], teams: dict[int, set[int]]
) -> list[Conversation]:
    """Caps, teams, presence, and work conservation; returns the conversations by queue
    order."""
    everything = sorted(await fetch_all(db, site), key=lambda c: (c.queued_at, c.id))
    async with db.read() as session:
        users = {
            u.id: u
            for u in (
                await session.execute(
                    select(StaffUser).where(col(StaffUser.id).in_([a.id for a in agents.values()]))
                )
            ).scalars()
        }
    loads = await _loads(db, site)
    for user_id, n in loads.items():
        assert n <= users[user_id].capacity, f"agent {user_id} over their cap"
        assert users[user_id].availability == "online", "work went to an agent not online"
    for c in everything:
        if c.status == ConversationStatus.ASSIGNED:
            assert c.assignee_id is not None
            if c.team_id is not None:
                assert c.assignee_id in teams[c.team_id], "assigned outside the team"
    online = {u for u, user in users.items() if user.availability == "online"}
    for c in everything:
        if c.status != ConversationStatus.QUEUED:
            continue
        pool = teams[c.team_id] if c.team_id is not None else set().union(*teams.values())
        for user_id in pool & online:
            assert loads[user_id] >= users[user_id].capacity, (
                "a conversation waits while an online agent of its team has room"
            )
    return everything


def _assert_fifo(everything: list[Conversation]) -> None:
    """Within one team, nothing waits behind a later conversation that was assigned."""
    seen_waiting: dict[int | None, bool] = defaultdict(bool)
    for c in everything:
        if c.status == ConversationStatus.QUEUED:
            seen_waiting[c.team_id] = True
        elif c.team_id is not None:
            assert not seen_waiting[c.team_id], "assigned out of FIFO order"


async def test_five_agents_fifty_conversations(
    db: Database, backend: str, emitted: RecordingEmitter
) -> None:
    site, team_a, team_b, agents = await _world(db)
    assert team_a.id is not None and team_b.id is not None
    teams = {
        team_a.id: {agents["a1"].id, agents["a2"].id, agents["a4"].id},
        team_b.id: {agents["a3"].id, agents["a5"].id},
    }
    teams = {k: {u for u in v if u is not None} for k, v in teams.items()}
    for n in range(50):
        await queued(db, site, _team_for(n, team_a, team_b))

    loads = await _loads(db, site)
    ids = {name: a.id for name, a in agents.items()}
    assert loads[ids["a1"]] == 3 and loads[ids["a2"]] == 5 and loads[ids["a3"]] == 4
    assert loads[ids["a4"]] == 0 and loads[ids["a5"]] == 0  # away and offline get nothing
    everything = await _check_invariants(db, site, agents, teams)
    _assert_fifo(everything)
    assert sum(c.status == ConversationStatus.QUEUED for c in everything) == 38

    # The widget of every still-waiting conversation has its current place in line.
    waiting = [c.id for c in everything if c.status == ConversationStatus.QUEUED]
    latest: dict[str, int] = {}
    for e in emitted.of("queue:position", namespace="/widget"):
        latest[e["data"]["conversation_id"]] = e["data"]["position"]
    assert [latest[cid] for cid in waiting] == list(range(1, 39))

    # The away agent comes back: they get work at once, up to their cap.
    assert ids["a4"] is not None and ids["a5"] is not None
    await presence.set_presence(db, user_id=ids["a4"], status="online")
    assert (await _loads(db, site))[ids["a4"]] == 5
    # The offline agent comes online: Billing (and team-less) work goes to them.
    await presence.set_presence(db, user_id=ids["a5"], status="online")
    assert (await _loads(db, site))[ids["a5"]] == 5
    everything = await _check_invariants(db, site, agents, teams)
    _assert_fifo(everything)

    # Freeing capacity pulls the next waiting conversation.
    mine = [c for c in everything if c.assignee_id == ids["a1"]]
    await transitions.resolve(db, conversation_id=mine[0].id, actor=Actor.staff(agents["a1"]))
    await transitions.hand_back(db, conversation_id=mine[1].id, actor=Actor.staff(agents["a1"]))
    assert (await _loads(db, site))[ids["a1"]] == 3
    everything = await _check_invariants(db, site, agents, teams)
    _assert_fifo(everything)
    waiting = [c.id for c in everything if c.status == ConversationStatus.QUEUED]
    for e in emitted.of("queue:position", namespace="/widget"):
        latest[e["data"]["conversation_id"]] = e["data"]["position"]
    assert [latest[cid] for cid in waiting] == list(range(1, len(waiting) + 1))

    # Every conversation was assigned at most once.
    async with db.read() as session:
        assigned_events = Counter(
            (
                await session.execute(
                    select(Event.conversation_id).where(Event.type == "conversation.assigned")
                )
            ).scalars()
        )
    assert max(assigned_events.values()) == 1


async def test_concurrent_handoffs_and_passes_never_exceed_a_cap(
    db: Database, backend: str, database_url: str
) -> None:
    site, team_a, team_b, agents = await _world(db)
    assert site.id is not None and team_a.id is not None and team_b.id is not None
    teams = {
        team_a.id: {a.id for a in (agents["a1"], agents["a2"], agents["a4"]) if a.id},
        team_b.id: {a.id for a in (agents["a3"], agents["a5"]) if a.id},
    }
    # A second handle on the same database: its own connections and, on SQLite, its own
    # in-process writer lock, like a second process.
    other = Database(database_url)
    try:

        async def hammer() -> None:
            for _ in range(15):
                await assign.auto_assign(other, site_id=site.id)
                await asyncio.sleep(0)

        async def flap() -> None:
            user_id = agents["a4"].id
            assert user_id is not None
            for status in ("online", "away", "online"):
                await presence.set_presence(db, user_id=user_id, status=status)

        await asyncio.gather(
            *(queued(db, site, _team_for(n, team_a, team_b)) for n in range(50)),
            hammer(),
            hammer(),
            flap(),
        )
        await assign.auto_assign(other, site_id=site.id)
    finally:
        await other.dispose()
    everything = await _check_invariants(db, site, agents, teams)
    assert sum(c.status == ConversationStatus.ASSIGNED for c in everything) == 17
    async with db.read() as session:
        assigned_events = Counter(
            (
                await session.execute(
                    select(Event.conversation_id).where(Event.type == "conversation.assigned")
                )
            ).scalars()
        )
    assert set(assigned_events.values()) == {1}
    assert set(assigned_events) == {
        c.id for c in everything if c.status == ConversationStatus.ASSIGNED
    }


async def test_ties_go_round_robin(db: Database) -> None:
    site = await make_site(db)
    team = await add_team(db, site, "Support 2")
    x = await agent(db, site, [team], capacity=10, name="X")
    y = await agent(db, site, [team], capacity=10, name="Y")
    order = []
    for _ in range(6):
        order.append(await _assignee_after_queue(db, site, team))
    assert order[0] != order[1]
    assert order == [order[0], order[1]] * 3
    assert set(order) == {x.id, y.id}


async def _assignee_after_queue(db: Database, site: Site, team: Team) -> int | None:
    conversation = await queued(db, site, team)
    async with db.read() as session:
        row = await session.get(Conversation, conversation.id)
    assert row is not None and row.status == ConversationStatus.ASSIGNED
    return row.assignee_id


async def test_fewest_open_wins_over_round_robin(db: Database) -> None:
    site = await make_site(db)
    team = await add_team(db, site, "Support 2")
    busy = await agent(db, site, [team], capacity=10)
    for _ in range(3):
        await queued(db, site, team)  # all to `busy`, the only one online
    idle = await agent(db, site, [team], capacity=10)
    got = [await _assignee_after_queue(db, site, team) for _ in range(3)]
    assert got == [idle.id] * 3
    assert busy.id is not None


async def test_manual_team_waits_until_switched_to_auto(db: Database) -> None:
    site = await make_site(db)
    team = await add_team(db, site, "Enterprise", mode="manual")
    member = await agent(db, site, [team], capacity=2)
    conversations = [await queued(db, site, team) for _ in range(3)]
    statuses = {c.status for c in await fetch_all(db, site)}
    assert statuses == {ConversationStatus.QUEUED}
    await set_mode(db, team, "auto")
    assert site.id is not None
    await assign.auto_assign(db, site_id=site.id)
    rows = {c.id: c for c in await fetch_all(db, site)}
    assert [rows[c.id].status for c in conversations] == ["assigned", "assigned", "queued"]
    assert {rows[c.id].assignee_id for c in conversations[:2]} == {member.id}


async def test_agent_gone_offline_keeps_their_conversations(db: Database) -> None:
    site = await make_site(db)
    team = await add_team(db, site, "Support 2")
    member = await agent(db, site, [team], capacity=5)
    conversation = await queued(db, site, team)
    assert member.id is not None
    for sid in await presence.tracker().sids(member.id):
        await presence.disconnected(db, user_id=member.id, sid=sid)
    assert (await presence.get_presence(db, member.id)).status == "offline"
    async with db.read() as session:
        row = await session.get(Conversation, conversation.id)
    assert row is not None and row.assignee_id == member.id and row.status == "assigned"
