"""REST parameter validation (422 naming the field at fault), the empty state, and the
masking of personal data in event payloads."""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import select

from relaydesk.conversations.models import SenderKind
from relaydesk.core import event_log
from relaydesk.core.db import Database
from relaydesk.core.models import Event, Role
from relaydesk.core.pii import mask_text
from tests.factories import bearer_for, make_site, make_staff


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
        ({"from": "2024-01-01", "to": "2026-03-01"}, "to"),
        ({"from": "2026-02-30"}, "from"),
        ({"metric": "happiness"}, "metric"),
        ({"interval": "week"}, "interval"),
        ({"from": "2026-01-01", "to": "2026-03-01", "interval": "hour"}, "interval"),
        ({"site": "0"}, "site"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-02", "tz": "Asia/Tokyo"}, "from"),
    ],
)
async def test_bad_parameters_are_refused_with_the_field(
    db: Database, live_server: str, query: dict[str, str], field: str
) -> None:
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.get(
            "/api/v1/analytics/timeseries",
            params={"site": str(site.id), **query},
            headers={"Authorization": f"Bearer {bearer_for(admin)}"},
        )
    assert response.status_code == 422, response.text
    errors = response.json()["error"]["details"]["errors"]
    assert [e["loc"][-1] for e in errors] == [field]


async def test_an_empty_site_has_zero_figures(db: Database, live_server: str) -> None:
    site = await make_site(db)
    admin = await make_staff(db, roles=[Role.ADMIN])
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.get(
            "/api/v1/analytics/overview",
            params={"site": str(site.id)},
            headers={"Authorization": f"Bearer {bearer_for(admin)}"},
        )
    body = response.json()
    assert response.status_code == 200 and body["conversations"] == 0
    assert body["first_response_s"]["median"] is None and body["bot"]["resolution_rate"] is None


def test_personal_data_is_masked() -> None:
    text = "Mail a.b+c@shop.co.uk, call +86 138 1234 5678, card 4111-1111-1111-1111."
    assert mask_text(text) == "Mail [email], call [phone], card [card]."
    # Ids and ordinary numbers are left alone.
    assert mask_text("order 12345 id 0a1b2c3d4e5f60718293a4b5c6d7e8f9") == (
        "order 12345 id 0a1b2c3d4e5f60718293a4b5c6d7e8f9"
    )


async def test_recorded_payloads_are_masked(db: Database) -> None:
    site = await make_site(db)
    assert site.id is not None
    async with db.write() as session:
        event_log.record(
            session,
            event_log.HandoffRequested(reason="keyword:me@x.io"),
            site_id=site.id,
            actor_kind="bot",
        )
    async with db.read() as session:
        event = (
            await session.execute(
                select(Event).where(Event.type == "conversation.handoff_requested")
            )
        ).scalar_one()
    assert event.payload["reason"] == "keyword:[email]"


def test_hot_path_payloads_carry_no_free_text() -> None:
    """`event_log.row` (the message write path) does not mask: its payloads must hold
    only ids, kinds and counts."""
    for payload in (
        event_log.MessageStored,
        event_log.ConversationReopened,
        event_log.ConversationAssigned,
    ):
        hints = typing.get_type_hints(payload)
        text_fields = {name for name, hint in hints.items() if hint is str and name != "type"}
        assert text_fields <= {"message_id", "sender_kind", "previous_status"}, payload


def test_the_message_paths_direct_row_is_the_typed_events_row() -> None:
    """The message path builds `message.stored` rows without the pydantic model; they
    must be exactly what `row(MessageStored(...))` gives, for every sender kind."""
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for kind, sender in (
        (SenderKind.VISITOR, "v1"),
        (SenderKind.BOT, None),
        (SenderKind.AGENT, "7"),
    ):
        typed = event_log.row(
            event_log.MessageStored(message_id="m1", seq=3, sender_kind=kind, chars=12),
            site_id=5,
            actor_kind=kind,
            actor_id=sender,
            conversation_id="c1",
            created_at=at,
        )
        direct = event_log.message_stored_row(
            site_id=5,
            conversation_id="c1",
            sender_kind=kind,
            sender_id=sender,
            message_id="m1",
            seq=3,
            chars=12,
            created_at=at,
        )
        assert direct == typed
        assert json.dumps(direct["payload"]) == json.dumps(typed["payload"])


async def test_backfill_records_missing_events_once(db: Database) -> None:
    from sqlalchemy import delete

    from relaydesk.analytics.backfill import backfill
    from relaydesk.analytics.models import AnalyticsConversation
    from tests.factories import make_conversation

    site = await make_site(db)
    conversation = await make_conversation(db, site)
    async with db.write() as session:  # as if stored before events were recorded
        await session.execute(delete(Event).where(Event.conversation_id == conversation.id))
    first = await backfill(db)
    assert (first.started, first.messages, first.conversations) == (1, 1, 1)
    again = await backfill(db)
    assert (again.started, again.messages) == (0, 0)
    async with db.read() as session:
        row = await session.get(AnalyticsConversation, conversation.id)
    assert (
        row is not None and row.visitor_messages == 1 and row.started_at == conversation.created_at
    )
