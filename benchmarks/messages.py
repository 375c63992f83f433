"""Realtime message benchmark: visitors send, agents receive, over real Socket.IO websockets.

For each target (Relaydesk on SQLite, Relaydesk on PostgreSQL, a bare python-socketio
relay in `benchmarks/_relay.py`) it starts the server as its own process on a free
127.0.0.1 port, spreads N visitors and M agents over a few client processes (many
`socketio.AsyncClient`s per event loop), and measures:

- ack latency: `message:send` emitted → its ack received (visitor side);
- delivery latency: `message:send` emitted → the agent's `message:new` for it;
- messages/s actually acknowledged in the measured window, sent/acked/delivered counts;
- errors: failed or missing acks, missing deliveries, connection/setup failures;
- the server's peak RSS (psutil, process and children) and its CPU use.

Sending is open-loop (each visitor sends on a fixed schedule whether or not earlier
messages were acknowledged), so a slow server shows up as latency instead of silently
lowering the offered load. Send and receive timestamps are `time.time_ns()`, comparable
across the client processes because they all run on this machine.

This machine is a shared two-core VM whose speed drifts: the same code's ack p99 has
ranged over 4x between back-to-back runs, the relay's too. So the targets run in
`--rounds` interleaved rounds (sqlite, postgres, relay, sqlite, ...), each round's ratio
compares runs minutes apart, and the verdict uses the median round. Every round's
figures are printed.

Prints one JSON object on stdout; logs go to stderr.

    python benchmarks/messages.py                      # 500 visitors, 1 msg/s, 30 s
    python benchmarks/messages.py --quick              # 50 visitors for 5 s
    python benchmarks/messages.py --targets relay,sqlite --visitors 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import psutil
import socketio

log = logging.getLogger("bench.messages")

HOST = "127.0.0.1"
WIDGET = "/widget"
CONSOLE = "/console"
TARGETS = ("sqlite", "postgres", "relay")
AGENT_EMAIL = "bench-agent@example.com"
AGENT_PASSWORD = "bench-password-123"
RELAY_SCRIPT = Path(__file__).with_name("_relay.py")
REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_MODEL_DIR = REPO_ROOT.parent / "shared" / "models" / "all-MiniLM-L6-v2"
NS_PER_MS = 1_000_000


# ---------------------------------------------------------------------------------------
# Options


@dataclass(frozen=True)
class Options:
    visitors: int
    agents: int
    rate: float
    duration: float
    warmup: float
    drain: float
    processes: int
    targets: tuple[str, ...]
    connect_concurrency: int
    seed: int
    quiet_wait: float
    log_dir: Path | None
    bot: bool
    rounds: int = 1


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=500)
    parser.add_argument("--agents", type=int, default=25)
    parser.add_argument("--rate", type=float, default=1.0, help="messages/s per visitor")
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="unmeasured seconds first")
    parser.add_argument("--drain", type=float, default=10.0, help="max wait for late acks")
    # Two cores are shared with the server: two client processes keep one event loop per
    # core without starving the server more than the load itself does.
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--connect-concurrency", type=int, default=25, help="per process")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each target, wait up to this many seconds for the machine to go idle",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved runs of every target; median counts"
    )
    parser.add_argument("--quick", action="store_true", help="50 visitors, 5 agents, 5 s, 1 round")
    parser.add_argument(
        "--bot",
        action="store_true",
        help="leave the conversations with the bot (it answers every visitor message) "
        "instead of having the agents accept them",
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        help="copy each server's log here, with each client process's messages (send time,"
        " ack and delivery latency) of the target's last round (default: nothing is kept)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.visitors, args.agents, args.duration, args.warmup = 50, 5, 5.0, 2.0
        args.rounds = 1
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(TARGETS)}")
    processes = max(1, min(args.processes, args.agents, args.visitors))
    return Options(
        visitors=args.visitors,
        agents=args.agents,
        rate=args.rate,
        duration=args.duration,
        warmup=args.warmup,
        drain=args.drain,
        processes=processes,
        targets=targets,
        connect_concurrency=args.connect_concurrency,
        seed=args.seed,
        quiet_wait=args.quiet_wait,
        log_dir=args.log_dir,
        bot=args.bot,
        rounds=max(1, args.rounds),
    )


# ---------------------------------------------------------------------------------------
# Client processes


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    url: str
    site_key: str
    token: str
    visitors: int
    agents: int
    rate: float
    warmup: float
    duration: float
    drain: float
    connect_concurrency: int
    seed: int
    accept: bool
    trace_path: str | None = None


@dataclass
class Sent:
    send_ns: int
    scheduled_ns: int
    measured: bool
    ack_ns: int | None = None
    ack_ok: bool | None = None


@dataclass
class WorkerResult:
    """Raw figures of one client process; the parent merges and summarises them."""

    ack_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)
    sent: int = 0
    acked: int = 0
    delivered: int = 0
    failed_acks: int = 0
    missing_deliveries: int = 0
    connection_errors: int = 0
    error_samples: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    # Every acknowledged message, warm-up included: the work the server's CPU time paid for.
    acked_total: int = 0


class Worker:
    """Many visitors and agents on one event loop. Agents of this process join the
    conversations of this process's visitors, so matching needs no cross-process state."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.sent: dict[str, Sent] = {}
        self.delivered: dict[str, int] = {}
        self.result = WorkerResult()
        self.stopping = False
        self.rng = random.Random(spec.seed * 1000 + spec.index)

    def note(self, text: str) -> None:
        """Count an error message by its text, so a flood of one failure stays readable."""
        samples = self.result.error_samples
        if text in samples or len(samples) < 20:
            samples[text] = samples.get(text, 0) + 1

    def error(self, text: str) -> None:
        self.result.connection_errors += 1
        self.note(text)

    def _client(self, role: str) -> socketio.AsyncClient:
        # No reconnection: a dropped connection must count as an error, not be hidden.
        client = socketio.AsyncClient(reconnection=False, request_timeout=30)

        @client.event  # type: ignore[untyped-decorator]
        async def disconnect(reason: Any = None) -> None:
            if not self.stopping:
                self.error(f"{role} disconnected during the run: {reason}")

        return client

    async def connect_agent(self, gate: asyncio.Semaphore) -> socketio.AsyncClient | None:
        client = self._client("agent")

        def on_message(data: Any) -> None:
            client_id = data.get("message", {}).get("client_id") if isinstance(data, dict) else None
            if isinstance(client_id, str):
                self.delivered.setdefault(client_id, time.time_ns())

        client.on("message:new", on_message, namespace=CONSOLE)
        async with gate:
            try:
                await client.connect(
                    self.spec.url,
                    auth={"token": self.spec.token},
                    transports=["websocket"],
                    namespaces=[CONSOLE],
                    wait_timeout=30,
                )
            except Exception as exc:
                self.error(f"agent connect: {exc!r}")
                return None
        return client

    async def connect_visitor(
        self, gate: asyncio.Semaphore
    ) -> tuple[socketio.AsyncClient, str] | None:
        client = self._client("visitor")
        async with gate:
            try:
                await client.connect(
                    self.spec.url,
                    auth={"site_key": self.spec.site_key},
                    transports=["websocket"],
                    namespaces=[WIDGET],
                    wait_timeout=30,
                )
                ack = await client.call("conversation:open", {}, namespace=WIDGET, timeout=30)
            except Exception as exc:
                self.error(f"visitor connect/open: {exc!r}")
                await _quiet_disconnect(client)
                return None
        if not (isinstance(ack, dict) and ack.get("ok")):
            self.error(f"conversation:open refused: {ack!r}")
            await _quiet_disconnect(client)
            return None
        return client, str(ack["conversation"]["id"])

    async def join(self, agent: socketio.AsyncClient, conversation_id: str) -> None:
        # Accepting makes it a human conversation, where the bot stays silent: what is
        # measured is then the chat path itself, which is what the relay baseline does.
        events = ["conversation:join"] + (["conversation:accept"] if self.spec.accept else [])
        for name in events:
            try:
                ack = await agent.call(
                    name, {"conversation_id": conversation_id}, namespace=CONSOLE
                )
            except Exception as exc:
                self.error(f"{name}: {exc!r}")
                return
            if not (isinstance(ack, dict) and ack.get("ok")):
                self.error(f"{name} refused: {ack!r}")
                return

    async def setup(
        self,
    ) -> tuple[list[socketio.AsyncClient], list[tuple[socketio.AsyncClient, str]]]:
        gate = asyncio.Semaphore(self.spec.connect_concurrency)
        agents = [
            a
            for a in await asyncio.gather(
                *(self.connect_agent(gate) for _ in range(self.spec.agents))
            )
            if a is not None
        ]
        visitors = [
            v
            for v in await asyncio.gather(
                *(self.connect_visitor(gate) for _ in range(self.spec.visitors))
            )
            if v is not None
        ]
        if agents:
            # Round-robin: each agent watches an equal share of this process's conversations.
            joins = [
                self.join(agents[i % len(agents)], conversation_id)
                for i, (_, conversation_id) in enumerate(visitors)
            ]
            for start in range(0, len(joins), self.spec.connect_concurrency):
                await asyncio.gather(*joins[start : start + self.spec.connect_concurrency])
        return agents, visitors

    async def visitor_loop(
        self, number: int, client: socketio.AsyncClient, conversation_id: str, start_ns: int
    ) -> None:
        period_ns = int(1e9 / self.spec.rate)
        measure_from = start_ns + int(self.spec.warmup * 1e9)
        end_ns = measure_from + int(self.spec.duration * 1e9)
        # A random phase spreads the visitors' sends evenly over each period.
        at = start_ns + self.rng.randrange(period_ns)
        k = 0
        while at < end_ns:
            delay = (at - time.time_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            client_id = f"w{self.spec.index}.v{number}.m{k}"
            await self.send(client, conversation_id, client_id, at, at >= measure_from)
            k += 1
            at += period_ns

    async def send(
        self,
        client: socketio.AsyncClient,
        conversation_id: str,
        client_id: str,
        scheduled_ns: int,
        measured: bool,
    ) -> None:
        now = time.time_ns()
        record = Sent(send_ns=now, scheduled_ns=scheduled_ns, measured=measured)
        self.sent[client_id] = record

        def on_ack(ack: Any = None) -> None:
            record.ack_ns = time.time_ns()
            record.ack_ok = isinstance(ack, dict) and bool(ack.get("ok"))
            if not record.ack_ok:
                self.note(f"message:send refused: {ack!r}")

        payload = {
            "conversation_id": conversation_id,
            "client_id": client_id,
            "text": f"bench message {client_id} sent at {now}",
        }
        try:
            await client.emit("message:send", payload, namespace=WIDGET, callback=on_ack)
        except Exception as exc:
            record.ack_ns, record.ack_ok = time.time_ns(), False
            self.note(f"message:send emit: {exc!r}")

    def _outstanding(self) -> int:
        waiting = 0
        for client_id, record in self.sent.items():
            if record.ack_ns is None or (record.ack_ok and client_id not in self.delivered):
                waiting += 1
        return waiting

    async def drain(self) -> None:
        deadline = time.monotonic() + self.spec.drain
        while time.monotonic() < deadline and self._outstanding():
            await asyncio.sleep(0.1)

    def write_trace(self, path: Path) -> None:
        """Every measured message as `send_ns ack_ms delivery_ms client_id`, to line the
        slow ones up with the server's log (both clocks are `time.time_ns()`)."""
        with path.open("w") as trace:
            for client_id, record in self.sent.items():
                if not record.measured:
                    continue
                ack = delivery = "-"
                if record.ack_ns is not None:
                    ack = f"{(record.ack_ns - record.send_ns) / NS_PER_MS:.2f}"
                if (delivered_ns := self.delivered.get(client_id)) is not None:
                    delivery = f"{(delivered_ns - record.send_ns) / NS_PER_MS:.2f}"
                trace.write(f"{record.send_ns} {ack} {delivery} {client_id}\n")

    def summarise(self) -> WorkerResult:
        result = self.result
        if self.spec.trace_path:
            self.write_trace(Path(self.spec.trace_path))
        for client_id, record in self.sent.items():
            delivered_ns = self.delivered.get(client_id)
            if not record.ack_ok:
                result.failed_acks += 1
            elif delivered_ns is None:
                result.missing_deliveries += 1
            result.acked_total += bool(record.ack_ok)
            if not record.measured:
                continue
            result.sent += 1
            result.send_lag_ms.append((record.send_ns - record.scheduled_ns) / NS_PER_MS)
            if record.ack_ok and record.ack_ns is not None:
                result.acked += 1
                result.ack_ms.append((record.ack_ns - record.send_ns) / NS_PER_MS)
            if delivered_ns is not None:
                result.delivered += 1
                result.delivery_ms.append((delivered_ns - record.send_ns) / NS_PER_MS)
        return result


async def _quiet_disconnect(client: socketio.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.disconnect(), 5)


async def _run_worker(spec: WorkerSpec, conn: Connection) -> WorkerResult:
    worker = Worker(spec)
    agents, visitors = await worker.setup()
    conn.send(("ready", len(agents), len(visitors)))
    # The parent answers with one shared start time once every process is set up.
    start_ns: int = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    cpu_before = time.process_time()
    # The clients are the instrument: a pause of theirs would be counted as the server's
    # latency. Their full collections, walking every record of what was sent, took 50-70
    # ms; with what the setup made frozen and the collector off, a run adds a few MB.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        await asyncio.gather(
            *(
                worker.visitor_loop(i, client, conversation_id, start_ns)
                for i, (client, conversation_id) in enumerate(visitors)
            )
        )
        await worker.drain()
    finally:
        gc.enable()
    worker.stopping = True
    clients = agents + [client for client, _ in visitors]
    await asyncio.gather(*(_quiet_disconnect(c) for c in clients))
    result = worker.summarise()
    result.cpu_seconds = time.process_time() - cpu_before
    return result


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """Entry point of a client process."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        result = asyncio.run(_run_worker(spec, conn))
        conn.send(("done", asdict(result)))
    except BaseException as exc:
        conn.send(("failed", repr(exc)))
        raise


# ---------------------------------------------------------------------------------------
# Servers


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
    env.update(extra)
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-c", "from relaydesk.api.cli import main; main()", *args]
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise RuntimeError(f"relaydesk {' '.join(args[:2])} failed: {done.stderr[-2000:]}")
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 120
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
        ["sites", "create", "--name", "bench", "--json", "--data-dir", str(data_dir)], env, workdir
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


@contextlib.contextmanager
def target_server(name: str) -> Iterator[Server]:
    workdir = Path(tempfile.mkdtemp(prefix=f"relaydesk-bench-{name}-"))
    try:
        with contextlib.ExitStack() as stack:
            if name == "relay":
                yield stack.enter_context(relay_server(workdir))
            elif name == "sqlite":
                yield stack.enter_context(relaydesk_server(name, workdir, {}))
            else:
                url, postmaster = stack.enter_context(postgres_database())
                env = {"RELAYDESK_DATABASE_URL": url}
                server = stack.enter_context(relaydesk_server(name, workdir, env))
                server.database_pid = postmaster
                yield server
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Measuring one target


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


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _worker_specs(server: Server, options: Options) -> list[WorkerSpec]:
    visitors = _split(options.visitors, options.processes)
    agents = _split(options.agents, options.processes)
    return [
        WorkerSpec(
            index=i,
            url=server.url,
            site_key=server.site_key,
            token=server.token,
            visitors=visitors[i],
            agents=agents[i],
            rate=options.rate,
            warmup=options.warmup,
            duration=options.duration,
            drain=options.drain,
            connect_concurrency=options.connect_concurrency,
            seed=options.seed,
            accept=not options.bot,
            trace_path=(
                str(options.log_dir / f"{server.name}-messages-{i}.txt")
                if options.log_dir is not None
                else None
            ),
        )
        for i in range(options.processes)
    ]


def _receive(conn: Connection, timeout: float, what: str) -> tuple[Any, ...]:
    if not conn.poll(timeout):
        raise TimeoutError(f"client process gave no {what} within {timeout:.0f}s")
    message: tuple[Any, ...] = conn.recv()
    if message[0] == "failed":
        raise RuntimeError(f"client process failed: {message[1]}")
    return message


@dataclass
class RunFigures:
    results: list[WorkerResult]
    elapsed_s: float
    server_cpu_s: float
    database_cpu_s: float
    machine_busy_s: float
    server_rss_mb: float

    def server_cpu_ms_per_message(self) -> float | None:
        """Server CPU per acknowledged message: unlike latency, it barely moves when other
        work on the machine steals CPU, so it compares runs on a busy machine."""
        acked = sum(r.acked_total for r in self.results)
        return round(1000 * self.server_cpu_s / acked, 3) if acked else None

    def cpu_pct(self) -> dict[str, float]:
        """CPU use over the send phase in percent of one core. `other` is what neither the
        server nor the clients used: other work on this machine that skews the figures."""
        clients = sum(r.cpu_seconds for r in self.results)
        ours = self.server_cpu_s + self.database_cpu_s + clients
        other = max(0.0, self.machine_busy_s - ours)
        return {
            "server": round(100 * self.server_cpu_s / self.elapsed_s, 1),
            "database": round(100 * self.database_cpu_s / self.elapsed_s, 1),
            "clients": round(100 * clients / self.elapsed_s, 1),
            "other": round(100 * other / self.elapsed_s, 1),
        }


def drive_clients(server: Server, options: Options) -> RunFigures:
    """Run the client processes against `server` and collect what they measured."""
    context = mp.get_context("spawn")
    pipes = [context.Pipe() for _ in range(options.processes)]
    processes = [
        context.Process(target=worker_main, args=(spec, child), daemon=True)
        for spec, (_, child) in zip(_worker_specs(server, options), pipes, strict=True)
    ]
    try:
        for process in processes:
            process.start()
        setup_timeout = 120 + options.visitors / 5
        ready = [_receive(parent, setup_timeout, "ready signal") for parent, _ in pipes]
        log.info("%s: clients ready (agents, visitors per process: %s)", server.name,
                 [(r[1], r[2]) for r in ready])  # fmt: skip
        sampler = ResourceSampler(server.process.pid)
        start_ns = time.time_ns() + 1_000_000_000
        for parent, _ in pipes:
            parent.send(start_ns)
        run_timeout = options.warmup + options.duration + options.drain + 120
        results = []
        with sampler:
            time.sleep(max(0.0, (start_ns - time.time_ns()) / 1e9))
            started = time.monotonic()
            server_before = sampler.cpu_seconds()
            database_before = tree_cpu_seconds(server.database_pid)
            machine_before = sampler.machine_busy_seconds()
            for parent, _ in pipes:
                results.append(WorkerResult(**_receive(parent, run_timeout, "result")[1]))
            return RunFigures(
                results=results,
                elapsed_s=time.monotonic() - started,
                server_cpu_s=sampler.cpu_seconds() - server_before,
                database_cpu_s=tree_cpu_seconds(server.database_pid) - database_before,
                machine_busy_s=sampler.machine_busy_seconds() - machine_before,
                server_rss_mb=round(sampler.peak_rss / 2**20, 1),
            )
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile: a value that was actually observed."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return round(ordered[rank], 2)


def _merge_samples(results: list[WorkerResult]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for result in results:
        for text, count in result.error_samples.items():
            merged[text] = merged.get(text, 0) + count
    top = sorted(merged.items(), key=lambda item: -item[1])[:5]
    return dict(top)


def summarise(figures: RunFigures, options: Options) -> dict[str, Any]:
    results = figures.results
    ack = [v for r in results for v in r.ack_ms]
    delivery = [v for r in results for v in r.delivery_ms]
    lag = [v for r in results for v in r.send_lag_ms]
    failed = sum(r.failed_acks for r in results)
    missing = sum(r.missing_deliveries for r in results)
    connection = sum(r.connection_errors for r in results)
    acked = sum(r.acked for r in results)
    return {
        "ack_ms": {
            "p50": percentile(ack, 50),
            "p99": percentile(ack, 99),
            "max": percentile(ack, 100),
        },
        "delivery_ms": {"p50": percentile(delivery, 50), "p99": percentile(delivery, 99)},
        "messages_per_s": round(acked / options.duration, 1),
        "sent": sum(r.sent for r in results),
        "acked": acked,
        "delivered": sum(r.delivered for r in results),
        "errors": failed + missing + connection,
        "error_detail": {
            "failed_acks": failed,
            "missing_deliveries": missing,
            "connection_errors": connection,
            "samples": _merge_samples(results),
        },
        "server_rss_mb": figures.server_rss_mb,
        "cpu_pct": figures.cpu_pct(),
        "server_cpu_ms_per_message": figures.server_cpu_ms_per_message(),
        # How late the clients fired their sends: if this grows, the clients (not the
        # server) were the bottleneck and the latencies above are not trustworthy.
        "client_send_lag_ms": {"p50": percentile(lag, 50), "p99": percentile(lag, 99)},
    }


def wait_for_quiet(limit_s: float, busy_pct: float = 25.0) -> float:
    """Wait (up to `limit_s`) until other work uses under `busy_pct` of one core, since on a
    shared two-core machine anyone else's test run distorts every figure. Returns the
    last measured load."""
    deadline = time.monotonic() + limit_s
    while True:
        before = ResourceSampler.machine_busy_seconds()
        time.sleep(2.0)
        load = 100 * (ResourceSampler.machine_busy_seconds() - before) / 2.0
        if load < busy_pct or time.monotonic() >= deadline:
            return round(load, 1)
        log.info("machine busy (%.0f%% of a core used by others); waiting", load)


def run_target(name: str, options: Options) -> dict[str, Any]:
    if options.quiet_wait > 0:
        load = wait_for_quiet(options.quiet_wait)
        log.info("%s: machine load before the run: %.0f%% of a core", name, load)
    log.info("%s: starting server", name)
    if options.log_dir is not None:
        options.log_dir.mkdir(parents=True, exist_ok=True)
    with target_server(name) as server:
        log.info("%s: server ready at %s; starting %d client processes", name, server.url,
                 options.processes)  # fmt: skip
        figures = drive_clients(server, options)
        tracebacks, excerpt = server_log_errors(server.log_path)
        if options.log_dir is not None:
            shutil.copy(server.log_path, options.log_dir / f"{name}-server.log")
    summary = summarise(figures, options)
    summary["server_tracebacks"] = tracebacks
    if summary["cpu_pct"]["other"] > 25:
        log.warning("%s: other processes used %.0f%% of a core during the run; the figures "
                    "are skewed by them", name, summary["cpu_pct"]["other"])  # fmt: skip
    if excerpt:
        log.warning("%s: server logged %d tracebacks; the first ends:\n%s", name, tracebacks,
                    "\n".join(excerpt))  # fmt: skip
    log.info("%s: %s", name, json.dumps(summary))
    return summary


def code_under_test() -> dict[str, Any]:
    """Which Relaydesk source was measured: the tree changes between runs, so figures are
    only comparable with the same fingerprint."""
    import hashlib

    # The servers import this repository's code (`_server_env`), whatever checkout this
    # process's own `import relaydesk` would find, so that is the code to fingerprint.
    package = REPO_ROOT / "relaydesk"
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    info: dict[str, Any] = {"path": str(package), "sha256": digest.hexdigest()[:16]}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        git = ["git", "-C", str(package.parent)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "relaydesk"], capture_output=True, text=True
        )
        if head.returncode == 0:
            info["git_head"] = head.stdout.strip()
            info["uncommitted_files"] = len(dirty.stdout.splitlines())
    return info


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 2)


def _p99(figure: dict[str, Any]) -> float | None:
    return None if "failed" in figure else float(figure["ack_ms"]["p99"])


def compare(rounds: list[dict[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Each backend's ack p99 over the relay's of the same round; the median round decides
    (with an even count, the worse of the middle two). Any error in any round fails it."""
    ratios: dict[str, Any] = {}
    met: dict[str, Any] = {}
    for backend in ("sqlite", "postgres"):
        if not any(backend in figures for figures in rounds):
            continue
        per_round = [
            _ratio(_p99(figures[backend]), _p99(figures.get("relay", {"failed": ""})))
            for figures in rounds
        ]
        errors = sum(
            figures[backend].get("errors", 1) if "failed" not in figures[backend] else 1
            for figures in rounds
        )
        ranked = sorted(per_round, key=lambda r: math.inf if r is None else r)
        median = ranked[len(ranked) // 2]
        ratios[backend] = {"median": median, "rounds": per_round}
        met[backend] = median is not None and median <= 2.0 and errors == 0
    return ratios, met


def median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median ack p99 (whole, so its figures belong together), plus a
    line per round."""
    ranked = sorted(runs, key=lambda f: _p99(f) or math.inf)
    chosen = dict(ranked[len(ranked) // 2])
    chosen["rounds"] = [
        {"failed": f["failed"]}
        if "failed" in f
        else {
            "ack_p50": f["ack_ms"]["p50"],
            "ack_p99": f["ack_ms"]["p99"],
            "errors": f["errors"],
            "server_cpu_ms_per_message": f["server_cpu_ms_per_message"],
        }
        for f in runs
    ]
    return chosen


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    # A plain SIGTERM would skip the `finally` blocks that stop servers and delete temp dirs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    # httpx logs every readiness poll at INFO; only our own progress lines are useful.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    options = parse_options(argv)
    rounds: list[dict[str, dict[str, Any]]] = []
    for number in range(1, options.rounds + 1):
        figures: dict[str, dict[str, Any]] = {}
        for name in options.targets:
            log.info("round %d of %d: %s", number, options.rounds, name)
            try:
                figures[name] = run_target(name, options)
            except Exception as exc:
                log.exception("%s: failed", name)
                figures[name] = {"failed": repr(exc)}
        rounds.append(figures)
    ratios, met = compare(rounds)
    figures = {name: median_round([r[name] for r in rounds]) for name in options.targets}
    output = {
        "benchmark": "messages",
        "config": {
            "visitors": options.visitors,
            "agents": options.agents,
            "rate_per_visitor": options.rate,
            "offered_messages_per_s": options.visitors * options.rate,
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "client_processes": options.processes,
            "rounds": options.rounds,
            "conversations": "with the bot" if options.bot else "accepted by the agents",
            "cpu_count": os.cpu_count(),
            "python": sys.version.split()[0],
            "relaydesk": code_under_test(),
        },
        "targets": figures,
        "ratios": {f"{k}_ack_p99_vs_relay": v for k, v in ratios.items()},
        "target_met": met,
    }
    print(json.dumps(output, indent=2))
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
