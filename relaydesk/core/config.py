"""Settings: one class, `RELAYDESK_` prefix, read through the cached `get_settings()`.

Tests override settings with `override_settings(...)` rather than mutating the environment,
so a test can never leak configuration into the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from relaydesk.core.keys import (
    DEV_SECRET_KEY,
    SigningKeys,
    load_signing_keys,
    split_keys,
    weak_key_problem,
)

__all__ = ["DEV_SECRET_KEY", "Settings", "get_settings", "override_settings"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RELAYDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = Field(
        "development", description="`production` refuses default secrets."
    )
    data_dir: Path = Field(
        Path("relaydesk-data"),
        description="Where the SQLite database, Chroma index, uploads and model cache live.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy async URL, e.g. postgresql+asyncpg://u:p@host/db. "
        "Default: SQLite in the data dir.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://host:6379/0 enables the Redis Socket.IO manager, presence, "
        "rate limits and locks shared across nodes.",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs session cookies, JWTs and visitor tokens. Unset: a random key is "
        "generated on first start and kept in the data dir (`secret_key`, mode 0600). Outside "
        "development it must be at least 32 characters of random text.",
    )
    previous_secret_keys: SecretStr | None = Field(
        None,
        description="Comma-separated keys that signed tokens before the current one: still "
        "accepted when verifying (tokens name their key with `kid`), never used to sign.",
    )
    encryption_keys: SecretStr | None = Field(
        None,
        description="Comma-separated AES-256 data keys (32 random bytes each, base64 or hex), "
        "the current one first, older ones after it so their values stay readable. Unset: "
        "keys are generated on first start in the data dir (`encryption_keys.json`, 0600) and "
        "`relaydesk keys rotate` adds new ones there.",
    )
    encryption_index_key: SecretStr | None = Field(
        None,
        description="The search (blind index) key, 32 random bytes as base64 or hex; needed "
        "with RELAYDESK_ENCRYPTION_KEYS. It never rotates: changing it needs a reindex.",
    )
    host: str = Field("127.0.0.1", description="Default bind address of `relaydesk serve`.")
    port: int = Field(8000, description="Default port of `relaydesk serve`.")
    public_url: str | None = Field(
        None, description="The URL visitors reach the server at (used in the embed snippet)."
    )
    console_origins: str | None = Field(
        None,
        description="Comma-separated origins allowed to open the /console socket besides the "
        "server's own (the Host header's, and RELAYDESK_PUBLIC_URL's): list the public origin "
        "when a proxy rewrites Host.",
    )
    rate_limits: Literal["on", "off"] = Field(
        "on",
        description="`off` turns off the per-IP and per-visitor rate limits and connection "
        "caps, and nothing else: for load tests that run many clients from one address.",
    )
    event_log: Literal["on", "off"] = Field(
        "on",
        description="`off` writes no events to the event log (so analytics see nothing done "
        "meanwhile): only for measuring what writing them costs (benchmarks/messages.py "
        "`--events-cost`). Never turn it off in production.",
    )
    socket_packets_per_second: float = Field(
        100.0,
        gt=0,
        description="Socket.IO packets one connection may send a second (bursts of three "
        "times that), checked before decoding; sustained floods are disconnected.",
    )
    widget_events_per_second: float = Field(
        20.0,
        gt=0,
        description="Widget events (sends, typing, reads) one visitor connection may make a "
        "second, in bursts of three times that; more are answered `rate_limited`.",
    )
    console_events_per_second: float = Field(
        50.0,
        gt=0,
        description="Console events one staff connection may make a second, in bursts of "
        "three times that; more are answered `rate_limited`.",
    )
    max_connections_per_ip: int = Field(
        200,
        ge=1,
        description="Open sockets (widget and console) one IP address may hold on one node.",
    )
    login_max_failures: int = Field(
        5, ge=1, description="Wrong passwords for one account before it is locked for a while."
    )
    login_max_failures_per_ip: int = Field(
        20, ge=1, description="Failed sign-ins from one IP address before it is locked for a while."
    )
    login_lockout_seconds: float = Field(
        30.0,
        gt=0,
        description="The first lockout after too many failed sign-ins; each further failure "
        "doubles it, up to RELAYDESK_LOGIN_LOCKOUT_MAX_SECONDS.",
    )
    login_lockout_max_seconds: float = Field(
        900.0, gt=0, description="The longest sign-in lockout."
    )
    login_failure_window_seconds: float = Field(
        3600.0,
        gt=0,
        description="Failed sign-ins are forgotten after this long without another one.",
    )
    access_token_minutes: int = Field(60 * 12, description="Lifetime of staff bearer tokens.")
    session_days: int = Field(14, description="Lifetime of a remembered console session.")
    visitor_token_days: int = Field(365, description="Lifetime of a visitor token.")
    max_message_chars: int = Field(
        10_000, description="Longest message text accepted, in characters."
    )
    # Well above the longest text so that an over-long message gets a clear error ack
    # (`text_too_long`); only packets past this size make the transport drop the connection.
    max_socket_payload_bytes: int = Field(
        4_000_000, description="Largest Socket.IO packet the server accepts."
    )
    sync_page_size: int = Field(500, description="Most messages returned by one `sync`.")
    log_level: str = Field("INFO", description="Python logging level.")
    message_batch_size: int = Field(
        200, description="Most messages one process commits in one group transaction."
    )
    message_queue_limit: int = Field(
        2000,
        description="Messages waiting for their commit, per process, beyond which "
        "`message:send` is refused with `server_busy` (clients retry with the same client_id).",
    )

    hsts_seconds: int = Field(
        0,
        ge=0,
        description="When above 0, responses to https requests carry Strict-Transport-Security "
        "with this max-age (set it once TLS works: browsers then refuse plain http).",
    )
    max_request_bytes: int = Field(
        1024 * 1024,
        description="Largest request body of JSON and form routes, in bytes; larger ones get "
        "413 before they are read.",
    )
    kb_max_request_bytes: int = Field(
        16 * 1024 * 1024,
        description="Largest request body of the knowledge-base JSON routes (an article may "
        "hold 2 million characters), in bytes.",
    )
    kb_import_max_bytes: int = Field(
        200 * 1024 * 1024,
        description="Largest knowledge-base import request (all its files together), in bytes.",
    )
    attachment_max_bytes: int = Field(
        10 * 1024 * 1024,
        description="Largest attachment (image or PDF) a visitor or agent may upload, in bytes.",
    )
    attachment_orphan_hours: float = Field(
        24.0,
        gt=0,
        description="Uploaded files that no message carries are deleted after this many hours.",
    )
    retention_purge_interval_seconds: float = Field(
        3600.0,
        gt=0,
        description="How often each node runs the retention purge (sites with a retention "
        "period lose conversations older than it).",
    )
    retention_purge_batch: int = Field(
        200,
        ge=1,
        le=10_000,
        description="Conversations deleted per transaction by the retention purge.",
    )
    gc_tuning: bool = Field(
        True,
        description="Run the garbage collector on timers tuned for tail latency "
        "(core/gc_policy.py; CPython 3.11-3.13 only, elsewhere always off).",
    )
    url_import_allow_private_networks: bool = Field(
        False,
        description="Let URL and sitemap imports fetch from loopback, private and link-local "
        "addresses (off: an import could otherwise reach internal services).",
    )

    # Single sign-on for staff (OpenID Connect; accounts/oidc.py, docs/security.md)
    oidc_issuer: str | None = Field(
        None,
        description="The OpenID provider's issuer URL (its discovery document is at "
        "<issuer>/.well-known/openid-configuration). Set with the client id to show "
        '"Sign in with ..." on the login page.',
    )
    oidc_client_id: str | None = Field(None, description="This app's client id at the provider.")
    oidc_client_secret: SecretStr | None = Field(
        None, description="This app's client secret at the provider (confidential client)."
    )
    oidc_provider_name: str = Field(
        "SSO", max_length=60, description="The provider's name on the sign-in button."
    )
    oidc_scopes: str = Field(
        "openid email profile", description="Space-separated scopes; `openid email` are needed."
    )
    oidc_allowed_domains: str | None = Field(
        None,
        description="Comma-separated email domains that may sign in with SSO (unset: any "
        "domain the provider vouches for).",
    )
    oidc_auto_provision: bool = Field(
        False,
        description="Create an account on first SSO sign-in for a verified email that has "
        "none (off: only existing, active staff may sign in with SSO).",
    )
    oidc_default_role: Literal["agent", "editor", "supervisor"] = Field(
        "agent", description="The role of accounts created by SSO auto-provisioning."
    )
    oidc_timeout_seconds: float = Field(
        10.0, gt=0, description="Give up on a call to the OpenID provider after this long."
    )

    # Knowledge and retrieval
    embedding_model_dir: Path | None = Field(
        None, description="Folder with the all-MiniLM-L6-v2 ONNX model (model.onnx, tokenizer)."
    )
    embedding_provider: Literal["local", "openai"] = Field(
        "local", description="`openai` uses the OpenAI-compatible embeddings endpoint."
    )
    embedding_model: str = Field(
        "text-embedding-3-small", description="Embedding model name for `openai`."
    )
    chroma_url: str | None = Field(
        None, description="http://host:8000 of a Chroma server; default is embedded Chroma."
    )

    # LLM
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible endpoint; unset means extractive answers."
    )
    llm_model: str = Field("gpt-4o-mini", description="Chat model name.")
    llm_api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the LLM.")
    llm_temperature: float = Field(0.2, description="Sampling temperature.")
    llm_timeout_seconds: float = Field(20.0, description="Give up on the LLM after this long.")
    llm_max_tokens: int = Field(600, description="Longest answer the LLM may write.")

    @field_validator(
        "database_url",
        "redis_url",
        "chroma_url",
        "llm_base_url",
        "public_url",
        "console_origins",
        "secret_key",
        "previous_secret_keys",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret",
        "oidc_allowed_domains",
        "encryption_keys",
        "encryption_index_key",
        mode="before",
    )
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        # docker-compose and shells pass unset variables as "", which must mean "not set".
        return None if value == "" else value

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        if self.environment == "development":
            return self
        given = [self.secret_key] if self.secret_key else []
        if self.previous_secret_keys:
            given += [
                SecretStr(k) for k in split_keys(self.previous_secret_keys.get_secret_value())
            ]
        for key in given:
            problem = weak_key_problem(key.get_secret_value())
            if problem:
                raise ValueError(
                    f"RELAYDESK_SECRET_KEY (or a previous key) is too weak: {problem}. Leave it "
                    "unset to have a random key generated in the data dir, or use e.g. "
                    "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
                )
        return self

    @cached_property
    def signing_keys(self) -> SigningKeys:
        """The key that signs, and every key that verifies: cached, since the generated
        key is read from a file."""
        return load_signing_keys(self)

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def event_log_on(self) -> bool:
        return self.event_log == "on"

    @property
    def rate_limits_on(self) -> bool:
        return self.rate_limits == "on"

    @cached_property
    def effective_database_url(self) -> str:
        # Cached: it is read on every socket event, and resolving the path is a
        # filesystem call. Settings are replaced (override_settings), not mutated.
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'relaydesk.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")


_overrides: dict[str, Any] = {}


@lru_cache
def get_settings() -> Settings:
    return Settings(**_overrides)


@contextmanager
def override_settings(**values: Any) -> Iterator[Settings]:
    """Use these settings (on top of the environment) inside the block."""
    previous = dict(_overrides)
    _overrides.update(values)
    get_settings.cache_clear()
    try:
        yield get_settings()
    finally:
        _overrides.clear()
        _overrides.update(previous)
        get_settings.cache_clear()
