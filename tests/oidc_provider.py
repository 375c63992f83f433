"""A small OpenID provider for tests: a Starlette app under uvicorn on 127.0.0.1, in the
test's event loop.

It serves discovery, an authorization endpoint that approves the configured user at once
(no login form), a token endpoint (client_secret_basic, PKCE S256, one-time codes) and its
JWKS: an RSA key generated at start. Attributes on the instance bend what it issues, so a
test can make it misbehave the ways a real provider or an attacker could: sign with a key
not in its JWKS, name another audience or issuer, issue expired tokens, echo another nonce,
leave the email unverified.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from relaydesk.testing.servers import free_port

CLIENT_ID = "relaydesk-test"
CLIENT_SECRET = "test-client-secret/with+odd=chars"


@dataclass
class Grant:
    redirect_uri: str
    nonce: str | None
    challenge: str
    used: bool = False


@dataclass
class Provider:
    url: str = ""
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
    )
    # Who the authorization endpoint approves.
    claims: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "user-1",
            "email": "user@example.test",
            "email_verified": True,
            "name": "Uma User",
        }
    )
    # Misbehaviours, all off by default.
    rogue_key: bool = False
    # Sign with HMAC under the client secret (a confused-deputy classic): must be refused.
    hmac_with_secret: bool = False
    audience: str | list[str] | None = None
    issuer: str | None = None
    lifetime: int = 300
    nonce: str | None = None
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    def sign_in_as(self, email: str, *, verified: bool = True, name: str = "Uma User") -> None:
        self.claims = {
            "sub": f"sub-{email}",
            "email": email,
            "email_verified": verified,
            "name": name,
        }

    def _id_token(self, grant: Grant) -> str:
        now = int(time.time())
        payload = {
            **self.claims,
            "iss": self.issuer or self.url,
            "aud": self.audience if self.audience is not None else CLIENT_ID,
            "iat": now,
            "exp": now + self.lifetime,
            "nonce": self.nonce if self.nonce is not None else grant.nonce,
        }
        if self.hmac_with_secret:
            secret = OctKey.import_key(CLIENT_SECRET.encode())
            return jwt.encode({"alg": "HS256", "kid": self.kid}, payload, secret)
        key = (
            RSAKey.generate_key(2048, parameters={"kid": self.kid}) if self.rogue_key else self.key
        )
        return jwt.encode({"alg": "RS256", "kid": self.kid}, payload, key)

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def rotate_key(self, kid: str) -> None:
        """A new signing key under a new id, the old one gone from the JWKS."""
        self.key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"})

    async def discovery(self, _: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, _: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if (
            q.get("client_id") != CLIENT_ID
            or q.get("response_type") != "code"
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or "openid" not in q.get("scope", "").split()
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(q["redirect_uri"], q.get("nonce"), q["code_challenge"])
        query = urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        return RedirectResponse(f"{q['redirect_uri']}?{query}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        expected = base64.b64encode(
            f"{urllib.parse.quote_plus(CLIENT_ID)}:{urllib.parse.quote_plus(CLIENT_SECRET)}".encode()
        ).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await request.form()
        grant = self.grants.get(str(form.get("code", "")))
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            grant is None
            or grant.used
            or form.get("grant_type") != "authorization_code"
            or form.get("redirect_uri") != grant.redirect_uri
            or challenge != grant.challenge
        ):
            if grant is not None:
                grant.used = True  # RFC 6749 4.1.2: a reused code is refused
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        grant.used = True
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(24),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": self._id_token(grant),
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )


@asynccontextmanager
async def running_provider() -> AsyncIterator[Provider]:
    provider = Provider()
    port = free_port()
    provider.url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(provider.app(), host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield provider
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


@asynccontextmanager
async def signed_in_through(name: str) -> AsyncIterator[Provider]:
    """A running provider, and Relaydesk's settings pointing at it (shown as `name` on the
    login page); the cached discovery and keys are dropped before and after."""
    from relaydesk.accounts import oidc
    from relaydesk.core.config import override_settings

    oidc.reset()
    async with running_provider() as provider:
        with override_settings(
            oidc_issuer=provider.url,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_provider_name=name,
        ):
            yield provider
    oidc.reset()
