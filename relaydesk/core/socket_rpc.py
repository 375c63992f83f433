"""The shared shape of socket event handlers: validate, authorise, act, acknowledge.

A handler is declared with `@event("message:send", MessageSend)` on a `RpcNamespace`
method. Whatever a client sends, the handler answers with an ack of the form
`{"ok": true, ...}` or `{"ok": false, "error": {"code", "message"}}`, and no input can
raise out of the handler into python-socketio.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import socketio
from pydantic import BaseModel, ValidationError
from socketio.exceptions import ConnectionRefusedError

from relaydesk.core.config import get_settings
from relaydesk.core.errors import DomainError, InvalidInput, RateLimited

if TYPE_CHECKING:  # state imports realtime, which imports this module
    from relaydesk.core.state import AppState

log = logging.getLogger(__name__)

P = TypeVar("P", bound=BaseModel)
Ack = dict[str, Any]
Handler = Callable[[Any, str, Any], Awaitable[Ack]]


def ok(**fields: Any) -> Ack:
    return {"ok": True, **fields}


def error_ack(error: DomainError) -> Ack:
    return {"ok": False, "error": error.to_dict()}


def refuse(code: str, message: str) -> ConnectionRefusedError:
    """A refused connect; Socket.IO clients see `err.message` and `err.data.code`."""
    return ConnectionRefusedError(message, {"code": code, "message": message})


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def event(name: str, payload_model: type[P]) -> Callable[[Handler], Handler]:
    """Mark a namespace method as the handler of socket event `name`."""

    def decorate(fn: Handler) -> Handler:
        fn.__dict__["socket_event"] = (name, payload_model)
        return fn

    return decorate


class TokenBucket:
    """Per-connection rate limit; a connection lives on one node, so memory is enough."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def client_ip(environ: dict[str, Any]) -> str | None:
    """The peer's address as uvicorn saw it (X-Forwarded-For only from trusted proxies);
    engine.io's own REMOTE_ADDR is a placeholder."""
    client = (environ.get("asgi.scope") or {}).get("client")
    return str(client[0]) if client else None


class ConnectionCap:
    """Sockets per IP address on this node, across namespaces: a flood from one address
    is refused at connect instead of holding thousands of sessions."""

    def __init__(self) -> None:
        self.by_ip: dict[str, int] = {}
        self.ip_of: dict[tuple[str, str], str] = {}

    def admit(self, namespace: str, sid: str, environ: dict[str, Any]) -> bool:
        settings = get_settings()
        ip = client_ip(environ)
        if ip is None or not settings.rate_limits_on:
            return True
        if self.by_ip.get(ip, 0) >= settings.max_connections_per_ip:
            return False
        self.by_ip[ip] = self.by_ip.get(ip, 0) + 1
        self.ip_of[(namespace, sid)] = ip
        return True

    def release(self, namespace: str, sid: str) -> None:
        ip = self.ip_of.pop((namespace, sid), None)
        if ip is not None:
            left = self.by_ip.get(ip, 1) - 1
            if left > 0:
                self.by_ip[ip] = left
            else:
                self.by_ip.pop(ip, None)


connection_cap = ConnectionCap()


class RpcNamespace(socketio.AsyncNamespace):  # type: ignore[misc]
    # The Settings field holding this namespace's events-per-second budget for one connection;
    # bursts of three times that pass.
    rate_setting = "widget_events_per_second"

    def __init__(self, namespace: str, state: AppState) -> None:
        super().__init__(namespace)
        # The app this namespace serves: its handlers reach the database through it.
        self.state = state
        self._handlers: dict[str, tuple[Handler, type[BaseModel]]] = {}
        self._buckets: dict[str, TokenBucket] = {}
        for attr in dir(type(self)):
            fn = getattr(type(self), attr)
            spec = getattr(fn, "__dict__", {}).get("socket_event")
            if spec:
                self._handlers[spec[0]] = (fn, spec[1])

    async def trigger_event(self, event_name: str, *args: Any) -> Any:
        if event_name == "connect":
            sid, environ = args[0], args[1]
            if not connection_cap.admit(self.namespace, sid, environ):
                raise refuse("too_many_connections", "too many connections from your address")
            try:
                return await super().trigger_event(event_name, *args)
            except BaseException:
                connection_cap.release(self.namespace, sid)  # refused: no disconnect follows
                raise
        if event_name == "disconnect":
            connection_cap.release(self.namespace, args[0])
            return await super().trigger_event(event_name, *args)
        sid = args[0]
        entry = self._handlers.get(event_name)
        if entry is None:
            return error_ack(InvalidInput(f"unknown event {event_name!r}", code="unknown_event"))
        settings = get_settings()
        bucket = self._buckets.get(sid)
        if bucket is None:
            rate = float(getattr(settings, self.rate_setting))
            bucket = self._buckets[sid] = TokenBucket(rate, 3 * rate)
        if not bucket.take() and settings.rate_limits_on:
            return error_ack(RateLimited("too many events; slow down"))
        handler, model = entry
        if len(args) != 2:
            return error_ack(InvalidInput("expected exactly one payload object"))
        try:
            payload = model.model_validate(args[1] if args[1] is not None else {})
        except ValidationError as exc:
            return error_ack(InvalidInput(_describe(exc)))
        try:
            return await handler(self, sid, payload)
        except DomainError as exc:
            return error_ack(exc)
        except Exception:
            log.exception("socket event %s failed", event_name)
            return error_ack(DomainError("internal error", code="internal"))

    def forget(self, sid: str) -> None:
        self._buckets.pop(sid, None)
