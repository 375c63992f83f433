"""The running app's state: one object instead of module globals set at start-up.

`create_app` makes an `AppState` (the settings, the database, the socket emitter) and
keeps it on the app: routes get its parts through the `core/deps.py` dependencies, socket
namespaces hold it (`self.state`), and the app's background tasks are handed its database.
Parts that a higher layer owns, and core cannot name (the knowledge index manager, the
bot's knowledge source), live in typed `Slot`s on the same object, made on first use.

Code that runs below any request (a service emitting after its commit, a CLI command)
reaches the state through `current()`, the one installed per process: the app's start
installs its own, a CLI command or a test installs a fresh one with `installed(...)`, and
with it every part (emitter, index manager, knowledge source) starts over, so no test
needs to reset them one by one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from relaydesk.core import realtime
from relaydesk.core.config import Settings, get_settings
from relaydesk.core.db import Database

T = TypeVar("T")


class Slot(Generic[T]):
    """A typed place on `AppState` for a part a higher layer owns; `default` makes it."""

    def __init__(self, name: str, default: Callable[[AppState], T]) -> None:
        self.name = name
        self.default = default

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


@dataclass(eq=False)
class AppState:
    settings: Settings
    database: Database
    # A lambda: realtime imports this module too, and may not be done importing yet.
    emitter: realtime.Emitter = field(default_factory=lambda: realtime.NullEmitter())
    _parts: dict[Slot[Any], Any] = field(default_factory=dict, repr=False)

    @classmethod
    def for_settings(cls, settings: Settings | None = None) -> AppState:
        settings = settings or get_settings()
        if settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(settings=settings, database=Database(settings.effective_database_url))

    @classmethod
    def for_database(cls, database: Database, settings: Settings | None = None) -> AppState:
        """A state around a database someone else opened (and disposes): a test's, a script's."""
        return cls(settings=settings or get_settings(), database=database)

    def get(self, slot: Slot[T]) -> T:
        if slot not in self._parts:
            self._parts[slot] = slot.default(self)
        return cast(T, self._parts[slot])

    def peek(self, slot: Slot[T]) -> T | None:
        """The part if it was made, without making it (for status pages)."""
        return cast("T | None", self._parts.get(slot))

    def put(self, slot: Slot[T], value: T | None) -> None:
        """Install a part; None drops it, so the next `get` makes the default again."""
        if value is None:
            self._parts.pop(slot, None)
        else:
            self._parts[slot] = value


_current: AppState | None = None


def current(settings: Settings | None = None) -> AppState:
    """The installed state. Without one, or when the settings name another database (a
    test's override), a state for the current settings is made and installed."""
    global _current
    settings = settings or get_settings()
    # effective_database_url is cached on the settings: no filesystem call per lookup.
    if _current is None or _current.database.url != settings.effective_database_url:
        _current = AppState.for_settings(settings)
    return _current


def install(state: AppState | None) -> None:
    global _current
    _current = state


@asynccontextmanager
async def running(settings: Settings | None = None) -> AsyncIterator[AppState]:
    """A fresh state for one command-line run: installed for the block, its database
    disposed after it."""
    state = AppState.for_settings(settings)
    try:
        with installed(state):
            yield state
    finally:
        await state.database.dispose()


@contextmanager
def installed(state: AppState) -> Iterator[AppState]:
    """Install `state` for the block, then put back what was there."""
    global _current
    previous, _current = _current, state
    try:
        yield state
    finally:
        _current = previous
