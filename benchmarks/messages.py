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

    python -m benchmarks.messages                      # 500 visitors, 1 msg/s, 30 s
    python -m benchmarks.messages --quick              # 6 visitors for 2 s, no waiting
    python -m benchmarks.messages --targets relay,sqlite --visitors 200
    python -m benchmarks.messages --events-cost        # + each backend with events off

`--events-cost` adds `<backend>-no-events` targets (the same server with
RELAYDESK_EVENT_LOG=off) right after each backend in every round (on, off, on, off, ...),
and reports what writing the events costs in server CPU per acknowledged message: the
median of each variant over the rounds, and their ratio. CPU time (user + system of the
server process and its children, from psutil) rather than latency, because on this shared
machine ack p99 moves by far more than 5% between identical runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable, here and in
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the client processes

from benchmarks._message_clients import WorkerResult, WorkerSpec, worker_main
from benchmarks._message_servers import (
    REPO_ROOT,
    ResourceSampler,
    Server,
    server_log_errors,
    target_server,
    tree_cpu_seconds,
)

log = logging.getLogger("bench.messages")

TARGETS = ("sqlite", "postgres", "relay")
BACKENDS = ("sqlite", "postgres")
NO_EVENTS = "-no-events"
# Writing the events may add at most this much server CPU per message (issue 16).
EVENTS_CPU_LIMIT = 1.05


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
    events_cost: bool = False


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
    parser.add_argument("--quick", action="store_true", help="6 visitors, 1 agent, 2 s, 1 round")
    parser.add_argument(
        "--events-cost",
        action="store_true",
        help="also run each backend with the event log off, interleaved, and report the "
        "server CPU per message that writing the events adds",
    )
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
        # A smoke run proves every target runs end to end: one agent also means one client
        # process (each costs a fresh interpreter's imports), and a few visitors suffice.
        args.visitors, args.agents, args.duration, args.warmup = 6, 1, 2.0, 0.5
        args.rounds, args.quiet_wait = 1, 0.0
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    known = (*TARGETS, *(b + NO_EVENTS for b in BACKENDS))
    unknown = set(targets) - set(known)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; choose from {', '.join(known)}")
    if args.events_cost:
        # Each backend followed by its events-off twin, so the pair runs minutes apart at
        # most, under the same conditions.
        pairs = ((t, t + NO_EVENTS) if t in BACKENDS else (t,) for t in targets)
        targets = tuple(dict.fromkeys(x for pair in pairs for x in pair))
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
        events_cost=args.events_cost,
    )


# ---------------------------------------------------------------------------------------
# Measuring one target


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

    def database_cpu_ms_per_message(self) -> float | None:
        """PostgreSQL's backends' CPU per acknowledged message (SQLite's is the server's)."""
        acked = sum(r.acked_total for r in self.results)
        return round(1000 * self.database_cpu_s / acked, 3) if acked else None

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
        "database_cpu_ms_per_message": figures.database_cpu_ms_per_message(),
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


def _median(values: list[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return round((ordered[middle - 1] + ordered[middle]) / 2, 4)


def _cpu(figure: dict[str, Any], with_database: bool) -> float | None:
    server = figure.get("server_cpu_ms_per_message")
    if not server:
        return None
    database = figure.get("database_cpu_ms_per_message") or 0.0
    return float(server) + (float(database) if with_database else 0.0)


def _cost(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    on_median = _median([on for on, _ in pairs])
    off_median = _median([off for _, off in pairs])
    ratio = round(on_median / off_median, 4) if on_median and off_median else None
    return {
        "on": {"median": on_median, "rounds": [round(on, 3) for on, _ in pairs]},
        "off": {"median": off_median, "rounds": [round(off, 3) for _, off in pairs]},
        "ratio_on_off": ratio,
        "paired_ratio_median": _median([round(on / off, 4) for on, off in pairs]),
        "added_pct": None if ratio is None else round(100 * (ratio - 1), 1),
    }


def events_cost(rounds: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Per backend: CPU ms per acknowledged message with the event log on and off, each
    round's and the medians, and on/off (the cost of writing the events; the limit is
    +5%), for the server process and, on PostgreSQL, server plus database backends.
    `paired_ratio_median` is the median of the rounds' own on/off ratios, which cancels
    drift that hits both runs of a round alike."""
    out: dict[str, Any] = {}
    for backend in BACKENDS:
        off_name = backend + NO_EVENTS
        both = [(r[backend], r[off_name]) for r in rounds if backend in r and off_name in r]
        figures: dict[str, Any] = {}
        for label, with_database in (("server_cpu_ms_per_message", False),
                                     ("server_and_database_cpu_ms_per_message", True)):  # fmt: skip
            if with_database and backend == "sqlite":
                continue
            pairs = [(_cpu(on, with_database), _cpu(off, with_database)) for on, off in both]
            kept = [(on, off) for on, off in pairs if on and off]
            if kept:
                figures[label] = _cost(kept)
        if figures:
            figures["met"] = all(
                f["ratio_on_off"] is not None and f["ratio_on_off"] <= EVENTS_CPU_LIMIT
                for f in figures.values()
            )
            out[backend] = figures
    return out


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
    if options.events_cost:
        cost = events_cost(rounds)
        output["events_cpu"] = cost
        met.update({f"{b}_events_cpu": c["met"] for b, c in cost.items()})
    print(json.dumps(output, indent=2))
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
