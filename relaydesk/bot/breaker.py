"""A circuit breaker per LLM endpoint, so a failing endpoint is not called (and waited
for) on every visitor message.

Closed: calls go through; `failure_threshold` failures in a row open it. Open: calls are
refused until `cooldown` passes (or the endpoint's own `retry-after` for a 429), then
one trial call is let through (half-open); its success closes the breaker, its failure
opens it again. State is per process: each node learns about a failing endpoint itself,
which costs at most `failure_threshold` slow calls per node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from relaydesk.core import state
from relaydesk.core.state import Slot

MAX_RETRY_AFTER = 300.0


@dataclass
class CircuitBreaker:
    failure_threshold: int = 3
    cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    open_until: float = 0.0
    _trial_running: bool = field(default=False, repr=False)

    @property
    def state(self) -> str:
        if self.open_until == 0.0:
            return "closed"
        return "open" if self.clock() < self.open_until else "half_open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.open_until = 0.0
        self._trial_running = False

    def failure(self, *, retry_after: float | None = None) -> None:
        self.failures += 1
        was_trial = self._trial_running
        self._trial_running = False
        if retry_after is not None:
            self.open_until = self.clock() + min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        elif was_trial or self.failures >= self.failure_threshold:
            self.open_until = self.clock() + self.cooldown


# One breaker per endpoint, kept on the app's state (core/state.py): a new state (a
# restarted app, each test) starts with every endpoint closed.
BREAKERS: Slot[dict[str, CircuitBreaker]] = Slot("bot.breakers", lambda app: {})


def for_endpoint(key: str) -> CircuitBreaker:
    breakers = state.current().get(BREAKERS)
    breaker = breakers.get(key)
    if breaker is None:
        breaker = breakers[key] = CircuitBreaker()
    return breaker
