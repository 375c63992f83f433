"""The realtime facade: the one place that talks to python-socketio.

Service functions call these after their transaction commits. Rooms:
- `conv:{id}` in `/widget` (the visitor's tabs) and in `/console` (staff viewing it);
- `site:{id}` in `/console` (inbox updates for staff of that site);
- `staff:{id}` in `/console` (every tab of one staff user);
- `visitor:{id}` in `/widget` (every tab of one visitor).
With `RELAYDESK_REDIS_URL` set the server uses `AsyncRedisManager`, so an emit reaches
clients connected to any node.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import socketio
from engineio import packet as eio_packet
from engineio.exceptions import SocketIsClosedError
from socketio import packet as sio_packet

from relaydesk.core import state
from relaydesk.core.config import Settings
from relaydesk.core.packet_guard import GuardedServer
from relaydesk.core.wire import JsonPacket

log = logging.getLogger(__name__)

WIDGET = "/widget"
CONSOLE = "/console"


def conversation_room(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


def site_room(site_id: int) -> str:
    return f"site:{site_id}"


def site_leads_room(site_id: int) -> str:
    """Supervisors and admins of a site: they see every conversation in it."""
    return f"site:{site_id}:leads"


def staff_room(user_id: int) -> str:
    return f"staff:{user_id}"


def visitor_room(visitor_id: str) -> str:
    return f"visitor:{visitor_id}"


class Emitter(Protocol):
    async def emit(
        self,
        event: str,
        data: Any,
        *,
        room: str,
        namespace: str,
        skip_sid: str | None = None,
    ) -> None: ...


class SocketIOEmitter:
    def __init__(self, server: socketio.AsyncServer) -> None:
        self.server = server

    async def emit(
        self,
        event: str,
        data: Any,
        *,
        room: str,
        namespace: str,
        skip_sid: str | None = None,
    ) -> None:
        if type(self.server.manager) is socketio.AsyncManager:
            await self._emit_here(event, data, room=room, namespace=namespace, skip_sid=skip_sid)
        else:
            # A pub/sub manager: other nodes hold sockets of the room too.
            await self.server.emit(event, data, room=room, namespace=namespace, skip_sid=skip_sid)

    async def _emit_here(
        self, event: str, data: Any, *, room: str, namespace: str, skip_sid: str | None
    ) -> None:
        """`AsyncServer.emit` without its task per recipient and its wait for them all,
        which delayed the sender's ack by a turn of the event loop (docs/performance.md).
        Packets are queued in the order of the calls, as with `AsyncServer.emit`; this
        uses python-socketio internals, hence its version bound in pyproject.toml."""
        manager = self.server.manager
        recipients = [
            eio_sid for sid, eio_sid in manager.get_participants(namespace, room) if sid != skip_sid
        ]
        if not recipients:
            return
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        packets = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for eio_sid in recipients:
            try:
                for part in packets:
                    await self.server.eio.send_packet(eio_sid, part)
            except SocketIsClosedError:
                continue  # it is going away; a reconnecting client syncs what it missed

    async def leave_room(self, sid: str, room: str, *, namespace: str) -> None:
        # Through the client manager, so a socket connected to another node leaves too.
        await self.server.leave_room(sid, room, namespace=namespace)

    async def disconnect(self, sid: str, *, namespace: str) -> None:
        # Through the client manager, so a socket connected to another node goes too.
        await self.server.disconnect(sid, namespace=namespace)


class NullEmitter:
    """Used where no socket server runs (the CLI): state changes still happen."""

    async def emit(
        self,
        event: str,
        data: Any,
        *,
        room: str,
        namespace: str,
        skip_sid: str | None = None,
    ) -> None:
        return None


def get_emitter() -> Emitter:
    """The installed app's emitter (`core/state.py`): the app's start sets it."""
    return state.current().emitter


async def to_conversation(
    conversation_id: str, event: str, data: Any, *, skip_sid: str | None = None
) -> None:
    """Everyone in the conversation: the visitor's tabs and staff viewing it."""
    room = conversation_room(conversation_id)
    await get_emitter().emit(event, data, room=room, namespace=WIDGET, skip_sid=skip_sid)
    await get_emitter().emit(event, data, room=room, namespace=CONSOLE, skip_sid=skip_sid)


async def to_visitor_side(
    conversation_id: str, event: str, data: Any, *, skip_sid: str | None = None
) -> None:
    await get_emitter().emit(
        event, data, room=conversation_room(conversation_id), namespace=WIDGET, skip_sid=skip_sid
    )


async def to_staff_side(
    conversation_id: str, event: str, data: Any, *, skip_sid: str | None = None
) -> None:
    await get_emitter().emit(
        event, data, room=conversation_room(conversation_id), namespace=CONSOLE, skip_sid=skip_sid
    )


async def to_site_staff(site_id: int, event: str, data: Any) -> None:
    await get_emitter().emit(event, data, room=site_room(site_id), namespace=CONSOLE)


async def to_site_leads(site_id: int, event: str, data: Any) -> None:
    await get_emitter().emit(event, data, room=site_leads_room(site_id), namespace=CONSOLE)


async def to_staff_user(user_id: int, event: str, data: Any) -> None:
    await get_emitter().emit(event, data, room=staff_room(user_id), namespace=CONSOLE)


async def remove_from_conversation(sid: str, conversation_id: str) -> None:
    """Stop a console socket receiving a conversation's events (its access was revoked).
    Emitters that do not manage rooms (the CLI's, tests' recorders) may record or ignore it."""
    leave = getattr(get_emitter(), "leave_room", None)
    if leave is not None:
        await leave(sid, conversation_room(conversation_id), namespace=CONSOLE)


async def disconnect_console(sids: list[str]) -> None:
    """Disconnect these console sockets (on any node): their user's access was revoked."""
    disconnect = getattr(get_emitter(), "disconnect", None)
    if disconnect is not None:
        for sid in sids:
            await disconnect(sid, namespace=CONSOLE)


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    manager: socketio.AsyncManager | None = None
    if settings.redis_url:
        manager = socketio.AsyncRedisManager(settings.redis_url)
    server = GuardedServer(
        async_mode="asgi",
        client_manager=manager,
        serializer=JsonPacket,
        # Origins are checked per site in the /widget connect handler (each site has its
        # own allow-list), so the transport layer accepts any origin.
        cors_allowed_origins="*",
        max_http_buffer_size=settings.max_socket_payload_bytes,
        ping_interval=20,
        ping_timeout=20,
        logger=False,
        engineio_logger=False,
    )
    return server
