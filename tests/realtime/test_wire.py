"""Outgoing Socket.IO packets: orjson-encoded, never binary, and the same JSON as before."""

from __future__ import annotations

import json

import pytest
from socketio import packet

from relaydesk.core.wire import JsonPacket

MESSAGE = {
    "message": {
        "id": "a941",
        "seq": 7,
        "text": '配送需要多久？ <b>&</b> "quoted" \\ \n tab\t é',
        "payload": {"attachments": [{"size": 12, "ok": True, "ratio": 0.5}], "none": None},
    }
}


def _decoded(encoded: str, prefix: str) -> object:
    assert encoded.startswith(prefix)
    return json.loads(encoded[len(prefix) :])


def test_event_encodes_to_the_same_json_as_python_socketio_default() -> None:
    ours = JsonPacket(packet.EVENT, data=["message:new", MESSAGE], namespace="/widget").encode()
    theirs = packet.Packet(packet.EVENT, data=["message:new", MESSAGE], namespace="/widget")
    assert _decoded(ours, "2/widget,") == _decoded(theirs.encode(), "2/widget,")
    assert "配送" in ours  # UTF-8 as is, not \u escapes: a third of the bytes for CJK


def test_ack_keeps_its_id_and_non_string_keys_are_allowed() -> None:
    encoded = JsonPacket(packet.ACK, data=[{"ok": True, 3: "x"}], namespace="/console", id=12)
    assert encoded.encode() == '3/console,12[{"ok":true,"3":"x"}]'


def test_what_orjson_refuses_falls_back_to_the_stdlib() -> None:
    lone = JsonPacket(packet.EVENT, data=["x", {"text": "a\ud800b"}]).encode()
    assert lone == '2["x",{"text":"a\\ud800b"}]'
    with pytest.raises(TypeError):
        JsonPacket(packet.EVENT, data=["x", {1, 2}]).encode()


def test_outgoing_bytes_are_refused_not_silently_split() -> None:
    # Relaydesk never sends binary packets; a handler that tried would fail loudly.
    assert JsonPacket(packet.EVENT, data=["x", b"raw"]).packet_type == packet.EVENT
    with pytest.raises(TypeError):
        JsonPacket(packet.EVENT, data=["x", b"raw"]).encode()


def test_incoming_packets_decode_as_before_and_refuse_huge_integers() -> None:
    incoming = JsonPacket(encoded_packet='2/widget,5["message:send",{"seq":3}]')
    assert (incoming.packet_type, incoming.namespace, incoming.id) == (packet.EVENT, "/widget", 5)
    assert incoming.data == ["message:send", {"seq": 3}]
    binary = JsonPacket(encoded_packet='51-/widget,["upload",{"_placeholder":true,"num":0}]')
    assert binary.packet_type == packet.BINARY_EVENT and binary.attachment_count == 1
    with pytest.raises(ValueError):
        JsonPacket(encoded_packet='2["x",' + "9" * 200 + "]")
