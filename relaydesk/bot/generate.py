"""Calling the configured LLM through LangChain's `ChatOpenAI`, streamed, under a deadline
and a circuit breaker. Every failure comes back as a `Generation` with a `failure` kind
instead of an exception, so the caller always has something to say."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import httpx
import openai
from langchain_core.messages import BaseMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from relaydesk.bot import breaker
from relaydesk.core.config import Settings

log = logging.getLogger(__name__)

# Failure kinds (logged, counted in the bot's events).
TIMEOUT = "timeout"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
MALFORMED = "malformed"
CUT_OFF = "cut_off"
CONNECTION = "connection"
CIRCUIT_OPEN = "circuit_open"
EMPTY = "empty"

OnDelta = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Generation:
    text: str
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


def llm_configured(settings: Settings) -> bool:
    return bool(settings.llm_base_url)


@lru_cache(maxsize=8)
def _chat(
    base_url: str, model: str, api_key: str, temperature: float, timeout: float, max_tokens: int
) -> ChatOpenAI:
    # Cached: a ChatOpenAI owns HTTP connection pools worth reusing between turns.
    # No client retries: the deadline is ours, and a failing endpoint gets the breaker.
    return ChatOpenAI(
        base_url=base_url,
        model=model,
        api_key=SecretStr(api_key),
        temperature=temperature,
        timeout=timeout,
        max_tokens=max_tokens,
        max_retries=0,
        streaming=True,
    )


def chat_model(settings: Settings) -> ChatOpenAI:
    assert settings.llm_base_url is not None
    return _chat(
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key.get_secret_value(),
        settings.llm_temperature,
        settings.llm_timeout_seconds,
        settings.llm_max_tokens,
    )


def _breaker(settings: Settings) -> breaker.CircuitBreaker:
    return breaker.for_endpoint(f"{settings.llm_base_url}|{settings.llm_model}")


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _classify(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | openai.APITimeoutError | httpx.TimeoutException):
        return TIMEOUT
    if isinstance(exc, openai.RateLimitError):
        return RATE_LIMITED
    if isinstance(exc, openai.APIStatusError):
        return SERVER_ERROR
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | OSError):
        return CONNECTION
    return MALFORMED


async def stream(
    settings: Settings, messages: Sequence[BaseMessage], on_delta: OnDelta | None = None
) -> Generation:
    """The model's reply to `messages`, passing each text delta to `on_delta` as it
    arrives; within `llm_timeout_seconds` from the call, whatever the endpoint does."""
    guard = _breaker(settings)
    if not guard.allow():
        return Generation("", CIRCUIT_OPEN)
    parts: list[str] = []
    finished = False
    try:
        async with asyncio.timeout(settings.llm_timeout_seconds):
            async for chunk in chat_model(settings).astream(list(messages)):
                text = chunk.content if isinstance(chunk.content, str) else ""
                if text:
                    parts.append(text)
                    if on_delta is not None:
                        await on_delta(text)
                if chunk.response_metadata.get("finish_reason") in ("stop", "length"):
                    finished = True
    except Exception as exc:  # every failure of the endpoint becomes a fallback
        kind = _classify(exc)
        retry_after = _retry_after(exc) if isinstance(exc, openai.RateLimitError) else None
        guard.failure(retry_after=retry_after if kind == RATE_LIMITED else None)
        log.warning("LLM call failed (%s): %s", kind, type(exc).__name__)
        return Generation("".join(parts), kind)
    if not finished:
        # The stream ended without a finish reason: the connection was cut mid-answer.
        guard.failure()
        return Generation("".join(parts), CUT_OFF)
    text = "".join(parts).strip()
    if not text:
        guard.failure()
        return Generation("", EMPTY)
    guard.success()
    return Generation(text)


async def complete(settings: Settings, messages: Sequence[BaseMessage]) -> Generation:
    """Like `stream`, without deltas (summaries, drafts)."""
    return await stream(settings, messages)
