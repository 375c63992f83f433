"""`SocketIOEmitter`: on one node it queues packets itself; with a pub/sub manager it leaves
the emit to python-socketio, which also reaches the other nodes."""

from __future__ import annotations

from typing import Any

import pytest
import socketio
from engineio.exceptions import SocketIsClosedError

from relaydesk.core import wire
from relaydesk.core.realtime import CONSOLE, SocketIOEmitter


def _server(manager: socketio.AsyncManager | None = None) -> socketio.AsyncServer:
    return socketio.AsyncServer(
        async_mode="asgi", client_manager=manager, serializer=wire.JsonPacket
    )


async def _join(server: socketio.AsyncServer, eio_sid: str, room: str) -> str:
    sid: str = await server.manager.connect(eio_sid, CONSOLE)
    await server.manager.enter_room(sid, CONSOLE, room)
    return sid


def _record(server: socketio.AsyncServer, closed: set[str] | None = None) -> list[tuple[str, Any]]:
    """What reaches each socket's queue, decoded: (eio sid, [event, data...])."""
    sent: list[tuple[str, Any]] = []

    async def send_packet(eio_sid: str, packet: Any) -> None:
        if eio_sid in (closed or set()):
            raise SocketIsClosedError()
        decoded = server.packet_class(encoded_packet=packet.data)
        sent.append((eio_sid, decoded.data))

    server.eio.send_packet = send_packet  # type: ignore[method-assign]
    return sent


async def test_room_members_but_the_sender_get_each_emit_in_call_order() -> None:
    server = _server()
    sender = await _join(server, "eio-sender", "conv:1")
    await _join(server, "eio-agent", "conv:1")
    await _join(server, "eio-elsewhere", "conv:2")
    sent = _record(server)
    emitter = SocketIOEmitter(server)

    for seq in (1, 2, 3):
        await emitter.emit(
            "message:new", {"seq": seq}, room="conv:1", namespace=CONSOLE, skip_sid=sender
        )

    assert sent == [("eio-agent", ["message:new", {"seq": seq}]) for seq in (1, 2, 3)]


async def test_an_emit_queues_its_packets_without_waiting_for_a_turn_of_the_loop() -> None:
    """The sender's ack is sent after the fan-out: it must not wait behind other work."""
    server = _server()
    await _join(server, "eio-agent", "conv:1")
    sent = _record(server)

    emit = SocketIOEmitter(server).emit("message:new", {}, room="conv:1", namespace=CONSOLE)
    with pytest.raises(StopIteration):  # ran to completion without suspending once
        emit.send(None)

    assert sent == [("eio-agent", ["message:new", {}])]


async def test_a_closing_socket_does_not_keep_the_others_from_their_packet() -> None:
    server = _server()
    for eio_sid in ("eio-a", "eio-closing", "eio-b"):
        await _join(server, eio_sid, "site:1")
    sent = _record(server, closed={"eio-closing"})

    await SocketIOEmitter(server).emit("inbox", {"n": 1}, room="site:1", namespace=CONSOLE)

    assert sorted(eio_sid for eio_sid, _ in sent) == ["eio-a", "eio-b"]


@pytest.mark.parametrize(
    ("data", "arguments"),
    [(None, []), ({"a": 1}, [{"a": 1}]), ((1, "two"), [1, "two"])],
)
async def test_data_becomes_the_events_arguments_as_with_python_socketio(
    data: Any, arguments: list[Any]
) -> None:
    server = _server()
    await _join(server, "eio-a", "room")
    sent = _record(server)

    await SocketIOEmitter(server).emit("event", data, room="room", namespace=CONSOLE)

    assert sent == [("eio-a", ["event", *arguments])]


async def test_an_empty_room_sends_nothing() -> None:
    server = _server()
    sent = _record(server)
    await SocketIOEmitter(server).emit("event", {}, room="nobody", namespace=CONSOLE)
    assert sent == []


async def test_a_pub_sub_manager_gets_the_emit_so_other_nodes_see_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class PubSubLike(socketio.AsyncManager):  # any manager but the single-node one
        pass

    server = _server(PubSubLike())
    await _join(server, "eio-a", "room")
    sent = _record(server)
    emitted: list[tuple[Any, ...]] = []

    async def emit(event: str, data: Any, **kwargs: Any) -> None:
        emitted.append((event, data, kwargs["room"], kwargs["skip_sid"]))

    monkeypatch.setattr(server, "emit", emit)
    await SocketIOEmitter(server).emit("event", {"x": 1}, room="room", namespace=CONSOLE)

    assert emitted == [("event", {"x": 1}, "room", None)] and sent == []
