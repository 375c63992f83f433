"""Owner-only files: a server started on a data dir leaves the dir, the SQLite database
and its -wal/-shm, the attachment store, the key file and exports readable by the
service's user alone, including files that were group/world-readable before."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import uvicorn

from relaydesk.api.app import create_app
from relaydesk.core.config import get_settings
from relaydesk.core.db import Database
from relaydesk.core.models import Role
from relaydesk.privacy import files
from relaydesk.testing.servers import free_port
from tests.factories import make_site, make_staff
from tests.privacy.helpers import admin_client, visitor_with_data


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_data_files_are_owner_only(db: Database, database_url: str) -> None:
    data_dir = get_settings().data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)
    stray = data_dir / "attachments" / "1" / "old-upload"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"x")
    stray.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        # Start the real app (its lifespan secures the install) and use it.
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        site = await make_site(db)
        admin = await make_staff(db, roles=[Role.ADMIN])
        world = await visitor_with_data(base, site, "MODES")
        async with await admin_client(base, admin) as client:
            exported = await client.post(f"/api/v1/privacy/visitors/{world.visitor_id}/export")
            assert exported.status_code == 201
        await world.peer.disconnect()
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
    finally:
        os.umask(old_umask)

    assert _mode(data_dir) == 0o700
    database = files.sqlite_path(database_url)
    assert database is not None
    checked = [database]
    checked += [p for p in (Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]
    for path in checked:
        assert _mode(path) == 0o600, path
    assert _mode(stray) == 0o600
    for folder in ("attachments", "exports"):
        assert _mode(data_dir / folder) == 0o700
    written = [p for p in data_dir.rglob("*") if p.is_file()]
    assert any(p.parent.name == "exports" for p in written)
    for path in written:
        assert _mode(path) == 0o600, path
    for path in data_dir.rglob("*"):
        if path.is_dir():
            assert _mode(path) == 0o700, path
