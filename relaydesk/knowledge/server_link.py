"""How a CLI finds the server that owns a data dir, so it never opens embedded Chroma
while the server has it open.

`relaydesk serve` writes `<data_dir>/server.json` (its URL, its pid and a random token,
owner-readable only) and removes it on exit. The token is accepted by the knowledge
import and reindex endpoints of that server process alone, as an admin.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from relaydesk.core.state import AppState, Slot

SERVER_FILE = "server.json"

# The token of the running server, on its app state (core/state.py): `relaydesk serve`
# publishes it, and the import routes accept it from the CLI.
SERVER_TOKEN: Slot[str | None] = Slot("knowledge.server_token", lambda app: None)


@dataclass(frozen=True)
class ServerLink:
    url: str
    token: str
    pid: int


def server_file(data_dir: Path) -> Path:
    return Path(data_dir) / SERVER_FILE


def accepts(app: AppState, token: str) -> bool:
    expected = app.get(SERVER_TOKEN)
    return expected is not None and hmac.compare_digest(token.encode(), expected.encode())


def publish(data_dir: Path, url: str) -> ServerLink:
    """Create this process's token and write the server file for CLIs to find (the app
    serving `url` must be given `link.token`: `SERVER_TOKEN`)."""
    link = ServerLink(url=url.rstrip("/"), token=secrets.token_urlsafe(32), pid=os.getpid())
    path = server_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    with contextlib.suppress(FileNotFoundError):
        scratch.unlink()
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(link.__dict__, handle)
    os.replace(scratch, path)
    return link


def withdraw(data_dir: Path, link: ServerLink) -> None:
    """Remove the server file if it is still ours."""
    path = server_file(data_dir)
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("token") == link.token:
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ServerNotAnswering(RuntimeError):
    pass


def find_server(data_dir: Path, *, wait: float = 15.0) -> ServerLink | None:
    """The live server on this data dir, or None when no server process owns it.

    A server whose process lives but does not answer (yet) is waited for, then reported:
    opening the data dir beside it could corrupt its embedded Chroma."""
    path = server_file(data_dir)
    try:
        raw = json.loads(path.read_text())
        link = ServerLink(url=str(raw["url"]), token=str(raw["token"]), pid=int(raw["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(link.pid):
        return None
    deadline = time.monotonic() + wait
    while True:
        try:
            response = httpx.get(f"{link.url}/healthz", timeout=2.0, trust_env=False)
            if response.status_code == 200:
                return link
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not _alive(link.pid):
            break
        time.sleep(0.25)
    if not _alive(link.pid):
        return None
    raise ServerNotAnswering(
        f"a server (pid {link.pid}) owns {data_dir} but does not answer at {link.url}; "
        f"wait for it or stop it (remove {path} if no server runs)"
    )
