"""The servers `messages.py` measures: Relaydesk on SQLite or PostgreSQL, or the bare
python-socketio relay, each its own process on a free 127.0.0.1 port, and the sampling of
their CPU and memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

log = logging.getLogger("bench.messages")

HOST = "127.0.0.1"
AGENT_EMAIL = "bench-agent@example.com"
AGENT_PASSWORD = "bench-password-123"
RELAY_SCRIPT = Path(__file__).with_name("_relay.py")
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_MODEL_DIR = REPO_ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    site_key: str
    token: str
    log_path: Path
    # PostgreSQL's postmaster: its backends' CPU is the database's share of the work.
    database_pid: int | None = None


def _server_env(extra: dict[str, str]) -> dict[str, str]:
    # Start from a clean Relaydesk configuration so the caller's env cannot change targets.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYDESK_")}
    # The servers run in a temporary cwd, where `import relaydesk` would find whatever
    # checkout is pip-installed (possibly another one): measure this repository's code.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    if SHARED_MODEL_DIR.is_dir():
        env["RELAYDESK_EMBEDDING_MODEL_DIR"] = str(SHARED_MODEL_DIR)
    # 500 clients from one address: lift the per-IP and per-visitor limits, nothing else.
    env["RELAYDESK_RATE_LIMITS"] = "off"
    env.update(extra)
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> dict[str, Any]:
    cmd = [sys.executable, "-c", "from relaydesk.api.cli import main; main()", *args]
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"relaydesk {' '.join(args[:2])} failed: {done.stderr[-2000:]}")
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def _wait_ready(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float = 120
) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(trust_env=False, timeout=2) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                # The relay has no routes: any HTTP answer means it is listening.
                if http.get(f"{url}/healthz").status_code < 500:
                    return
            time.sleep(0.2)
    raise TimeoutError(f"server not ready at {url}:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def server_log_errors(path: Path) -> tuple[int, list[str]]:
    """How many tracebacks the server logged, and the last lines of the first one: the
    clients only see `internal error`, the cause is in the server's log."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return 0, []
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
    if not starts:
        return 0, []
    first = lines[max(0, starts[0] - 1) : starts[0] + 200]
    end = next((i for i, line in enumerate(first[2:], 2) if not line.startswith(" ")), 0)
    return len(starts), first[max(0, end - 12) : end + 1]


def _spawn(
    cmd: list[str], env: dict[str, str], cwd: Path, log_path: Path
) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as sink:
        # The server's logs go to a file: a pipe nobody reads would block it when full.
        return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _agent_token(url: str) -> str:
    with httpx.Client(trust_env=False, timeout=30) as http:
        response = http.post(
            f"{url}/api/v1/auth/token",
            data={"username": AGENT_EMAIL, "password": AGENT_PASSWORD},
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


# Called with (env, data dir, created site, created agent) before the server starts: a
# benchmark seeds its data there.
Prepare = Callable[[dict[str, str], Path, dict[str, Any], dict[str, Any]], None]


@contextlib.contextmanager
def relaydesk_server(
    name: str, workdir: Path, db_env: dict[str, str], prepare: Prepare | None = None
) -> Iterator[Server]:
    from relaydesk.testing.servers import free_port

    env = _server_env(db_env)
    data_dir = workdir / "data"
    site = _cli(
        [
            "sites",
            "create",
            "--name",
            "bench",
            "--any-origin",
            "--json",
            "--data-dir",
            str(data_dir),
        ],
        env,
        workdir,
    )
    agent = _cli(
        [
            "users", "create", "--email", AGENT_EMAIL, "--password", AGENT_PASSWORD,
            "--role", "agent", "--team", "1", "--name", "Bench Agent", "--json",
            "--data-dir", str(data_dir),
        ],
        env,
        workdir,
    )  # fmt: skip
    if prepare is not None:
        prepare(env, data_dir, site, agent)
    port = free_port()
    url = f"http://{HOST}:{port}"
    log_path = workdir / f"{name}-server.log"
    cmd = [
        sys.executable, "-c", "from relaydesk.api.cli import main; main()",
        "serve", "--no-demo", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir),
    ]  # fmt: skip
    process = _spawn(cmd, env, workdir, log_path)
    try:
        _wait_ready(process, url, log_path)
        yield Server(name, process, url, str(site["site_key"]), _agent_token(url), log_path)
    finally:
        _stop(process)


@contextlib.contextmanager
def relay_server(workdir: Path) -> Iterator[Server]:
    from relaydesk.testing.servers import free_port

    port = free_port()
    url = f"http://{HOST}:{port}"
    log_path = workdir / "relay-server.log"
    cmd = [sys.executable, str(RELAY_SCRIPT), "--port", str(port)]
    process = _spawn(cmd, _server_env({}), workdir, log_path)
    try:
        _wait_ready(process, url, log_path)
        yield Server("relay", process, url, "relay-site", "relay-token", log_path)
    finally:
        _stop(process)


@contextlib.contextmanager
def postgres_database() -> Iterator[tuple[str, int]]:
    from relaydesk.testing.servers import PostgresCluster

    cluster = PostgresCluster()
    try:
        cluster.start()
        asyncio.run(_create_database(cluster.admin_dsn, "bench"))
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        yield cluster.url("bench"), postmaster
    finally:
        cluster.stop()


async def _create_database(admin_dsn: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


NO_EVENTS = "-no-events"


def _events_env(name: str) -> dict[str, str]:
    return {"RELAYDESK_EVENT_LOG": "off"} if name.endswith(NO_EVENTS) else {}


@contextlib.contextmanager
def target_server(name: str) -> Iterator[Server]:
    workdir = Path(tempfile.mkdtemp(prefix=f"relaydesk-bench-{name}-"))
    try:
        with contextlib.ExitStack() as stack:
            if name == "relay":
                yield stack.enter_context(relay_server(workdir))
            # `<backend>-no-events`: the same server with the event log off (the baseline
            # of what writing the events costs).
            elif name.startswith("sqlite"):
                yield stack.enter_context(relaydesk_server(name, workdir, _events_env(name)))
            else:
                url, postmaster = stack.enter_context(postgres_database())
                env = {"RELAYDESK_DATABASE_URL": url, **_events_env(name)}
                server = stack.enter_context(relaydesk_server(name, workdir, env))
                server.database_pid = postmaster
                yield server
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def tree_cpu_seconds(pid: int | None) -> float:
    """CPU time of a process and its live children (PostgreSQL's backends, say)."""
    if pid is None:
        return 0.0
    total = 0.0
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


class ResourceSampler:
    """Peak RSS of the server (and any children) and its CPU time, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    @staticmethod
    def machine_busy_seconds() -> float:
        """CPU seconds all cores spent not idle, machine-wide."""
        times = psutil.cpu_times()
        return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.process.pid)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, self._rss())
            self._stop.wait(self.interval)

    def __enter__(self) -> ResourceSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
