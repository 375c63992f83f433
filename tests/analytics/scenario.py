"""Drives conversations through the real Socket.IO protocol at chosen times: a visitor on
/widget, agents on /console, the server's clock set before each step."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from relaydesk.conversations.models import Conversation
from relaydesk.core.db import Database
from tests import sockets
from tests.analytics.conftest import Clock

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """2026-03-(1 + day) at hh:mm:ss in Shanghai, as UTC (day 1 is Monday 2 March)."""
    return datetime(2026, 3, 1 + day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def cid() -> str:
    return uuid.uuid4().hex


async def until(condition: Any, timeout: float = 15) -> None:
    """Wait for `condition()` (a state the server reaches after an ack) to hold."""

    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


@dataclass
class Chat:
    peer: sockets.Peer
    id: str

    def bot_messages(self) -> list[dict[str, Any]]:
        return [m for m in self.peer.messages() if m["sender"]["kind"] == "bot"]


class Scenario:
    def __init__(self, db: Database, clock: Clock, base_url: str, site_key: str) -> None:
        self.db, self.clock, self.base_url, self.site_key = db, clock, base_url, site_key
        self.chats: list[Chat] = []

    async def open(self, at: datetime) -> Chat:
        self.clock.set(at)
        peer = await sockets.visitor(self.base_url, self.site_key)
        ack = await peer.call("conversation:open", {})
        assert ack["ok"], ack
        chat = Chat(peer, ack["conversation"]["id"])
        self.chats.append(chat)
        return chat

    async def status(self, chat: Chat) -> str:
        async with self.db.read() as session:
            row = (
                await session.execute(select(Conversation).where(Conversation.id == chat.id))
            ).scalar_one()
        return row.status

    async def say(self, chat: Chat, text: str, at: datetime, *, bot: bool = True) -> None:
        """The visitor writes; with `bot`, wait for the bot's reply (and, when it hands
        off, for the handoff to be stored)."""
        self.clock.set(at)
        before = len(chat.bot_messages())
        ack = await chat.peer.call(
            "message:send", {"conversation_id": chat.id, "client_id": cid(), "text": text}
        )
        assert ack["ok"], ack
        if not bot:
            return

        async def replied() -> bool:
            return len(chat.bot_messages()) > before

        await until(replied)
        if chat.bot_messages()[-1]["payload"].get("action") == "handoff":

            async def queued() -> bool:
                return await self.status(chat) == "queued"

            await until(queued)
        await self._settled(chat)

    async def _settled(self, chat: Chat) -> None:
        """The bot's turn has also recorded its reply event (written after the message)."""
        from relaydesk.core.models import Event

        count = len(chat.bot_messages())

        async def recorded() -> bool:
            async with self.db.read() as session:
                rows = await session.execute(
                    select(Event).where(
                        Event.conversation_id == chat.id, Event.type == "bot.replied"
                    )
                )
                return len(list(rows.scalars())) >= count

        await until(recorded)

    async def handoff_button(self, chat: Chat, at: datetime) -> None:
        self.clock.set(at)
        ack = await chat.peer.call("handoff:request", {"conversation_id": chat.id})
        assert ack["ok"], ack

    async def feedback(self, chat: Chat, rating: str, at: datetime) -> None:
        self.clock.set(at)
        message = chat.bot_messages()[-1]
        ack = await chat.peer.call(
            "feedback", {"conversation_id": chat.id, "message_id": message["id"], "rating": rating}
        )
        assert ack["ok"], ack

    async def csat(self, chat: Chat, score: int, at: datetime) -> None:
        self.clock.set(at)
        ack = await chat.peer.call("csat:submit", {"conversation_id": chat.id, "score": score})
        assert ack["ok"], ack

    async def staff(self, agent: sockets.Peer, event: str, at: datetime, **data: Any) -> None:
        self.clock.set(at)
        ack = await agent.call(event, data)
        assert ack["ok"], (event, ack)

    async def accept(self, agent: sockets.Peer, chat: Chat, at: datetime) -> None:
        await self.staff(agent, "conversation:accept", at, conversation_id=chat.id)

    async def reply(self, agent: sockets.Peer, chat: Chat, at: datetime) -> None:
        await self.staff(
            agent, "message:send", at, conversation_id=chat.id, client_id=cid(), text="Hi!"
        )

    async def resolve(self, agent: sockets.Peer, chat: Chat, at: datetime) -> None:
        await self.staff(agent, "conversation:resolve", at, conversation_id=chat.id)

    async def transfer(self, agent: sockets.Peer, chat: Chat, to: int, at: datetime) -> None:
        await self.staff(agent, "conversation:transfer", at, conversation_id=chat.id, agent_id=to)

    async def close(self) -> None:
        for chat in self.chats:
            await chat.peer.disconnect()


def seconds(**delta: float) -> timedelta:
    return timedelta(**delta)
