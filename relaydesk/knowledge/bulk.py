"""Bulk imports for the command line: files and folders (and URLs), directly into the data
dir when no server owns it, or through the running server's REST API when one does (its
embedded Chroma must not be opened by a second process)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from relaydesk.core import state
from relaydesk.core.config import Settings
from relaydesk.core.errors import DomainError
from relaydesk.knowledge import importers, search, service
from relaydesk.knowledge.errors import ImportRefused
from relaydesk.knowledge.importers import ParsedBatch
from relaydesk.knowledge.models import ImportSummary
from relaydesk.knowledge.server_link import ServerLink

UPLOAD_TIMEOUT = httpx.Timeout(600.0, connect=10.0)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalFile:
    name: str  # as it is identified for re-imports: the path below the folder given
    path: Path


def collect_files(paths: Sequence[Path]) -> list[LocalFile]:
    """The importable files named or found (recursively) in folders; hidden ones skipped."""
    found: list[LocalFile] = []
    for given in paths:
        if given.is_dir():
            for path in sorted(given.rglob("*")):
                relative = path.relative_to(given)
                if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                    continue
                if path.suffix.lower() in importers.SUPPORTED_SUFFIXES:
                    found.append(LocalFile(relative.as_posix(), path))
        elif given.is_file():
            found.append(LocalFile(given.name, given))
        else:
            raise ImportRefused(f"{given} does not exist", code="not_found", file=str(given))
    if not found:
        raise ImportRefused(
            "no importable files found (supported: "
            f"{', '.join(sorted(importers.SUPPORTED_SUFFIXES))})",
            code="empty_file",
        )
    return found


def read_and_parse(
    files: Sequence[LocalFile], *, skip_bad: bool, progress: Progress | None = None
) -> tuple[ParsedBatch, list[tuple[str, bytes]], list[DomainError]]:
    """Parse every file; with `skip_bad`, bad files are reported and left out, otherwise
    the first bad file's error is raised after all files were checked."""
    batch = ParsedBatch()
    contents: list[tuple[str, bytes]] = []
    errors: list[DomainError] = []
    for item in files:
        if progress is not None:
            progress(item.name)
        try:
            size = item.path.stat().st_size
            importers.check_size(item.name, size)
            data = item.path.read_bytes()
            batch.extend(importers.parse_file(item.name, data))
            contents.append((item.name, data))
        except DomainError as exc:
            errors.append(exc)
    if errors and not skip_bad:
        raise errors[0]
    return batch, contents, errors


async def import_direct(
    settings: Settings, *, site_id: int, batch: ParsedBatch, publish: bool
) -> tuple[ImportSummary, dict[str, Any]]:
    """Store the batch and build the site's index (embedding into the data dir's Chroma),
    so it is searchable by the time the command returns."""
    async with state.running(settings) as app:
        db = app.database
        manager = search.IndexManager(settings)
        app.put(search.INDEX_MANAGER, manager)
        summary = await service.import_batch(
            db,
            site_id=site_id,
            batch=batch,
            publish=publish,
            actor=service.CLI,
            source="cli",
            index_now=True,
        )
        index = await manager.index_for(db, site_id)
        return summary, {
            "mode": manager.mode,
            "entries": index.entry_count,
            "chunks": index.chunk_count,
        }


async def import_url_direct(
    settings: Settings, *, site_id: int, url: str, sitemap: bool, max_pages: int, publish: bool
) -> tuple[ImportSummary, dict[str, Any]]:
    async with state.running(settings) as app:
        db = app.database
        manager = search.IndexManager(settings)
        app.put(search.INDEX_MANAGER, manager)
        summary = await service.import_url(
            db,
            site_id=site_id,
            url=url,
            sitemap=sitemap,
            max_pages=max_pages,
            publish=publish,
            actor=service.CLI,
            index_now=True,
        )
        index = await manager.index_for(db, site_id)
        return summary, {
            "mode": manager.mode,
            "entries": index.entry_count,
            "chunks": index.chunk_count,
        }


async def reindex_direct(settings: Settings, *, site_id: int | None) -> dict[str, Any]:
    async with state.running(settings) as app:
        app.put(search.INDEX_MANAGER, search.IndexManager(settings))
        return await service.reindex(app.database, site_id=site_id)


class ServerRefused(DomainError):
    """The server answered an import with an error (its code and message are kept)."""


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
        code, message = str(error.get("code", "error")), str(error.get("message", ""))
    except (ValueError, KeyError, TypeError):
        code, message = "server_error", response.text[:300]
    raise ServerRefused(f"the server refused: {message}", code=code)


def upload_to_server(
    link: ServerLink, *, site_id: int, contents: Sequence[tuple[str, bytes]], publish: bool
) -> dict[str, Any]:
    files = [("files", (name, data, "application/octet-stream")) for name, data in contents]
    response = httpx.post(
        f"{link.url}/api/v1/knowledge/import",
        headers={"Authorization": f"Bearer {link.token}"},
        data={"site": str(site_id), "publish": "true" if publish else "false"},
        files=files,
        timeout=UPLOAD_TIMEOUT,
        trust_env=False,
    )
    _raise_for(response)
    result: dict[str, Any] = response.json()
    return result


def url_to_server(
    link: ServerLink, *, site_id: int, url: str, sitemap: bool, max_pages: int, publish: bool
) -> dict[str, Any]:
    response = httpx.post(
        f"{link.url}/api/v1/knowledge/import/url",
        headers={"Authorization": f"Bearer {link.token}"},
        json={
            "site_id": site_id,
            "url": url,
            "sitemap": sitemap,
            "max_pages": max_pages,
            "publish": publish,
        },
        timeout=UPLOAD_TIMEOUT,
        trust_env=False,
    )
    _raise_for(response)
    result: dict[str, Any] = response.json()
    return result


def reindex_on_server(link: ServerLink, *, site_id: int | None) -> dict[str, Any]:
    response = httpx.post(
        f"{link.url}/api/v1/knowledge/reindex",
        headers={"Authorization": f"Bearer {link.token}"},
        params={} if site_id is None else {"site": site_id},
        timeout=UPLOAD_TIMEOUT,
        trust_env=False,
    )
    _raise_for(response)
    result: dict[str, Any] = response.json()
    return result


def run(coro: Any) -> Any:
    return asyncio.run(coro)
