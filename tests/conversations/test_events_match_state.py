"""For each event type: a client that applies the emitted events ends up with exactly what
a fresh fetch returns (state + events = fresh fetch), and nothing is emitted for a change
that was refused."""

from __future__ import annotations

import pytest

from relaydesk.conversations import service, transitions
from relaydesk.conversations.schemas import MessagePublic, dump
from relaydesk.conversations.service import BOT, Actor
from relaydesk.core.db import Database
from relaydesk.core.errors import DomainError
from relaydesk.sites import service as sites
from tests.conftest import RecordingEmitter
from tests.factories import make_site, make_staff


async def _setup(db: Database) -> tuple[str, str, Actor]:
    site = await make_site(db)
    assert site.id is not None
    visitor = await sites.create_visitor(db, site_id=site.id, locale="en")
    conversation, _ = await service.open_conversation(db, site_id=site.id, visitor_id=visitor.id)
    agent = Actor.staff(await make_staff(db, site=site))
    return conversation.id, visitor.id, agent


async def test_message_new_events_rebuild_the_transcript(
    db: Database, emitted: RecordingEmitter
) -> None:
    conversation_id, visitor_id, agent = await _setup(db)
    client_view: dict[int, dict[str, object]] = {}
    await service.send_message(
        db,
        conversation_id=conversation_id,
        sender=Actor.visitor(visitor_id),
        client_id="1",
        text="hi",
    )
    await service.send_message(
        db,
        conversation_id=conversation_id,
        sender=BOT,
        client_id="2",
        text="Hello! [1]",
        payload={"citations": [1]},
    )
    await service.send_message(
        db, conversation_id=conversation_id, sender=agent, client_id="3", text="I'm here"
    )
    await service.send_message(
        db, conversation_id=conversation_id, sender=agent, client_id="3", text="resend"
    )
    for event in emitted.of("message:new", namespace="/widget"):
        message = event["data"]["message"]
        client_view[message["seq"]] = message
    fresh = [
        dump(MessagePublic.of(m))
        for m in await service.sync(db, conversation_id=conversation_id, after_seq=0)
    ]
    assert [client_view[s] for s in sorted(client_view)] == fresh
    assert len(emitted.of("message:new", namespace="/console")) == 3


async def test_conversation_updated_events_track_the_state_per_audience(
    db: Database, emitted: RecordingEmitter
) -> None:
    """Each audience, applying the updates of the rooms it is in, holds what a fresh fetch
    would show it: supervisors and the owner everything, other agents of the site the
    state without the owner (they only learn the conversation left the queue)."""
    conversation_id, visitor_id, agent = await _setup(db)
    conversation = await service.get_conversation(db, conversation_id)
    owner = await make_staff(db)
    site = f"site:{conversation.site_id}"
    audiences = {
        "supervisor": {site, f"{site}:leads"},
        "owner": {site, f"staff:{owner.id}"},
        "other agent": {site},
    }

    def views() -> dict[str, dict[str, object]]:
        result: dict[str, dict[str, object]] = {}
        for name, rooms in audiences.items():
            for update in emitted.of("conversation:updated", namespace="/console"):
                if update["room"] in rooms:
                    result[name] = update["data"]["conversation"]
        return result

    async def fresh() -> dict[str, object]:
        current = await service.get_conversation(db, conversation_id)
        return dump(await service.describe(db, current))

    # An opened, empty conversation is nobody's business yet: the first message announces it.
    assert emitted.of("conversation:updated", namespace="/console") == []
    await service.send_message(
        db,
        conversation_id=conversation_id,
        sender=Actor.visitor(visitor_id),
        client_id="first",
        text="hello",
    )
    assert set(map(str, views().values())) == {str(await fresh())}
    await transitions.request_handoff(
        db, conversation_id=conversation_id, actor=BOT, reason="low_confidence"
    )
    assert set(map(str, views().values())) == {str(await fresh())}
    await transitions.accept(db, conversation_id=conversation_id, agent=owner)
    with pytest.raises(DomainError):
        await transitions.accept(db, conversation_id=conversation_id, agent=owner)
    expected = await fresh()
    assert expected["assignee"] is not None
    seen = views()
    assert seen["supervisor"] == seen["owner"] == expected
    assert seen["other agent"] == {**expected, "assignee_id": None, "assignee": None}

    await transitions.resolve(db, conversation_id=conversation_id, actor=agent)
    await service.send_message(
        db,
        conversation_id=conversation_id,
        sender=Actor.visitor(visitor_id),
        client_id="again",
        text="one more",
    )
    final = await fresh()
    assert final["status"] == "bot"
    assert all(view == final for view in views().values())
    site_statuses = [
        u["data"]["conversation"]["status"]
        for u in emitted.of("conversation:updated", namespace="/console")
        if u["room"] == site
    ]
    assert site_statuses == ["bot", "queued", "assigned", "resolved", "bot"]


async def test_read_events_match_read_state(db: Database, emitted: RecordingEmitter) -> None:
    conversation_id, visitor_id, agent = await _setup(db)
    for n in range(3):
        await service.send_message(
            db, conversation_id=conversation_id, sender=agent, client_id=f"a{n}", text=f"m{n}"
        )
    reader = Actor.visitor(visitor_id)
    await service.mark_read(db, conversation_id=conversation_id, reader=reader, seq=2)
    await service.mark_read(db, conversation_id=conversation_id, reader=reader, seq=1)  # never back
    await service.mark_read(db, conversation_id=conversation_id, reader=reader, seq=99)  # clamped
    markers: dict[tuple[str, str], int] = {}
    for event in emitted.of("read", namespace="/console"):
        data = event["data"]
        markers[(data["reader"]["kind"], data["reader"]["id"])] = data["seq"]
    fresh = {
        (r.participant_kind, r.participant_id): r.last_read_seq
        for r in await service.read_states(db, conversation_id=conversation_id)
    }
    assert markers == fresh == {("visitor", visitor_id): 3}
    assert len(emitted.of("read", namespace="/console")) == 2


async def test_refused_changes_emit_nothing(db: Database, emitted: RecordingEmitter) -> None:
    conversation_id, _, agent = await _setup(db)
    before = len(emitted.sent)
    for attempt in (
        transitions.hand_back(db, conversation_id=conversation_id, actor=agent),
        transitions.reopen(db, conversation_id=conversation_id, actor=agent),
        service.send_message(
            db, conversation_id=conversation_id, sender=agent, client_id="x", text="\x00"
        ),
    ):
        with pytest.raises(DomainError):
            await attempt
    assert len(emitted.sent) == before
