"""Passwords, tokens and signed values."""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from pwdlib import PasswordHash

from relaydesk.core.config import Settings
from relaydesk.core.errors import Unauthorized

_password_hash = PasswordHash.recommended()
ALGORITHM = "HS256"
# "sso": the signed cookie holding an OpenID sign-in in progress (agents_console/sso_pages.py).
TokenKind = Literal["access", "session", "visitor", "sso"]


# Argon2 costs ~0.3 s of CPU and 64 MB a hash: on the event loop, 48 concurrent bad
# logins stalled every socket for seconds. Hashes run on a few threads of their own (the
# hasher releases the GIL); the bound keeps a burst of sign-ins from taking all the memory
# or the default executor's threads, which the database and file work share.
_hash_threads = ThreadPoolExecutor(
    max_workers=max(2, min(4, os.cpu_count() or 2)), thread_name_prefix="relaydesk-argon2"
)


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return _password_hash.verify(password, password_hash)
    except Exception:  # a malformed stored hash must read as "wrong password", not a crash
        return False


async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hash_threads, hash_password, password)


async def verify_password_async(password: str, password_hash: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _hash_threads, verify_password, password, password_hash
    )


def new_site_key() -> str:
    return "site_" + secrets.token_urlsafe(18)


def new_password() -> str:
    return secrets.token_urlsafe(12)


def create_token(
    settings: Settings, *, kind: TokenKind, subject: str, lifetime: timedelta, **claims: Any
) -> str:
    now = datetime.now(UTC)
    payload = {"sub": subject, "kind": kind, "iat": now, "exp": now + lifetime, **claims}
    keys = settings.signing_keys
    return jwt.encode(payload, keys.current, algorithm=ALGORITHM, headers={"kid": keys.kid})


def _verifying_keys(settings: Settings, token: str) -> list[str]:
    """The key the token names, or (tokens from before key ids) every key we hold."""
    keys = settings.signing_keys
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise Unauthorized("token is invalid", code="invalid_token") from exc
    if kid is None:
        return list(keys.verifying.values())
    key = keys.verifying.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise Unauthorized("token is signed by an unknown key", code="invalid_token")
    return [key]


def decode_token(settings: Settings, token: object, *, kind: TokenKind) -> dict[str, Any]:
    """Verify signature, expiry and kind; raise Unauthorized with the reason otherwise."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise Unauthorized("token is missing or malformed", code="invalid_token")
    claims: dict[str, Any] | None = None
    for key in _verifying_keys(settings, token):
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "kind"]}
            )
            break
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token has expired", code="token_expired") from exc
        except jwt.PyJWTError:
            continue
    if claims is None:
        raise Unauthorized("token is invalid", code="invalid_token")
    if claims.get("kind") != kind:
        raise Unauthorized("token is of the wrong kind", code="invalid_token")
    return claims


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


SESSION_COOKIE = "relaydesk_session"
CSRF_COOKIE = "relaydesk_csrf"
CSRF_HEADER = "X-CSRF-Token"
