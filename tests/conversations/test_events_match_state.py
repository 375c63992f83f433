"""For each event type: a client that applies the emitted events ends up with exactly what
a fresh fetch returns (state + events = fresh fetch), and nothing is emitted for a change
that was refused."""

from __future__ import annotations

import pytest

from relaydesk.conversations import service, transitions
from relaydesk.conversations.schemas import ConversationPublic, MessagePublic, dump
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


async def test_conversation_updated_events_track_the_state(
    db: Database, emitted: RecordingEmitter
) -> None:
    conversation_id, visitor_id, agent = await _setup(db)
    staff = await make_staff(db)
    view: dict[str, object] = {}
    await transitions.request_handoff(
        db, conversation_id=conversation_id, actor=BOT, reason="low_confidence"
    )
    await transitions.accept(db, conversation_id=conversation_id, agent=staff)
    with pytest.raises(DomainError):
        await transitions.accept(db, conversation_id=conversation_id, agent=staff)
    await transitions.resolve(db, conversation_id=conversation_id, actor=agent)
    await service.send_message(
        db,
        conversation_id=conversation_id,
        sender=Actor.visitor(visitor_id),
        client_id="again",
        text="one more",
    )
    updates = emitted.of("conversation:updated", namespace="/console")
    statuses = [u["data"]["conversation"]["status"] for u in updates]
    assert statuses == ["bot", "queued", "assigned", "resolved", "bot"]
    for update in updates:
        view = update["data"]["conversation"]
    fresh = dump(ConversationPublic.of(await service.get_conversation(db, conversation_id)))
    assert view == fresh
    assert all(u["room"].startswith("site:") for u in updates)


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
