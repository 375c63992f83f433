"""The bot takes no turn on a message of files alone: its text is only the file names."""

from __future__ import annotations

from typing import Any

import pytest

from relaydesk.bot import turn
from relaydesk.conversations import service as conversations
from relaydesk.conversations.service import Actor
from relaydesk.core.db import Database
from relaydesk.sites import service as sites
from tests.factories import make_site


@pytest.mark.parametrize(
    ("text", "payload", "answered"),
    [
        ("invoice.pdf", {"attachments": [{"id": "a"}], "text_auto": True}, False),
        ("Is this invoice right?", {"attachments": [{"id": "a"}]}, True),
        ("Where is my order?", {}, True),
    ],
)
async def test_files_alone_take_no_bot_turn(
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    payload: dict[str, Any],
    answered: bool,
) -> None:
    site = await make_site(db)
    assert site.id is not None
    visitor = await sites.create_visitor(db, site_id=site.id, locale=None)
    conversation, _ = await conversations.open_conversation(
        db, site_id=site.id, visitor_id=visitor.id
    )
    turns: list[str] = []

    async def record(db: Database, *, conversation_id: str, trigger: Any) -> None:
        turns.append(trigger.text)

    monkeypatch.setattr(turn, "run_turn", record)
    sent = await conversations.send_message(
        db,
        conversation_id=conversation.id,
        sender=Actor.visitor(visitor.id),
        client_id="c-1",
        text=text,
        payload=payload,
    )
    await turn.on_visitor_message(db, sent)
    assert turns == ([text] if answered else [])
