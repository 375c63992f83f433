"""Security headers.

The console and sign-in pages must never render inside another site's frame (a
clickjacking page put the console in an invisible frame), and run only our own scripts.
Every response says `nosniff`. HSTS is sent when enabled and the request came over
https: behind a TLS proxy, run uvicorn with `--proxy-headers` (docs/security.md).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from relaydesk.core.config import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

# The one inline handler the admin pages use (a site picker that submits its form), allowed
# by its hash rather than allowing inline scripts.
_HANDLERS = ("this.form.submit()",)
_HASHES = " ".join(
    f"'sha256-{base64.b64encode(hashlib.sha256(h.encode()).digest()).decode()}'" for h in _HANDLERS
)
PAGE_CSP = (
    "default-src 'self'; "
    f"script-src 'self' 'unsafe-hashes' {_HASHES}; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; "
    "connect-src 'self'; "
    "font-src 'self'; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
_PAGE_PREFIXES = ("/login", "/logout", "/console")


def _is_page(path: str) -> bool:
    return path == "/" or any(
        path == p or path.startswith(p + "/") or path.startswith(p + "?") for p in _PAGE_PREFIXES
    )


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        page = _is_page(scope.get("path", ""))
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                if page:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                    headers.append((b"referrer-policy", b"same-origin"))
                if https and settings.hsts_seconds > 0:
                    value = f"max-age={settings.hsts_seconds}; includeSubDomains"
                    headers.append((b"strict-transport-security", value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
