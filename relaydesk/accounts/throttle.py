"""Sign-in throttling: per account and per IP address, with back-off and lockout.

Failures are counted per key (`acct:<email>`, `ip:<address>`); past the limit, the key is
locked for `login_lockout_seconds`, doubled with every further failure up to
`login_lockout_max_seconds`. A locked key is refused before any password is hashed, so a
guessing run costs us nothing. Counts live in Redis when it is configured (every node
sees every failure), in this process's memory otherwise. A success clears its account's
count, never its IP's: someone with one valid account must not be able to reset the
counter of an address that guesses at others.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis

from relaydesk.accounts import service as accounts
from relaydesk.accounts import signin
from relaydesk.core import state
from relaydesk.core.config import Settings
from relaydesk.core.db import Database
from relaydesk.core.errors import RateLimited, Unauthorized
from relaydesk.core.models import StaffUser
from relaydesk.core.state import Slot

# Memory is bounded: past this many keys (an address-spraying run), the oldest go first.
_MEMORY_KEYS = 50_000
_PREFIX = "relaydesk:login:"


@dataclass
class Failures:
    count: int = 0
    last: float = 0.0


class Store(Protocol):
    async def get(self, key: str) -> Failures: ...
    async def fail(self, key: str, now: float, ttl: float) -> None: ...
    async def clear(self, key: str) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self.entries: dict[str, Failures] = {}

    async def get(self, key: str) -> Failures:
        return self.entries.get(key, Failures())

    async def fail(self, key: str, now: float, ttl: float) -> None:
        entry = self.entries.pop(key, None)
        if entry is None or now - entry.last > ttl:
            entry = Failures()
        entry.count += 1
        entry.last = now
        self.entries[key] = entry  # re-inserted: dict order is least recently failed first
        while len(self.entries) > _MEMORY_KEYS:
            del self.entries[next(iter(self.entries))]

    async def clear(self, key: str) -> None:
        self.entries.pop(key, None)


class RedisStore:
    def __init__(self, url: str) -> None:
        self.redis = aioredis.Redis.from_url(url, decode_responses=True)

    async def get(self, key: str) -> Failures:
        count, last = await self.redis.hmget(_PREFIX + key, ["count", "last"])
        return Failures(int(count or 0), float(last or 0.0))

    async def fail(self, key: str, now: float, ttl: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(_PREFIX + key, "count", 1)
            pipe.hset(_PREFIX + key, "last", now)
            pipe.expire(_PREFIX + key, max(1, int(ttl)))
            await pipe.execute()

    async def clear(self, key: str) -> None:
        await self.redis.delete(_PREFIX + key)


# The stores by Redis URL (None: this process's memory), kept on the app's state
# (core/state.py): a new state (a restarted app, each test) starts with no counts.
STORES: Slot[dict[str | None, Store]] = Slot("accounts.throttle_stores", lambda app: {})


def store_for(settings: Settings) -> Store:
    url = settings.redis_url
    stores = state.current().get(STORES)
    if url not in stores:
        stores[url] = RedisStore(url) if url else MemoryStore()
    return stores[url]


def reset() -> None:
    """Forget every count held in memory, as another node or a restart would."""
    state.current().put(STORES, None)


def locked_for(settings: Settings, failures: Failures, limit: int, now: float) -> float:
    """Seconds until this key may try again (0: it may)."""
    if failures.count < limit:
        return 0.0
    delay = min(
        settings.login_lockout_max_seconds,
        settings.login_lockout_seconds * 2 ** min(failures.count - limit, 32),
    )
    return float(max(0.0, failures.last + delay - now))


def _keys(settings: Settings, email: str, ip: str | None) -> list[tuple[str, int]]:
    keys = [(f"acct:{email.strip().lower()[:320]}", settings.login_max_failures)]
    if ip and settings.rate_limits_on:
        keys.append((f"ip:{ip}", settings.login_max_failures_per_ip))
    return keys


async def guard(settings: Settings, keys: list[tuple[str, int]]) -> None:
    """Refuse with `too_many_attempts` while any of these keys is locked out."""
    store = store_for(settings)
    now = time.time()
    wait = 0.0
    for key, limit in keys:
        wait = max(wait, locked_for(settings, await store.get(key), limit, now))
    if wait > 0:
        # Not audited: refusing costs nothing, and an entry per refusal would let a
        # flood of locked-out attempts grow the append-only log without bound.
        raise RateLimited(
            "too many failed sign-ins; try again later",
            code="too_many_attempts",
            retry_after=int(wait) + 1,
        )


async def failed(settings: Settings, keys: list[tuple[str, int]]) -> None:
    store = store_for(settings)
    for key, _ in keys:
        await store.fail(key, time.time(), settings.login_failure_window_seconds)


async def sign_in(
    db: Database, settings: Settings, *, email: str, password: str, ip: str | None
) -> StaffUser:
    """`accounts.authenticate`, refused with `too_many_attempts` while locked out. Both
    password sign-ins (the REST token and the console form) come through here, and every
    outcome is reported to `signin.outcome`, the one place sign-ins are recorded."""
    keys = _keys(settings, email, ip)
    try:
        await guard(settings, keys)
    except RateLimited as exc:
        await signin.outcome(db, method="password", email=email, ip=ip, failure=exc.code)
        raise
    try:
        user = await accounts.authenticate(db, email=email, password=password)
    except Unauthorized as exc:
        await failed(settings, keys)
        await signin.outcome(db, method="password", email=email, ip=ip, failure=exc.code)
        raise
    await store_for(settings).clear(keys[0][0])
    await signin.outcome(db, method="password", email=email, ip=ip, user=user)
    return user
