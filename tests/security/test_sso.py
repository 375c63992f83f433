"""Staff single sign-on (OpenID Connect) against a small provider the test starts
(tests/oidc_provider.py), through the real app under uvicorn.

The happy path follows every redirect the way a browser does; each refusal is a sign-in an
attacker or a misbehaving provider could attempt, and checks that no session came of it and
that the shared sign-in record (accounts/signin.py) names the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlmodel import select

from relaydesk.accounts import manage, oidc, signin
from relaydesk.agents_console.sso_pages import SSO_COOKIE
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role, StaffUser
from relaydesk.core.security import SESSION_COOKIE
from tests.factories import make_staff
from tests.oidc_provider import (
    CLIENT_ID,
    Provider,
    signed_in_through,
)


@pytest.fixture
async def idp(db: Database) -> AsyncIterator[Provider]:
    async with signed_in_through("Example ID") as provider:
        yield provider


@pytest.fixture
def outcomes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """Every sign-in outcome reported, in order."""
    seen: list[dict[str, Any]] = []
    real = signin.outcome

    async def spy(db: Database, **kw: Any) -> None:
        seen.append(kw)
        await real(db, **kw)

    monkeypatch.setattr(signin, "outcome", spy)
    yield seen


async def _authorize(client: httpx.AsyncClient) -> str:
    """Start a sign-in and let the provider approve it: the callback URL it redirects to,
    not yet visited."""
    start = await client.get("/login/sso?next=/console/profile")
    assert start.status_code == 303, start.text
    approved = await client.get(start.headers["location"])
    assert approved.status_code == 302, approved.text
    return approved.headers["location"]


def _failed(outcomes: list[dict[str, Any]], reason: str) -> None:
    assert outcomes[-1]["method"] == "sso"
    assert outcomes[-1]["failure"] == reason, outcomes
    assert outcomes[-1].get("user") is None


async def _audited(db: Database) -> list[tuple[str, int | None, dict[str, Any]]]:
    """The sign-in entries of the audit log: (action, actor id, details)."""
    from relaydesk.audit.models import AuditEntry

    async with db.read() as session:
        rows = (await session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        return [(r.action, r.actor_id, r.details) for r in rows if r.action.startswith("auth.")]


async def test_sign_in_follows_every_redirect_into_the_console(
    db: Database, live_server: str, idp: Provider, outcomes: list[dict[str, Any]]
) -> None:
    user = await make_staff(db, roles=[Role.AGENT])
    idp.sign_in_as(user.email.upper())  # emails match whatever their case
    async with httpx.AsyncClient(base_url=live_server, follow_redirects=True) as client:
        login = await client.get("/login")
        assert "Sign in with Example ID" in login.text
        assert "使用 Example ID 登录" in (await client.get("/login?lang=zh")).text
        landed = await client.get("/login/sso?next=/console/profile")
        assert landed.status_code == 200
        assert landed.url.path == "/console/profile"
        assert [r.status_code for r in landed.history] == [303, 302, 303]
        assert SSO_COOKIE not in client.cookies  # the pending sign-in is used up
        me = await client.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["id"] == user.id
        # The same session as a password sign-in: signing out revokes it everywhere.
        stolen = client.cookies[SESSION_COOKIE]
        csrf = client.cookies["relaydesk_csrf"]
        out = await client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert out.status_code == 303
    async with httpx.AsyncClient(base_url=live_server) as replay:
        replay.cookies.set(SESSION_COOKIE, stolen)
        assert (await replay.get("/api/v1/auth/me")).status_code == 401
    assert outcomes == [
        {"method": "sso", "email": user.email, "ip": "127.0.0.1", "user": outcomes[0]["user"]}
    ]
    assert outcomes[0]["user"].id == user.id
    assert idp.token_requests == 1
    audited = await _audited(db)
    assert audited[0] == ("auth.login", user.id, {"method": "sso"})


async def test_login_page_has_no_sso_button_unless_configured(
    db: Database, live_server: str
) -> None:
    async with httpx.AsyncClient(base_url=live_server) as client:
        assert "Sign in with" not in (await client.get("/login")).text
        assert (await client.get("/login/sso")).status_code == 404
        assert (await client.get("/login/sso/callback?code=x&state=y")).status_code == 404


async def test_wrong_state_is_refused(
    db: Database, live_server: str, idp: Provider, outcomes: list[dict[str, Any]]
) -> None:
    user = await make_staff(db)
    idp.sign_in_as(user.email)
    async with httpx.AsyncClient(base_url=live_server) as client:
        callback = await _authorize(client)
        forged = callback.replace("state=", "state=x")
        refused = await client.get(forged)
        assert refused.status_code == 401
        assert "Single sign-on did not work" in refused.text
        assert SESSION_COOKIE not in client.cookies
    _failed(outcomes, "sso_state")
    assert idp.token_requests == 0  # refused before the code was even redeemed


async def test_callback_from_another_browser_is_refused(
    db: Database, live_server: str, idp: Provider, outcomes: list[dict[str, Any]]
) -> None:
    # Login CSRF: an attacker's own code and state, fed to the victim's browser.
    user = await make_staff(db)
    idp.sign_in_as(user.email)
    async with httpx.AsyncClient(base_url=live_server) as attacker:
        callback = await _authorize(attacker)
    async with httpx.AsyncClient(base_url=live_server) as victim:
        refused = await victim.get(callback)
        assert refused.status_code == 401 and SESSION_COOKIE not in victim.cookies
    _failed(outcomes, "sso_state")


async def test_replayed_code_is_refused(
    db: Database, live_server: str, idp: Provider, outcomes: list[dict[str, Any]]
) -> None:
    user = await make_staff(db)
    idp.sign_in_as(user.email)
    async with httpx.AsyncClient(base_url=live_server) as client:
        callback = await _authorize(client)
        pending = client.cookies[SSO_COOKIE]
        first = await client.get(callback)
        assert first.status_code == 303 and SESSION_COOKIE in client.cookies
    # The same callback again, with a copy of the pending-sign-in cookie.
    async with httpx.AsyncClient(base_url=live_server) as replay:
        replay.cookies.set(SSO_COOKIE, pending, path="/login/sso")
        again = await replay.get(callback)
        assert again.status_code == 401 and SESSION_COOKIE not in replay.cookies
    _failed(outcomes, "sso_code_refused")


@pytest.mark.parametrize(
    ("misbehaviour", "reason"),
    [
        ({"rogue_key": True}, "sso_bad_token"),
        ({"audience": "another-client"}, "sso_bad_token"),
        ({"audience": [CLIENT_ID, "another-client"]}, "sso_bad_token"),  # no azp
        ({"issuer": "http://127.0.0.1:1/evil"}, "sso_bad_token"),
        ({"lifetime": -300}, "sso_bad_token"),  # expired beyond the 60 s leeway
        ({"nonce": "another-sign-in"}, "sso_bad_token"),
        ({"hmac_with_secret": True}, "sso_bad_token"),
    ],
    ids=[
        "bad-signature",
        "wrong-audience",
        "extra-audience",
        "wrong-issuer",
        "expired",
        "nonce",
        "hs256-with-client-secret",
    ],
)
async def test_id_tokens_that_do_not_verify_are_refused(
    db: Database,
    live_server: str,
    idp: Provider,
    outcomes: list[dict[str, Any]],
    misbehaviour: dict[str, Any],
    reason: str,
) -> None:
    user = await make_staff(db)
    idp.sign_in_as(user.email)
    for name, value in misbehaviour.items():
        setattr(idp, name, value)
    async with httpx.AsyncClient(base_url=live_server) as client:
        refused = await client.get(await _authorize(client))
        assert refused.status_code == 401, refused.text
        assert SESSION_COOKIE not in client.cookies
    _failed(outcomes, reason)


async def test_unverified_email_is_refused(
    db: Database, live_server: str, idp: Provider, outcomes: list[dict[str, Any]]
) -> None:
    user = await make_staff(db)
    idp.sign_in_as(user.email, verified=False)
    async with httpx.AsyncClient(base_url=live_server) as client:
        refused = await client.get(await _authorize(client))
        assert refused.status_code == 401 and SESSION_COOKIE not in client.cookies
    _failed(outcomes, "sso_email_unverified")
    assert await _audited(db) == [
        ("auth.login_failed", None, {"method": "sso", "reason": "sso_email_unverified"})
    ]


async def test_unknown_user_is_refused_unless_auto_provisioning(
    db: Database, live_server: str, idp: Provider, outcomes: list[dict[str, Any]]
) -> None:
    idp.sign_in_as("newcomer@acme.example", name="Nia Newcomer")
    async with httpx.AsyncClient(base_url=live_server) as client:
        refused = await client.get(await _authorize(client))
        assert refused.status_code == 401 and SESSION_COOKIE not in client.cookies
    _failed(outcomes, "sso_unknown_user")
    async with db.read() as session:
        assert (await session.execute(select(StaffUser))).scalars().all() == []

    with override_settings(oidc_auto_provision=True, oidc_allowed_domains="other.example"):
        async with httpx.AsyncClient(base_url=live_server) as client:
            refused = await client.get(await _authorize(client))
            assert refused.status_code == 401
        _failed(outcomes, "sso_domain_not_allowed")

    with override_settings(
        oidc_auto_provision=True,
        oidc_allowed_domains="other.example, ACME.example",
        oidc_default_role="editor",
    ):
        async with httpx.AsyncClient(base_url=live_server, follow_redirects=True) as client:
            landed = await client.get("/login/sso?next=/console/profile")
            assert landed.url.path == "/console/profile"
            me = (await client.get("/api/v1/auth/me")).json()
    assert me["email"] == "newcomer@acme.example"
    assert me["name"] == "Nia Newcomer" and me["roles"] == ["editor"]
    assert outcomes[-1]["user"].email == "newcomer@acme.example"


async def test_deactivated_user_is_refused(
    db: Database, live_server: str, idp: Provider, outcomes: list[dict[str, Any]]
) -> None:
    await make_staff(db, roles=[Role.ADMIN])  # deactivating the last admin is refused
    user = await make_staff(db)
    assert user.id is not None
    await manage.update_user(db, user_id=user.id, is_active=False)
    idp.sign_in_as(user.email)
    async with httpx.AsyncClient(base_url=live_server) as client:
        refused = await client.get(await _authorize(client))
        assert refused.status_code == 401 and SESSION_COOKIE not in client.cookies
    _failed(outcomes, "sso_account_disabled")


async def test_unreachable_provider_is_a_clear_error(db: Database, live_server: str) -> None:
    oidc.reset()
    with override_settings(oidc_issuer="http://127.0.0.1:9", oidc_client_id=CLIENT_ID):
        async with httpx.AsyncClient(base_url=live_server) as client:
            page = await client.get("/login/sso")
    assert page.status_code == 502
    assert "cannot be reached" in page.text


async def test_next_cannot_leave_the_site(db: Database, live_server: str, idp: Provider) -> None:
    user = await make_staff(db)
    idp.sign_in_as(user.email)
    async with httpx.AsyncClient(base_url=live_server) as client:
        start = await client.get("/login/sso?next=//evil.example/x")
        approved = await client.get(start.headers["location"])
        landed = await client.get(approved.headers["location"])
    assert landed.status_code == 303 and landed.headers["location"] == "/console"


async def test_provider_name_is_escaped_on_the_login_page(
    db: Database, live_server: str, idp: Provider
) -> None:
    with override_settings(oidc_provider_name='<img src=x onerror="alert(1)">'):
        async with httpx.AsyncClient(base_url=live_server) as client:
            page = (await client.get("/login?next=/console%22%3E%3Cscript%3E")).text
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert '"><script>' not in page


async def test_a_rotated_provider_key_is_fetched_again(
    db: Database,
    live_server: str,
    idp: Provider,
    outcomes: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await make_staff(db)
    idp.sign_in_as(user.email)
    async with httpx.AsyncClient(base_url=live_server) as client:
        assert (await client.get(await _authorize(client))).status_code == 303
    idp.rotate_key("k2")  # the cached JWKS no longer has the signing key
    monkeypatch.setattr(oidc, "_JWKS_REFETCH_SECONDS", 0.0)
    async with httpx.AsyncClient(base_url=live_server) as client:
        assert (await client.get(await _authorize(client))).status_code == 303
    assert [o.get("failure") for o in outcomes] == [None, None]
    # Within the refetch interval an unknown kid is not fetched again (no JWKS flood).
    idp.rotate_key("k3")
    monkeypatch.setattr(oidc, "_JWKS_REFETCH_SECONDS", 3600.0)
    async with httpx.AsyncClient(base_url=live_server) as client:
        assert (await client.get(await _authorize(client))).status_code == 401
    _failed(outcomes, "sso_bad_token")
