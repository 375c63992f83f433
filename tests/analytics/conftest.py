"""The bot tests' knowledge base (a real hybrid index over a small FAQ) and a clock the
test drives: every timestamp the server stores comes from `relaydesk.core.models.utcnow`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from relaydesk.core import models
from tests.bot.conftest import faq_index, site  # noqa: F401


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Iterator[Clock]:
    fake = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    models.set_clock(fake)
    yield fake
    models.set_clock(None)
