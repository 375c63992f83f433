"""The baseline for `benchmarks/messages.py`: a bare python-socketio relay.

It speaks the same events with the same ack shapes as Relaydesk's `/widget` and
`/console` namespaces but keeps everything in memory: no database, no auth, no event
log, no inbox broadcast. It still assigns an increasing `seq` per conversation and emits
`message:new` to the conversation's room in both namespaces, skipping the sending socket
as Relaydesk does, so the comparison measures what Relaydesk adds on top of the
transport, not a cheaper protocol.

Run: `python benchmarks/_relay.py --port P` (binds 127.0.0.1 only).
"""

from __future__ import annotations

import argparse
import itertools
import uuid
from datetime import UTC, datetime
from typing import Any

import socketio
import uvicorn

WIDGET = "/widget"
CONSOLE = "/console"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _room(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


class Relay:
    """In-memory conversations: id → last seq, plus the ids each visitor sid owns."""

    def __init__(self) -> None:
        self.last_seq: dict[str, int] = {}
        self.visitor_ids = itertools.count(1)
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            cors_allowed_origins="*",
            # Same transport settings as relaydesk.core.realtime.create_socket_server.
            max_http_buffer_size=1_000_000,
            ping_interval=20,
            ping_timeout=20,
            logger=False,
            engineio_logger=False,
        )
        self._register()

    def _register(self) -> None:
        sio = self.sio
        sio.on("connect", self.widget_connect, namespace=WIDGET)
        sio.on("conversation:open", self.open_conversation, namespace=WIDGET)
        sio.on("message:send", self.send_message, namespace=WIDGET)
        sio.on("connect", self.console_connect, namespace=CONSOLE)
        sio.on("conversation:join", self.join, namespace=CONSOLE)
        sio.on("conversation:accept", self.join, namespace=CONSOLE)

    async def widget_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        visitor_id = f"v{next(self.visitor_ids)}"
        await self.sio.save_session(sid, {"visitor_id": visitor_id}, namespace=WIDGET)
        return True

    async def console_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        return True

    def _conversation(self, conversation_id: str, visitor_id: str) -> dict[str, Any]:
        now = _now_iso()
        return {
            "id": conversation_id,
            "site_id": 1,
            "visitor_id": visitor_id,
            "status": "bot",
            "assignee_id": None,
            "team_id": None,
            "handoff_reason": None,
            "last_seq": self.last_seq[conversation_id],
            "created_at": now,
            "updated_at": now,
        }

    async def open_conversation(self, sid: str, data: Any = None) -> dict[str, Any]:
        session = await self.sio.get_session(sid, namespace=WIDGET)
        conversation_id = uuid.uuid4().hex
        self.last_seq[conversation_id] = 0
        await self.sio.enter_room(sid, _room(conversation_id), namespace=WIDGET)
        conversation = self._conversation(conversation_id, session["visitor_id"])
        return {"ok": True, "conversation": conversation, "messages": []}

    async def send_message(self, sid: str, data: Any = None) -> dict[str, Any]:
        if not isinstance(data, dict) or data.get("conversation_id") not in self.last_seq:
            return {"ok": False, "error": {"code": "conversation_not_found", "message": "?"}}
        conversation_id = data["conversation_id"]
        session = await self.sio.get_session(sid, namespace=WIDGET)
        seq = self.last_seq[conversation_id] + 1
        self.last_seq[conversation_id] = seq
        message = {
            "id": uuid.uuid4().hex,
            "conversation_id": conversation_id,
            "seq": seq,
            "client_id": data.get("client_id"),
            "sender": {"kind": "visitor", "id": session["visitor_id"], "name": None},
            "text": data.get("text"),
            "payload": {},
            "created_at": _now_iso(),
        }
        room = _room(conversation_id)
        event = {"message": message}
        await self.sio.emit("message:new", event, room=room, namespace=WIDGET, skip_sid=sid)
        await self.sio.emit("message:new", event, room=room, namespace=CONSOLE, skip_sid=sid)
        return {"ok": True, "message": message, "duplicate": False}

    async def join(self, sid: str, data: Any = None) -> dict[str, Any]:
        conversation_id = data.get("conversation_id") if isinstance(data, dict) else None
        if conversation_id not in self.last_seq:
            return {"ok": False, "error": {"code": "conversation_not_found", "message": "?"}}
        await self.sio.enter_room(sid, _room(conversation_id), namespace=CONSOLE)
        conversation = self._conversation(conversation_id, "")
        return {"ok": True, "conversation": conversation, "messages": []}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = socketio.ASGIApp(Relay().sio, socketio_path="socket.io")
    # Same uvicorn defaults as `relaydesk serve` (auto loop/http/ws: uvloop, httptools,
    # websockets), so only the application differs.
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
