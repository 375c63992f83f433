"""Incoming Socket.IO packets are rate-limited per connection before they are decoded,
and a malformed one costs one log line, not a traceback.

python-socketio decodes every packet and engine.io logs a decoding error with its full
traceback: 3.6 KB of log for each few bytes sent, before any of our rate limits ran (they
act on decoded events). Here each connection has a packet bucket checked first; a packet
that fails to decode is logged as one line, with the lines sampled process-wide; and a
connection that keeps sending bad packets, or keeps flooding, is disconnected.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio
from socketio import packet

from relaydesk.core.config import get_settings
from relaydesk.core.errors import RateLimited
from relaydesk.core.socket_rpc import TokenBucket, error_ack

log = logging.getLogger(__name__)

# A connection that sends this many undecodable packets is disconnected.
MAX_BAD_PACKETS = 5
# Lines about bad packets, process-wide: a burst, then a few a second; the rest counted.
LOG_BURST = 20
LOG_PER_SECOND = 2.0


class _Connection:
    def __init__(self, rate: float) -> None:
        self.packets = TokenBucket(rate, 3 * rate)
        self.bad = 0
        self.dropped = 0


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guards: dict[str, _Connection] = {}
        self._log_bucket = TokenBucket(LOG_PER_SECOND, LOG_BURST)
        self.suppressed_lines = 0

    def _log_bad(self, message: str, *args: Any) -> None:
        if self._log_bucket.take():
            if self.suppressed_lines:
                message += " (%d similar lines suppressed)"
                args = (*args, self.suppressed_lines)
                self.suppressed_lines = 0
            log.warning(message, *args)
        else:
            self.suppressed_lines += 1

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if eio_sid not in self.environ:
            return  # queued behind its own disconnect: nothing to answer, nothing to log
        settings = get_settings()
        guard = self._guards.get(eio_sid)
        if guard is None:
            guard = self._guards[eio_sid] = _Connection(settings.socket_packets_per_second)
        if settings.rate_limits_on and not guard.packets.take():
            guard.dropped += 1
            if guard.dropped > guard.packets.burst:
                self._log_bad("socket %s flooded packets: disconnected", eio_sid)
                self.environ.pop(eio_sid, None)
                await self.eio.disconnect(eio_sid)
                return
            # A call dropped in silence would leave the client waiting for its timeout;
            # answering `rate_limited` lets it back off and retry with the same client_id.
            target = _event_ack_target(data)
            if target is not None:
                namespace, ack_id = target
                await self._send_packet(
                    eio_sid,
                    self.packet_class(
                        packet.ACK,
                        namespace=namespace,
                        data=[error_ack(RateLimited("too many socket packets, slow down"))],
                        id=ack_id,
                    ),
                )
            return
        guard.dropped = 0  # a flood is a run of refused packets, not a lifetime total
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:  # undecodable or unexpected: the client's fault
            guard.bad += 1
            self._log_bad(
                "bad socket packet from %s: %s (%d bytes)",
                eio_sid,
                type(exc).__name__,
                len(data) if isinstance(data, str | bytes) else -1,
            )
            if guard.bad >= MAX_BAD_PACKETS:
                self.environ.pop(eio_sid, None)
                await self.eio.disconnect(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        self._guards.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, reason)


def _event_ack_target(data: Any) -> tuple[str, int] | None:
    """The namespace and ack id of a text EVENT packet that asks for an ack (`2/ns,17[...]`),
    read from its prefix alone: the rest of a packet that is refused is never decoded."""
    if not isinstance(data, str) or not data.startswith("2"):
        return None
    rest, namespace = data[1:], "/"
    if rest.startswith("/"):
        comma = rest.find(",", 0, 200)
        if comma < 0:
            return None
        namespace, rest = rest[:comma], rest[comma + 1 :]
    digits = 0
    while digits < len(rest) and digits < 15 and rest[digits].isdigit():
        digits += 1
    if digits == 0:
        return None
    return namespace, int(rest[:digits])
