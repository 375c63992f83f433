"""Request body limits, enforced before anything reads the body.

Without them, four unauthenticated 100 MB JSON bodies were each read in full before the
401. The limit is per route: small for JSON and forms, the attachment limit for uploads,
the import limit for knowledge-base imports, the packet limit for Socket.IO polling. A
declared `Content-Length` over the limit is answered 413 at once; a body without one
(chunked) is counted as it streams and cut off at the limit, also with a 413.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from relaydesk.core.config import Settings, get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Multipart framing around an upload's bytes: boundaries, part headers, a few fields.
FORM_OVERHEAD = 64 * 1024
# A body declared at most this far past its limit is read and dropped before the 413, so
# the client, still sending, reads the answer instead of a reset connection (a lingering
# close, as nginx does); anything larger is refused without reading a byte.
DRAIN_BYTES = 4 * 1024 * 1024


def limit_for(settings: Settings, method: str, path: str) -> int:
    if path.startswith("/socket.io"):
        # A polling POST may carry several packets, each up to the packet limit.
        return 2 * settings.max_socket_payload_bytes + FORM_OVERHEAD
    if method == "POST" and path.endswith("/attachments") and path.startswith("/api/v1/"):
        return settings.attachment_max_bytes + FORM_OVERHEAD
    if path.startswith("/api/v1/knowledge/import"):
        return settings.kb_import_max_bytes
    if path.startswith("/api/v1/knowledge/"):
        return settings.kb_max_request_bytes
    return settings.max_request_bytes


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {
            "error": {
                "code": "request_too_large",
                "message": f"the request body is larger than {limit} bytes",
                "details": {"limit": limit},
            }
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, declared: int) -> None:
    read = 0
    while read < declared:
        message = await receive()
        if message["type"] != "http.request":
            return
        read += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


class BodyLimit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(get_settings(), scope.get("method", "GET"), scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            if declared <= limit + DRAIN_BYTES:
                await _drain(receive, declared)
            await _refuse(send, limit)
            return
        received = 0
        too_large = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # The app sees the client go away; the client gets the 413 below.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not too_large:
                raise
        if too_large and not started:
            await _refuse(send, limit)
