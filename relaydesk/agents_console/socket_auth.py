"""Who may open the `/console` socket.

A browser sends the session cookie with a WebSocket handshake from any page of the same
site (another port of the same host counts), and WebSockets have no CORS. So a cookie
alone proves nothing: the handshake must come from the console's own origin, and carry
the page's CSRF token in the Socket.IO `auth` payload, which a page elsewhere cannot read.
Bearer tokens (scripts, integrations) are proof enough by themselves.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from relaydesk.core.config import Settings
from relaydesk.core.errors import Forbidden, Unauthorized
from relaydesk.core.keys import split_keys
from relaydesk.core.security import CSRF_COOKIE, SESSION_COOKIE, decode_token

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class ConsoleAuth(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)
    token: str | None = None
    csrf: str | None = None


def _cookies(environ: dict[str, Any]) -> SimpleCookie:
    cookie = SimpleCookie()
    try:
        cookie.load(environ.get("HTTP_COOKIE", ""))
    except Exception:
        return SimpleCookie()
    return cookie


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(f"//{netloc}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return host.lower(), port or _DEFAULT_PORTS.get(scheme, 0)


def origin_allowed(settings: Settings, environ: dict[str, Any]) -> bool:
    """The handshake's Origin is this server's (by Host), PUBLIC_URL's, or a listed one.
    Clients that are not browsers send no Origin and cannot carry a victim's cookie."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    target = _host_port(parts.netloc, parts.scheme)
    if target is None or parts.scheme not in ("http", "https"):
        return False
    allowed = [environ.get("HTTP_HOST", "")]
    extra = [settings.public_url] if settings.public_url else []
    if settings.console_origins:
        extra += split_keys(settings.console_origins)
    for url in extra:
        listed = urlsplit(url)
        if listed.scheme == parts.scheme:
            allowed.append(listed.netloc)
    return any(_host_port(netloc, parts.scheme) == target for netloc in allowed if netloc)


def staff_from_credentials(
    settings: Settings, auth: Any, environ: dict[str, Any]
) -> dict[str, Any]:
    """The claims of a bearer token (auth), or else of the console session cookie, which
    must come with the CSRF token the console page was given."""
    try:
        params = ConsoleAuth.model_validate(auth if isinstance(auth, dict) else {})
    except Exception:
        params = ConsoleAuth()
    if not origin_allowed(settings, environ):
        raise Forbidden("this origin may not open the console", code="origin_not_allowed")
    if params.token:
        return decode_token(settings, params.token, kind="access")
    cookies = _cookies(environ)
    session = cookies.get(SESSION_COOKIE)
    if session is None:
        raise Unauthorized("sign in first", code="unauthorized")
    claims = decode_token(settings, session.value, kind="session")
    expected = cookies.get(CSRF_COOKIE)
    if expected is None or not params.csrf or not hmac.compare_digest(expected.value, params.csrf):
        raise Forbidden("CSRF token missing or wrong", code="csrf_failed")
    return claims
