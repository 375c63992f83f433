"""Owner-only files: the data dir, the database (and its -wal/-shm), attachments, key
files and exports are readable by the service's own user alone.

Two layers: `relaydesk serve` and app start set the process umask to 077, so every file
and folder created afterwards (by us, SQLite, Chroma) is owner-only; and `secure_data_dir`
chmods what already exists, since a data dir made by an older version, a different
umask or a container's volume mount may be group- or world-readable.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077
# Folders under the data dir whose files hold personal data or secrets.
PRIVATE_DIRS = ("attachments", "exports")


def set_umask() -> int:
    """Owner-only for everything this process creates from now on; returns the old one."""
    return os.umask(UMASK)


def _tighten(path: Path, mode: int) -> None:
    # Only what is wrong is rewritten: a start walks every upload, and on an owner-only
    # tree that is one stat each, not one chmod each.
    current = path.lstat()
    if not stat.S_ISLNK(current.st_mode) and stat.S_IMODE(current.st_mode) != mode:
        path.chmod(mode)


def _chmod_tree(root: Path) -> None:
    _tighten(root, DIR_MODE)
    for folder, dirs, names in os.walk(root):
        for name in dirs:
            _tighten(Path(folder) / name, DIR_MODE)
        for name in names:
            _tighten(Path(folder) / name, FILE_MODE)


def secure_data_dir(data_dir: Path) -> None:
    """Create the data dir owner-only and make everything already in it owner-only."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    for name in PRIVATE_DIRS:
        (data_dir / name).mkdir(exist_ok=True, mode=DIR_MODE)
    _chmod_tree(data_dir)


@contextmanager
def private_file(path: Path) -> Iterator[BinaryIO]:
    """A file written owner-only from its first byte (not chmodded after the fact), under
    a temporary name until the block ends without error, so no reader sees it half-written
    and a failed write leaves nothing behind."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(partial, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def sha256_of(path: Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and size, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a SQLite URL (None for PostgreSQL or an in-memory database)."""
    if not database_url.startswith("sqlite") or ":///" not in database_url:
        return None
    path = database_url.split(":///", 1)[1].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def secure_database(database_url: str) -> None:
    """The SQLite file and its -wal and -shm companions, wherever the URL puts them."""
    path = sqlite_path(database_url)
    if path is None:
        return
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            _tighten(candidate, FILE_MODE)


_secured: set[tuple[Path, str]] = set()


def secure_install(data_dir: Path, database_url: str) -> None:
    """At start: owner-only from now on, and for what is already there. Once per process
    and data dir: `relaydesk serve` does it before migrating, then the app's start would
    walk the same tree again."""
    set_umask()
    key = (data_dir.resolve(), database_url)
    if key in _secured:
        return
    secure_data_dir(data_dir)
    secure_database(database_url)
    _secured.add(key)
