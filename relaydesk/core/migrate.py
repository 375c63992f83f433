"""Schema migrations (Alembic), run by `relaydesk db upgrade` and when `serve` starts."""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at `url` up to `revision`.

    Alembic's async environment runs its own event loop, so when called from inside a
    running loop the migration runs on a separate thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(alembic_config(url), revision)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, alembic_config(url), revision).result()


async def upgrade_async(url: str) -> None:
    await asyncio.to_thread(upgrade, url)


def head_revisions() -> set[str]:
    """Every head: each domain adds its tables on its own branch from the base revision,
    so parallel work never fights over one linear chain; `upgrade` applies all heads."""
    return set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: set(MigrationContext.configure(sync).get_current_heads())
        )


async def is_current(engine: AsyncEngine) -> bool:
    return await current_revisions(engine) == head_revisions()
