"""OpenID Connect for staff sign-in: the relying party's side of the authorization-code
flow with PKCE.

authlib builds the authorization request (state, PKCE S256 challenge); joserfc (authlib's
JOSE library) verifies the ID token: its signature against the provider's JWKS, restricted
to asymmetric algorithms, then `iss`, `aud` (and `azp` when there are several audiences),
`exp`, `iat` and the `nonce` of this sign-in. A token signed with an unknown `kid` triggers
one JWKS refetch (the provider rotated its keys), no more often than every
`_JWKS_REFETCH_SECONDS`.

The issuer is configured by an administrator, not supplied by a stranger, so it may be on a
private network or loopback (a self-hosted Keycloak, the tests' provider): it does not go
through the URL-import SSRF guard. Every call to it has a timeout.
"""

from __future__ import annotations

import base64
import secrets
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from relaydesk.core.config import Settings
from relaydesk.core.errors import DomainError

# Symmetric algorithms (HS*) would verify with the client secret, which the provider's
# JWKS does not hold; `none` is never acceptable.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_METADATA_SECONDS = 3600.0
_JWKS_SECONDS = 3600.0
_JWKS_REFETCH_SECONDS = 60.0
_CLOCK_LEEWAY_SECONDS = 60
_MAX_RESPONSE_BYTES = 1024 * 1024


class SsoError(DomainError):
    """A sign-in the provider or its token did not vouch for; `code` says why."""

    code = "sso_failed"
    http_status = 401


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str
    name: str | None


@dataclass(frozen=True)
class Transaction:
    """What the callback must find again: kept in a signed cookie in the meantime."""

    state: str
    nonce: str
    verifier: str


_providers: dict[str, tuple[float, Provider]] = {}
_jwks: dict[str, tuple[float, KeySet]] = {}


def reset() -> None:
    """Forget cached discovery documents and keys (tests; a restart does the same)."""
    _providers.clear()
    _jwks.clear()


def _client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=settings.oidc_timeout_seconds, follow_redirects=False)


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code != 200 or len(response.content) > _MAX_RESPONSE_BYTES:
        raise SsoError(
            f"the provider's {what} answered {response.status_code}", code="sso_provider"
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise SsoError(f"the provider's {what} is not JSON", code="sso_provider") from exc
    if not isinstance(body, dict):
        raise SsoError(f"the provider's {what} is not an object", code="sso_provider")
    return body


async def discover(settings: Settings) -> Provider:
    issuer = (settings.oidc_issuer or "").rstrip("/")
    cached = _providers.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        async with _client(settings) as client:
            doc = _json(await client.get(url), "discovery document")
    except httpx.HTTPError as exc:
        raise SsoError(f"cannot reach the provider: {exc!r}", code="sso_provider") from exc
    # OpenID Connect Discovery 4.3: the document must name exactly the issuer we asked.
    if str(doc.get("issuer", "")).rstrip("/") != issuer:
        raise SsoError("the discovery document names another issuer", code="sso_provider")
    try:
        offered = doc.get("id_token_signing_alg_values_supported") or ["RS256"]
        provider = Provider(
            issuer=str(doc["issuer"]),
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            jwks_uri=str(doc["jwks_uri"]),
            algorithms=tuple(a for a in ALGORITHMS if a in offered) or ("RS256",),
        )
    except KeyError as exc:
        raise SsoError(f"the discovery document lacks {exc}", code="sso_provider") from exc
    _providers[issuer] = (time.monotonic() + _METADATA_SECONDS, provider)
    return provider


def begin(settings: Settings, provider: Provider, *, redirect_uri: str) -> tuple[str, Transaction]:
    """The provider's authorization URL to send the browser to, and what to remember."""
    transaction = Transaction(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(64),  # 86 characters: within RFC 7636's 43-128
    )
    url = prepare_grant_uri(
        provider.authorization_endpoint,
        client_id=settings.oidc_client_id,
        response_type="code",
        redirect_uri=redirect_uri,
        scope=settings.oidc_scopes,
        state=transaction.state,
        nonce=transaction.nonce,
        code_challenge=create_s256_code_challenge(transaction.verifier),
        code_challenge_method="S256",
    )
    return str(url), transaction


async def _keys(settings: Settings, provider: Provider, *, refresh: bool) -> KeySet:
    cached = _jwks.get(provider.jwks_uri)
    now = time.monotonic()
    if cached and cached[0] > now and not refresh:
        return cached[1]
    if cached and refresh and cached[0] - _JWKS_SECONDS + _JWKS_REFETCH_SECONDS > now:
        return cached[1]  # fetched moments ago: an unknown kid is not the provider's
    try:
        async with _client(settings) as client:
            keys = KeySet.import_key_set(_json(await client.get(provider.jwks_uri), "JWKS"))  # type: ignore[arg-type]
    except (httpx.HTTPError, ValueError, JoseError) as exc:
        raise SsoError(f"cannot read the provider's keys: {exc!r}", code="sso_provider") from exc
    _jwks[provider.jwks_uri] = (now + _JWKS_SECONDS, keys)
    return keys


async def _redeem(
    settings: Settings, provider: Provider, *, code: str, redirect_uri: str, verifier: str
) -> str:
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    headers = {"Accept": "application/json"}
    client_id = settings.oidc_client_id or ""
    if secret is None:
        form["client_id"] = client_id  # a public client
    else:
        # client_secret_basic (RFC 6749 2.3.1): both parts form-encoded, then base64.
        pair = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    try:
        async with _client(settings) as client:
            response = await client.post(
                provider.token_endpoint,
                data=form,
                headers=headers,
            )
    except httpx.HTTPError as exc:
        raise SsoError(f"cannot reach the provider: {exc!r}", code="sso_provider") from exc
    if response.status_code != 200:
        raise SsoError(
            f"the provider refused the code ({response.status_code})", code="sso_code_refused"
        )
    id_token = _json(response, "token response").get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise SsoError("the token response has no ID token", code="sso_code_refused")
    return id_token


async def _verified_claims(
    settings: Settings, provider: Provider, id_token: str, *, nonce: str
) -> dict[str, Any]:
    for refresh in (False, True):
        keys = await _keys(settings, provider, refresh=refresh)
        try:
            token = jwt.decode(id_token, keys, algorithms=list(provider.algorithms))
            break
        except JoseError as exc:
            if refresh or not isinstance(exc, InvalidKeyIdError):
                raise SsoError(
                    f"the ID token is not validly signed: {exc}", code="sso_bad_token"
                ) from exc
        except ValueError as exc:  # malformed compact serialisation
            raise SsoError("the ID token is malformed", code="sso_bad_token") from exc
    claims = token.claims
    registry = jwt.JWTClaimsRegistry(
        leeway=_CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": settings.oidc_client_id or ""},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise SsoError(f"the ID token's claims are wrong: {exc}", code="sso_bad_token") from exc
    audience = claims["aud"]
    # OpenID Connect Core 3.1.3.7: with several audiences, `azp` must be us.
    if (
        isinstance(audience, list)
        and len(audience) > 1
        and claims.get("azp") != settings.oidc_client_id
    ):
        raise SsoError("the ID token was issued to another party", code="sso_bad_token")
    return claims


async def finish(
    settings: Settings,
    provider: Provider,
    transaction: Transaction,
    *,
    code: str,
    redirect_uri: str,
) -> Identity:
    """Redeem the code and vouch for the identity in the ID token it brings back."""
    id_token = await _redeem(
        settings, provider, code=code, redirect_uri=redirect_uri, verifier=transaction.verifier
    )
    claims = await _verified_claims(settings, provider, id_token, nonce=transaction.nonce)
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SsoError(
            "the ID token carries no email (ask for the `email` scope)", code="sso_no_email"
        )
    # Some providers (Cognito) send the boolean as a string.
    if claims.get("email_verified") not in (True, "true"):
        raise SsoError("the provider has not verified this email", code="sso_email_unverified")
    name = claims.get("name")
    return Identity(
        subject=str(claims["sub"]),
        email=email.strip().lower(),
        name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
    )
