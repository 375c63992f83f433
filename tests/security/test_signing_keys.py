"""Finding 1: a default install signed tokens with a key published in the repository, and
production accepted any key but that exact string. Now: a random key per install (kept in
the data dir, owner-only), weak keys refused outside development, and rotation by `kid`."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import jwt
import pytest
from pydantic import ValidationError

from relaydesk.api.app import create_app
from relaydesk.core.config import DEV_SECRET_KEY, Settings, override_settings
from relaydesk.core.db import Database
from relaydesk.core.keys import KEY_FILE, key_id
from relaydesk.core.models import Role
from relaydesk.core.security import create_token, decode_token
from tests.factories import make_staff

REPO = Path(__file__).resolve().parents[2]
STRONG = "k3Jx9vQ2-pLm8ZrT4yWb7nHc1sDf6gEa0uIo5"


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app().api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def _forge(key: str, subject: str, **headers: str) -> str:
    now = datetime.now(UTC)
    claims = {"sub": subject, "kind": "access", "iat": now, "exp": now + timedelta(hours=1)}
    return jwt.encode(claims, key, algorithm="HS256", headers=headers or None)


async def test_an_admin_token_forged_with_the_published_key_is_refused(
    db: Database, client: httpx.AsyncClient
) -> None:
    admin = await make_staff(db, roles=[Role.ADMIN])
    for forged in (
        _forge(DEV_SECRET_KEY, str(admin.id)),
        _forge(DEV_SECRET_KEY, str(admin.id), kid=key_id(DEV_SECRET_KEY)),
    ):
        response = await client.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401


def test_a_generated_key_is_random_persisted_and_owner_only(tmp_path: Path) -> None:
    first = Settings(environment="production", data_dir=tmp_path / "a").signing_keys
    again = Settings(environment="production", data_dir=tmp_path / "a").signing_keys
    other = Settings(environment="production", data_dir=tmp_path / "b").signing_keys
    assert first.current == again.current != other.current
    assert first.current != DEV_SECRET_KEY and len(first.current) >= 48
    mode = (tmp_path / "a" / KEY_FILE).stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_a_loosened_key_file_is_made_owner_only_again(tmp_path: Path) -> None:
    key = Settings(data_dir=tmp_path).signing_keys.current
    (tmp_path / KEY_FILE).chmod(0o644)
    assert Settings(data_dir=tmp_path).signing_keys.current == key
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "key",
    [
        "a",
        DEV_SECRET_KEY,
        "short-but-random-9f8a",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "abababababababababababababababababab",
    ],
)
@pytest.mark.parametrize("environment", ["production", "test"])
def test_weak_keys_are_refused_outside_development(key: str, environment: str) -> None:
    with pytest.raises(ValidationError, match="too weak"):
        Settings(environment=environment, secret_key=key)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="too weak"):
        Settings(
            environment=environment,
            secret_key=STRONG,  # type: ignore[arg-type]
            previous_secret_keys=f"{STRONG}x,{key}",  # type: ignore[arg-type]
        )
    Settings(environment="development", secret_key=key)  # type: ignore[arg-type]


def test_a_strong_key_is_accepted_in_production() -> None:
    assert Settings(environment="production", secret_key=STRONG).signing_keys.current == STRONG  # type: ignore[arg-type]


def test_rotation_keeps_old_tokens_valid_until_the_old_key_is_dropped(tmp_path: Path) -> None:
    old_key, new_key = STRONG, STRONG[::-1] + "Q7"
    old = Settings(environment="production", secret_key=old_key)  # type: ignore[arg-type]
    token = create_token(old, kind="access", subject="7", lifetime=timedelta(hours=1))
    assert jwt.get_unverified_header(token)["kid"] == key_id(old_key)
    rotated = Settings(
        environment="production",
        secret_key=new_key,  # type: ignore[arg-type]
        previous_secret_keys=old_key,  # type: ignore[arg-type]
    )
    assert decode_token(rotated, token, kind="access")["sub"] == "7"
    fresh = create_token(rotated, kind="access", subject="8", lifetime=timedelta(hours=1))
    assert jwt.get_unverified_header(fresh)["kid"] == key_id(new_key)
    dropped = Settings(environment="production", secret_key=new_key)  # type: ignore[arg-type]
    with pytest.raises(Exception, match="unknown key"):
        decode_token(dropped, token, kind="access")
    assert decode_token(dropped, fresh, kind="access")["sub"] == "8"


def test_tokens_without_a_kid_verify_against_the_held_keys() -> None:
    with override_settings(environment="production", secret_key=STRONG) as settings:
        legacy = _forge(STRONG, "3")
        assert decode_token(settings, legacy, kind="access")["sub"] == "3"


def test_the_compose_file_carries_no_default_secret() -> None:
    compose = (REPO / "docker-compose.yml").read_text()
    assert "RELAYDESK_SECRET_KEY: ${RELAYDESK_SECRET_KEY:-}\n" in compose
    assert DEV_SECRET_KEY not in compose
    assert "RELAYDESK_ENVIRONMENT: ${RELAYDESK_ENVIRONMENT:-production}" in compose
