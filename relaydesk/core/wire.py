"""How Socket.IO packets are encoded on the way out.

python-socketio's default packet walks every outgoing payload looking for `bytes` (to
split binary attachments off) and encodes it with the stdlib `json`. Relaydesk never
sends binary Socket.IO packets (files go over HTTP), and those two steps were a tenth of
the event loop's time per message under load, so outgoing packets skip the scan and are
encoded with orjson. Incoming packets are untouched: they are decoded with engine.io's
stdlib-based `json`, which refuses oversized integers, and binary packets from clients
still decode (and then fail validation like any other bad payload).
"""

from __future__ import annotations

from typing import Any

import orjson
from engineio import json as engineio_json
from socketio.packet import Packet

_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


class _Json:
    """The `json` module interface Socket.IO packets use: orjson out, stdlib in."""

    @staticmethod
    def dumps(data: Any, **_: Any) -> str:
        try:
            return orjson.dumps(data, option=_ORJSON_OPTIONS).decode()
        except TypeError:
            # What orjson refuses (a lone surrogate, a type it does not know) gets the
            # stdlib's answer: the same output, or the same error, as before.
            encoded: str = engineio_json.dumps(data, separators=(",", ":"))
            return encoded

    @staticmethod
    def loads(text: str | bytes, **kwargs: Any) -> Any:
        return engineio_json.loads(text, **kwargs)


class JsonPacket(Packet):  # type: ignore[misc]
    """A Socket.IO packet that is never binary on the way out."""

    json = _Json

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        return False
