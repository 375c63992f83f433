"""Retention end to end: an admin sets a site's period over REST, old conversations
(with their messages, files, notes, events and analytics facts) go in bounded batches,
recent ones and other sites stay, two purges at once are safe, and it is audited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import col, update

from relaydesk.attachments import service as attachments
from relaydesk.attachments.models import Attachment
from relaydesk.audit.models import ActorKind
from relaydesk.conversations.models import Conversation
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role, Visitor, utcnow
from relaydesk.privacy import erase, service
from tests.factories import make_conversation, make_site, make_staff
from tests.privacy.helpers import admin_client, audit_actions, visitor_with_data
from tests.waiting import eventually

pytestmark = pytest.mark.postgres


async def _age(db: Database, conversation_id: str, visitor_id: str, days: int) -> None:
    then = utcnow() - timedelta(days=days)
    async with db.write() as session:
        await session.execute(
            update(Conversation)
            .where(col(Conversation.id) == conversation_id)
            .values(updated_at=then, created_at=then)
        )
        await session.execute(
            update(Visitor).where(col(Visitor.id) == visitor_id).values(last_seen_at=then)
        )


async def _count(db: Database, table: str, column: str, value: str) -> int:
    async with db.read() as session:
        result = await session.execute(
            text(f"SELECT count(*) FROM {table} WHERE {column} = :v"), {"v": value}
        )
        return int(result.scalar_one())


async def test_retention_purges_old_conversations_and_files(db: Database, live_server: str) -> None:
    site, other = await make_site(db, name="Shop"), await make_site(db, name="Other")
    admin = await make_staff(db, roles=[Role.ADMIN])
    old = await visitor_with_data(live_server, site, "OLD-1")
    recent = await visitor_with_data(live_server, site, "NEW-1")
    elsewhere = await visitor_with_data(live_server, other, "ELSE-1")
    for world in (old, recent, elsewhere):
        await world.peer.disconnect()
    await _age(db, old.conversation_id, old.visitor_id, 40)
    await _age(db, elsewhere.conversation_id, elsewhere.visitor_id, 400)
    async with db.read() as session:
        old_file = attachments.path_of(await session.get(Attachment, old.attachment_id))  # type: ignore[arg-type]
        kept_file = attachments.path_of(await session.get(Attachment, recent.attachment_id))  # type: ignore[arg-type]
    assert old_file.is_file() and kept_file.is_file()
    assert await _count(db, "event", "conversation_id", old.conversation_id) > 0

    async with await admin_client(live_server, admin) as client:
        assert (await client.get(f"/api/v1/privacy/sites/{site.id}/retention")).json() == {
            "site_id": site.id,
            "retention_days": None,
        }
        put = await client.put(
            f"/api/v1/privacy/sites/{site.id}/retention", json={"retention_days": 30}
        )
        assert put.status_code == 200 and put.json()["retention_days"] == 30
        bad = await client.put(
            f"/api/v1/privacy/sites/{site.id}/retention", json={"retention_days": 0}
        )
        assert bad.status_code == 422

    dry = await service.purge(db, dry_run=True, actor_kind=ActorKind.CLI)
    assert dry.sites[site.id or 0]["conversation"] == 1
    assert await _count(db, "conversation", "id", old.conversation_id) == 1

    # Two purges at once (two nodes' timers firing together), batches of one.
    with override_settings(retention_purge_batch=1):
        first, second = await asyncio.gather(
            service.purge(db, actor_kind=ActorKind.SYSTEM),
            service.purge(db, actor_kind=ActorKind.SYSTEM),
        )
    assert site.id is not None
    purged = [r.sites[site.id] for r in (first, second) if r.sites[site.id]]
    assert sum(r.get("conversation", 0) for r in purged) == 1
    assert first.files + second.files == 1

    for table in erase.conversation_tables():
        assert await _count(db, table.name, "conversation_id", old.conversation_id) == 0, table
    assert await _count(db, "conversation", "id", old.conversation_id) == 0
    assert await _count(db, "visitor", "id", old.visitor_id) == 0
    assert not old_file.exists()
    # The recent conversation and the other site (no retention set) are untouched.
    assert await _count(db, "conversation", "id", recent.conversation_id) == 1
    assert await _count(db, "conversation", "id", elsewhere.conversation_id) == 1
    assert kept_file.is_file()

    entries = await audit_actions(db)
    change = [e for e in entries if e["action"] == "privacy.retention"]
    assert change[0]["details"] == {"before": None, "after": 30}
    assert change[0]["actor_email"] == admin.email
    purge_entries = [e for e in entries if e["action"] == "privacy.purge"]
    assert sum(e["details"]["rows"].get("conversation", 0) for e in purge_entries) == 1


def test_every_per_conversation_table_is_erased() -> None:
    """The erase list comes from the schema; these must be on it (aggregates must not)."""
    names = {t.name for t in erase.conversation_tables()}
    expected = {"message", "attachment", "conversation_note", "conversation_label"}
    expected |= {"read_state", "event", "analytics_conversation", "analytics_cycle"}
    expected |= {"bot_feedback", "bot_csat", "bot_offline_message", "bot_handoff_summary"}
    assert expected <= names
    assert "analytics_slot" not in names and "audit_log" not in names


async def test_the_periodic_purge_runs_until_cancelled(db: Database) -> None:
    """The lifespan's loop: it purges on its interval, as the system, until cancelled."""
    site = await make_site(db)
    assert site.id is not None
    conversation = await make_conversation(db, site, text="old news")
    await _age(db, conversation.id, conversation.visitor_id, 10)
    await service.set_retention(db, site_id=site.id, days=7, actor=None, ip=None)
    loop = asyncio.create_task(service.run_purges(db, interval=0.05))

    async def purged() -> list[dict[str, object]]:
        # The round's audit entry is written after its deletes: it marks a finished round.
        return [e for e in await audit_actions(db) if e["action"] == "privacy.purge"]

    entries = await eventually(purged)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert entries[0]["actor_kind"] == "system"
    assert await _count(db, "conversation", "id", conversation.id) == 0
