"""RELAYDESK_EVENT_LOG=off (the message benchmark's baseline for what writing the events
costs) writes no event, on the message hot path and through `record` alike; on is the
default."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from relaydesk.core.config import get_settings, override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Event
from tests.analytics.seed import Chat, seed
from tests.factories import make_site, make_staff


async def _events(db: Database) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(Event))).scalar_one())


async def test_events_are_written_by_default_and_not_when_off(db: Database) -> None:
    assert get_settings().event_log_on
    site = await make_site(db)
    agent = await make_staff(db, site=site)
    before = await _events(db)
    await seed(db, site, [Chat(0, "visitor_asked", agent)])
    written = await _events(db) - before
    assert written >= 6  # started, opened, 3 messages, handoff, assigned, resolved
    with override_settings(event_log="off"):
        before = await _events(db)
        await seed(db, site, [Chat(0, "visitor_asked", agent)])
        assert await _events(db) == before
