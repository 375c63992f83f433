"""Finding 3: 50 wrong passwords were all accepted as attempts, and argon2 ran on the
event loop: 48 concurrent bad logins pushed `/healthz` to 2 s. Now failures lock the
account and the address out with back-off, and hashing runs on threads of its own."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import httpx
import pytest

from relaydesk.accounts import throttle
from relaydesk.core import security
from relaydesk.core.config import get_settings, override_settings
from relaydesk.core.db import Database
from relaydesk.core.errors import RateLimited
from relaydesk.core.security import CSRF_COOKIE
from tests.factories import PASSWORD, make_staff


async def _token(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})


async def test_wrong_passwords_lock_the_account_out(db: Database, live_server: str) -> None:
    user = await make_staff(db)
    limit = get_settings().login_max_failures
    async with httpx.AsyncClient(base_url=live_server) as client:
        codes = [(await _token(client, user.email, f"guess-{i}")).status_code for i in range(limit)]
        assert codes == [401] * limit
        locked = await _token(client, user.email, "guess-again")
        assert locked.status_code == 429
        assert locked.json()["error"]["code"] == "too_many_attempts"
        assert 1 <= int(locked.headers["Retry-After"]) <= 31
        # Locked means locked: the right password waits too (the guesser cannot tell).
        assert (await _token(client, user.email, PASSWORD)).status_code == 429
        # The console's sign-in form shares the count, and says so in both languages.
        await client.get("/login?lang=zh")
        form = await client.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": client.cookies[CSRF_COOKIE],
            },
        )
        assert form.status_code == 429 and "登录失败次数过多" in form.text


async def test_one_address_guessing_at_many_accounts_is_locked_out(
    db: Database, live_server: str
) -> None:
    with override_settings(login_max_failures_per_ip=4):
        async with httpx.AsyncClient(base_url=live_server) as client:
            codes = [
                (await _token(client, f"nobody{i}@example.test", "guess")).status_code
                for i in range(5)
            ]
            assert codes == [401, 401, 401, 401, 429]
        # RELAYDESK_RATE_LIMITS=off lifts the per-address limit, never the per-account one.
        with override_settings(rate_limits="off"):
            async with httpx.AsyncClient(base_url=live_server) as client:
                assert (await _token(client, "nobody9@example.test", "x")).status_code == 401


def test_back_off_doubles_up_to_the_cap() -> None:
    with override_settings(
        environment="test", login_lockout_seconds=10, login_lockout_max_seconds=60
    ) as settings:
        waits = [
            throttle.locked_for(settings, throttle.Failures(count, 1000.0), 5, 1000.0)
            for count in (4, 5, 6, 7, 8, 20)
        ]
    assert waits == [0.0, 10.0, 20.0, 40.0, 60.0, 60.0]


async def test_lockouts_are_shared_through_redis(db: Database, redis_server: Any) -> None:
    user = await make_staff(db)
    with override_settings(redis_url=redis_server.url, login_max_failures=2) as settings:
        for _ in range(2):
            with pytest.raises(Exception, match="wrong email or password"):
                await throttle.sign_in(db, settings, email=user.email, password="no", ip=None)
        throttle.reset()  # another node: nothing in its memory, the count is in Redis
        with pytest.raises(RateLimited):
            await throttle.sign_in(db, settings, email=user.email, password=PASSWORD, ip=None)
        await throttle.store_for(settings).clear(f"acct:{user.email}")  # type: ignore[attr-defined]


class SlowHasher:
    """Argon2's cost made visible: each verify holds its thread for 0.25 s."""

    def __init__(self) -> None:
        self.loop_threads: list[bool] = []

    def verify(self, password: str, password_hash: str) -> bool:
        self.loop_threads.append(threading.current_thread() is threading.main_thread())
        time.sleep(0.25)
        return False

    def hash(self, password: str) -> str:
        time.sleep(0.25)
        return "slow"


async def test_concurrent_bad_logins_do_not_stall_other_clients(
    db: Database, live_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = SlowHasher()
    monkeypatch.setattr(security, "_password_hash", hasher)
    logins = 24
    with override_settings(rate_limits="off"):
        async with httpx.AsyncClient(base_url=live_server, timeout=60) as client:
            attempts = [
                asyncio.create_task(_token(client, f"user{i}@example.test", "wrong"))
                for i in range(logins)
            ]
            while not hasher.loop_threads:  # the hashing has begun
                await asyncio.sleep(0.01)
            started = time.perf_counter()
            health = await client.get("/healthz")
            health_seconds = time.perf_counter() - started
            pending = sum(not a.done() for a in attempts)
            results = await asyncio.gather(*attempts)
    assert health.status_code == 200
    assert all(r.status_code == 401 for r in results)
    # Never on the event loop's thread.
    assert hasher.loop_threads and not any(hasher.loop_threads)
    # On the loop, healthz would wait behind 24 x 0.25 s = 6 s of hashing; it answered while
    # most of the logins were still hashing.
    assert pending >= logins // 2
    assert health_seconds < 1.0, health_seconds
