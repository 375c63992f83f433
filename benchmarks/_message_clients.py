"""The client processes of `messages.py`: many visitors and agents per event loop, each
visitor sending on a fixed schedule and timing its acks and the agents' deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
import sys
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import socketio

WIDGET = "/widget"
CONSOLE = "/console"
NS_PER_MS = 1_000_000


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

    async def _connect(
        self, client: socketio.AsyncClient, auth: dict[str, Any], namespace: str
    ) -> None:
        await client.connect(
            self.spec.url,
            auth=auth,
            transports=["websocket"],
            namespaces=[namespace],
            wait_timeout=30,
        )

    async def connect_agent(self, gate: asyncio.Semaphore) -> socketio.AsyncClient | None:
        client = self._client("agent")

        def on_message(data: Any) -> None:
            client_id = data.get("message", {}).get("client_id") if isinstance(data, dict) else None
            if isinstance(client_id, str):
                self.delivered.setdefault(client_id, time.time_ns())

        client.on("message:new", on_message, namespace=CONSOLE)
        async with gate:
            try:
                await self._connect(client, {"token": self.spec.token}, CONSOLE)
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
                await self._connect(client, {"site_key": self.spec.site_key}, WIDGET)
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
