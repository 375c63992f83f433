"""Assign and transfer: to an agent, to a team (auto and manual), bulk reassignment, who
may do what (agents, supervisors within their teams, admins, other sites), and staff who
lose access stop receiving the conversation."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select

from relaydesk.conversations import service as conversations
from relaydesk.conversations import transitions
from relaydesk.conversations.models import Conversation
from relaydesk.conversations.policy import StaffScope, load_scope
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.core.models import Event, Role, Site, StaffUser, Team
from relaydesk.routing import service as routing
from tests import sockets
from tests.factories import bearer_for, default_team, make_site
from tests.routing.conftest import add_team, agent, new_conversation, queued, set_mode


@dataclass
class World:
    site: Site
    support: Team
    billing: Team
    ann: StaffUser  # agent, Support
    bob: StaffUser  # agent, Support
    cho: StaffUser  # agent, Billing
    sue: StaffUser  # supervisor, Support only
    root: StaffUser  # admin
    far: StaffUser  # agent of another site
    far_lead: StaffUser  # supervisor of another site
    far_team: Team


async def _world(db: Database) -> World:
    site = await make_site(db)
    support = await default_team(db, site)
    billing = await add_team(db, site, "Billing")
    other = await make_site(db)
    return World(
        site=site,
        support=support,
        billing=billing,
        ann=await agent(db, site, [support], status=None, name="Ann"),
        bob=await agent(db, site, [support], status=None, name="Bob"),
        cho=await agent(db, site, [billing], status=None, name="Cho"),
        sue=await agent(db, site, [support], status=None, roles=[Role.SUPERVISOR], name="Sue"),
        root=await agent(db, site, [support], status=None, roles=[Role.ADMIN], name="Root"),
        far=await agent(db, other, status=None, name="Far"),
        far_lead=await agent(db, other, status=None, roles=[Role.SUPERVISOR]),
        far_team=await default_team(db, other),
    )


async def _scope(db: Database, user: StaffUser) -> StaffScope:
    return await load_scope(db, user)


async def _owned_by(db: Database, w: World, owner: StaffUser, team: Team | None = None) -> str:
    conversation = await queued(db, w.site, team or w.support)
    await transitions.accept(db, conversation_id=conversation.id, agent=owner)
    return conversation.id


async def _get(db: Database, conversation_id: str) -> Conversation:
    return await conversations.get_conversation(db, conversation_id)


async def _refused(code: str, action: Awaitable[object]) -> None:
    with pytest.raises(DomainError) as info:
        await action
    assert info.value.code == code, info.value.to_dict()


@pytest.mark.postgres
async def test_transfer_to_agent_and_to_team(db: Database, backend: str) -> None:
    w = await _world(db)
    cid = await _owned_by(db, w, w.ann)
    moved = await routing.transfer(
        db, scope=await _scope(db, w.ann), conversation_id=cid, agent_id=w.bob.id
    )
    assert (moved.status, moved.assignee_id) == ("assigned", w.bob.id)
    # Ann no longer owns it, so she may not move it again (nor even see it).
    await _refused(
        "conversation_not_found",
        routing.transfer(db, scope=await _scope(db, w.ann), conversation_id=cid, agent_id=w.ann.id),
    )
    # Bob sends it to Billing, where nobody is online: it waits in Billing's queue.
    moved = await routing.transfer(
        db, scope=await _scope(db, w.bob), conversation_id=cid, team_id=w.billing.id
    )
    assert (moved.status, moved.assignee_id, moved.team_id) == ("queued", None, w.billing.id)
    # Cho comes online: Billing routes automatically, so it is assigned to Cho.
    cho = await agent(db, w.site, [w.billing], status="online", name="Cho 2")
    current = await _get(db, cid)
    assert (current.status, current.assignee_id) == ("assigned", cho.id)

    async with db.read() as session:
        events = list(
            (
                await session.execute(
                    select(Event)
                    .where(Event.conversation_id == cid, Event.type == "conversation.transferred")
                    .order_by(Event.id)  # type: ignore[arg-type]
                )
            ).scalars()
        )
    assert [e.payload for e in events] == [
        {
            "previous_status": "assigned",
            "previous_assignee_id": w.ann.id,
            "previous_team_id": w.support.id,
            "assignee_id": w.bob.id,
            "team_id": w.support.id,
        },
        {
            "previous_status": "assigned",
            "previous_assignee_id": w.bob.id,
            "previous_team_id": w.support.id,
            "assignee_id": None,
            "team_id": w.billing.id,
        },
    ]
    assert [e.actor_id for e in events] == [str(w.ann.id), str(w.bob.id)]


async def test_transfer_to_a_manual_team_waits(db: Database) -> None:
    w = await _world(db)
    async with db.write() as session:
        billing = await session.get(Team, w.billing.id)
        assert billing is not None
        billing.routing_mode = "manual"
    await agent(db, w.site, [w.billing], status="online")
    cid = await _owned_by(db, w, w.ann)
    moved = await routing.transfer(
        db, scope=await _scope(db, w.ann), conversation_id=cid, team_id=w.billing.id
    )
    assert moved.status == "queued"
    assert (await _get(db, cid)).status == "queued"
    await _refused(
        "no_change",
        routing.transfer(
            db, scope=await _scope(db, w.root), conversation_id=cid, team_id=w.billing.id
        ),
    )
    await _refused(
        "illegal_transition",
        routing.transfer(
            db,
            scope=await _scope(db, w.root),
            conversation_id=(await new_conversation(db, w.site)).id,  # the bot has it
            team_id=w.billing.id,
        ),
    )


async def test_who_may_assign_and_transfer(db: Database) -> None:
    w = await _world(db)
    ann, bob, sue, root = [await _scope(db, u) for u in (w.ann, w.bob, w.sue, w.root)]
    cid = await _owned_by(db, w, w.ann)

    # Agents never assign, not even their own conversation.
    await _refused(
        "forbidden", routing.assign_to(db, scope=ann, conversation_id=cid, agent_id=w.bob.id)
    )
    # Another agent may not transfer what they do not own (and cannot see).
    await _refused(
        "conversation_not_found",
        routing.transfer(db, scope=bob, conversation_id=cid, agent_id=w.bob.id),
    )
    # The supervisor of the team assigns within the team...
    done = await routing.assign_to(db, scope=sue, conversation_id=cid, agent_id=w.bob.id)
    assert done.assignee_id == w.bob.id
    # ...but not to someone outside their teams, nor into a team that is not theirs.
    await _refused(
        "outside_your_teams",
        routing.assign_to(db, scope=sue, conversation_id=cid, agent_id=w.cho.id),
    )
    await _refused(
        "outside_your_teams",
        routing.transfer(db, scope=sue, conversation_id=cid, team_id=w.billing.id),
    )
    # A Billing conversation is outside the supervisor's scope altogether.
    billing_cid = await _owned_by(db, w, w.cho, w.billing)
    await _refused(
        "conversation_not_found",
        routing.assign_to(db, scope=sue, conversation_id=billing_cid, agent_id=w.bob.id),
    )
    # The assignee may move their own anywhere in the site; admins may do anything.
    cho = await _scope(db, w.cho)
    moved = await routing.transfer(db, scope=cho, conversation_id=billing_cid, agent_id=w.ann.id)
    assert moved.assignee_id == w.ann.id
    moved = await routing.assign_to(db, scope=root, conversation_id=billing_cid, agent_id=w.cho.id)
    assert moved.assignee_id == w.cho.id

    # Other sites: their staff, teams and conversations do not exist from here.
    await _refused(
        "agent_not_found",
        routing.assign_to(db, scope=root, conversation_id=cid, agent_id=w.far.id),
    )
    await _refused(
        "team_not_found",
        routing.transfer(db, scope=root, conversation_id=cid, team_id=w.far_team.id),
    )
    far_lead = await _scope(db, w.far_lead)
    await _refused(
        "conversation_not_found",
        routing.assign_to(db, scope=far_lead, conversation_id=cid, agent_id=w.far.id),
    )
    await _refused(
        "agent_not_found",
        routing.assign_to(db, scope=root, conversation_id=cid, agent_id=999_999),
    )
    # An editor is no target either.
    editor = await agent(db, w.site, status=None, roles=[Role.EDITOR])
    await _refused(
        "agent_not_found",
        routing.assign_to(db, scope=root, conversation_id=cid, agent_id=editor.id),
    )


async def test_bulk_reassign_of_an_offline_agents_work(db: Database, live_server: str) -> None:
    w = await _world(db)
    mine = [await _owned_by(db, w, w.ann) for _ in range(3)]
    billing_cid = await _owned_by(db, w, w.cho, w.billing)
    sue_headers = {"Authorization": f"Bearer {bearer_for(w.sue)}"}
    ann_headers = {"Authorization": f"Bearer {bearer_for(w.ann)}"}
    async with httpx.AsyncClient(base_url=live_server) as http:
        body = {"conversation_ids": [*mine, billing_cid, "nope"], "agent_id": w.bob.id}
        denied = await http.post("/api/v1/conversations/reassign", json=body, headers=ann_headers)
        assert denied.status_code == 403
        result = await http.post("/api/v1/conversations/reassign", json=body, headers=sue_headers)
        assert result.status_code == 200, result.text
        data = result.json()
        assert data["moved"] == mine
        assert set(data["failed"]) == {billing_cid, "nope"}
        assert data["failed"]["nope"]["code"] == "conversation_not_found"
        both = await http.post(
            "/api/v1/conversations/reassign",
            json={"conversation_ids": mine, "agent_id": w.bob.id, "team_id": w.support.id},
            headers=sue_headers,
        )
        assert both.status_code == 422
        # The single-conversation REST routes.
        one = await http.post(
            f"/api/v1/conversations/{mine[0]}/transfer",
            json={"team_id": w.support.id},
            headers=sue_headers,
        )
        assert one.status_code == 200 and one.json()["status"] == "queued"
        again = await http.post(
            f"/api/v1/conversations/{mine[0]}/assign",
            json={"agent_id": w.ann.id},
            headers=sue_headers,
        )
        assert again.status_code == 200
        assert again.json()["assignee"] == {"id": w.ann.id, "name": "Ann", "avatar_url": None}
        agent_try = await http.post(
            f"/api/v1/conversations/{mine[1]}/assign",
            json={"agent_id": w.ann.id},
            headers={"Authorization": f"Bearer {bearer_for(w.bob)}"},
        )
        assert agent_try.status_code == 403
    for cid in mine[1:]:
        assert (await _get(db, cid)).assignee_id == w.bob.id
    assert (await _get(db, billing_cid)).assignee_id == w.cho.id


async def test_staff_who_lose_access_stop_receiving(db: Database, live_server: str) -> None:
    w = await _world(db)
    await set_mode(db, w.support, "manual")  # nobody gets it automatically here
    ann = await sockets.staff(live_server, bearer_for(w.ann))
    bob = await sockets.staff(live_server, bearer_for(w.bob))
    sue = await sockets.staff(live_server, bearer_for(w.sue))
    try:
        # Bob watches a waiting conversation; Ann accepts it: Bob is out of its room.
        conversation = await queued(db, w.site, w.support)
        assert (await bob.call("conversation:join", {"conversation_id": conversation.id}))["ok"]
        assert (await ann.call("conversation:accept", {"conversation_id": conversation.id}))["ok"]
        # The supervisor moves it to Bob over the socket: now Ann is out, Bob is in.
        ack = await sue.call(
            "conversation:transfer", {"conversation_id": conversation.id, "agent_id": w.bob.id}
        )
        assert ack["ok"] and ack["conversation"]["assignee_id"] == w.bob.id
        assert (await bob.call("conversation:join", {"conversation_id": conversation.id}))["ok"]
        await conversations.send_message(
            db,
            conversation_id=conversation.id,
            sender=Actor.visitor(conversation.visitor_id),
            client_id="after-transfer",
            text="are you there?",
        )
        await bob.wait_for("message:new")
        await sue.call("presence:set", {"status": "online"})  # a round trip: ann had time
        assert [m["text"] for m in bob.messages()] == ["are you there?"]
        assert ann.messages() == []
        # Bad payloads: both targets, neither, wrong types.
        for payload in (
            {"conversation_id": conversation.id, "agent_id": w.ann.id, "team_id": w.support.id},
            {"conversation_id": conversation.id},
            {"conversation_id": conversation.id, "agent_id": "1"},
        ):
            bad = await sue.call("conversation:transfer", payload)
            assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
        denied = await ann.call(
            "conversation:assign", {"conversation_id": conversation.id, "agent_id": w.ann.id}
        )
        assert denied["ok"] is False and denied["error"]["code"] == "conversation_not_found"
        bulk = await sue.call(
            "conversation:reassign",
            {"conversation_ids": [conversation.id, "missing"], "team_id": w.support.id},
        )
        assert bulk["ok"] and bulk["moved"] == [conversation.id]
        assert bulk["failed"]["missing"]["code"] == "conversation_not_found"
        assert (await _get(db, conversation.id)).status == "queued"
        refused = await bob.call(
            "conversation:reassign", {"conversation_ids": [conversation.id], "agent_id": w.bob.id}
        )
        assert refused["ok"] is False and refused["error"]["code"] == "forbidden"
    finally:
        for peer in (ann, bob, sue):
            await peer.disconnect()
