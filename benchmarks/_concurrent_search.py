"""Search latency under concurrent clients, over the real server (`retrieval.py --concurrent N`).

The FAQ tasks are imported into a fresh data dir (one site each) with `relaydesk kb
import`, then `relaydesk serve` runs as its own process on a free 127.0.0.1 port, and
1 and then N clients (each its own keep-alive connection, one request at a time) send
every sampled query of a task to `GET /api/v1/knowledge/search`. Per task and client
count it reports the server's own `took_ms`, the latency the client saw, and the server
process's CPU per query (psutil; the least noisy figure on a shared machine), each the
median over `runs` repetitions; recall@1 through the server as a check that the ranking
is the product's. The baseline, measured in this process just before each phase, is
BM25-only search of the same queries (HybridIndex, mode "bm25", no model), and
`took_p95_vs_bm25_p95` is the ratio of the two: it moves less with the machine's load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks._datasets import FaqTask
from benchmarks._message_servers import HOST, _cli, _server_env, _spawn, _stop, _wait_ready
from relaydesk.knowledge.retrieval.index import HybridIndex
from relaydesk.testing.servers import free_port

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-password-123"
SEARCH_PATH = "/api/v1/knowledge/search"
# The first search of a site builds its index (bq-faq: about half a minute on 2 cores).
WARM_UP_SECONDS = 600.0


@dataclass
class SearchServer:
    url: str
    token: str
    pid: int
    sites: dict[str, int]  # task name -> site id
    log_path: Path


def _faq_jsonl(task: FaqTask, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for entry in task.entries:
            record = {
                "id": entry.entry_id,
                "title": entry.title,
                "questions": list(entry.questions),
                "answer": entry.answer,
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def search_server(tasks: Sequence[FaqTask], workdir: Path) -> Iterator[SearchServer]:
    env = _server_env({})
    data_dir = workdir / "data"
    common = ["--json", "--data-dir", str(data_dir)]
    sites: dict[str, int] = {}
    for task in tasks:
        site = _cli(
            ["sites", "create", "--name", task.name, "--any-origin", *common],
            env,
            workdir,
            WARM_UP_SECONDS,
        )
        faq_file = workdir / f"{task.name}.jsonl"
        _faq_jsonl(task, faq_file)
        _cli(
            ["kb", "import", str(faq_file), "--site", str(site["id"]), *common],
            env,
            workdir,
            WARM_UP_SECONDS,
        )
        sites[task.name] = int(site["id"])
    _cli(
        ["users", "create", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD,
         "--role", "admin", "--name", "Bench Admin", *common],
        env,
        workdir,
    )  # fmt: skip
    port = free_port()
    url = f"http://{HOST}:{port}"
    log_path = workdir / "search-server.log"
    cmd = [
        sys.executable, "-c", "from relaydesk.api.cli import main; main()",
        "serve", "--no-demo", "--host", HOST, "--port", str(port), "--data-dir", str(data_dir),
    ]  # fmt: skip
    process = _spawn(cmd, env, workdir, log_path)
    try:
        _wait_ready(process, url, log_path, WARM_UP_SECONDS)
        with httpx.Client(trust_env=False, timeout=30) as http:
            response = http.post(
                f"{url}/api/v1/auth/token",
                data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
            )
            response.raise_for_status()
            token = str(response.json()["access_token"])
        yield SearchServer(url, token, process.pid, sites, log_path)
    finally:
        _stop(process)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _phase(
    server: SearchServer, site: int, queries: Sequence[str], clients: int
) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    """Every query once, spread over `clients` connections; (took_ms, client ms, bodies)."""
    took: list[float] = [0.0] * len(queries)
    seen: list[float] = [0.0] * len(queries)
    bodies: list[dict[str, Any]] = [{}] * len(queries)
    headers = {"Authorization": f"Bearer {server.token}"}

    async def client(share: range) -> None:
        async with httpx.AsyncClient(
            base_url=server.url, headers=headers, trust_env=False, timeout=60
        ) as http:
            for n in share:
                started = time.perf_counter()
                response = await http.get(SEARCH_PATH, params={"q": queries[n], "site": site})
                seen[n] = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                bodies[n] = response.json()
                took[n] = float(bodies[n]["took_ms"])

    await asyncio.gather(*(client(range(c, len(queries), clients)) for c in range(clients)))
    return took, seen, bodies


def _bm25_baseline(index: HybridIndex, queries: Sequence[str]) -> list[float]:
    timings = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, 5, mode="bm25")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _recall_at_1(bodies: Sequence[dict[str, Any]], expected: Sequence[str | None]) -> float:
    right = sum(
        bool(body["hits"]) and body["hits"][0].get("external_id") == answer
        for body, answer in zip(bodies, expected, strict=True)
    )
    return round(right / max(len(expected), 1), 4)


def _median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 2)


async def _measure(
    server: SearchServer,
    tasks: Sequence[FaqTask],
    samples: dict[str, tuple[list[str], list[str | None]]],
    levels: Sequence[int],
    runs: int,
) -> dict[str, Any]:
    process = psutil.Process(server.pid)
    baselines = {
        task.name: HybridIndex(None, cjk_encoder=None) for task in tasks
    }  # BM25 alone: no model, no sentence encoder
    from benchmarks.retrieval import task_chunks

    for task in tasks:
        baselines[task.name].upsert(task_chunks(task))
        queries, _ = samples[task.name]
        # Builds the site's index in the server, then warms its caches.
        deadline = time.monotonic() + WARM_UP_SECONDS
        while True:
            try:
                await _phase(server, server.sites[task.name], queries[:1], 1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
        await _phase(server, server.sites[task.name], queries[:20], 1)
    report: dict[str, Any] = {}
    for task in tasks:
        queries, expected = samples[task.name]
        site = server.sites[task.name]
        per_level: dict[str, Any] = {}
        for clients in levels:
            rows: list[dict[str, float]] = []
            recall = 0.0
            for _ in range(runs):
                bm25 = _bm25_baseline(baselines[task.name], queries)
                cpu = process.cpu_times()
                took, seen, bodies = await _phase(server, site, queries, clients)
                spent = process.cpu_times()
                cpu_ms = (spent.user + spent.system - cpu.user - cpu.system) * 1000
                recall = _recall_at_1(bodies, expected)
                rows.append(
                    {
                        "took_ms_p50": _percentile(took, 0.5),
                        "took_ms_p95": _percentile(took, 0.95),
                        "client_ms_p50": _percentile(seen, 0.5),
                        "client_ms_p95": _percentile(seen, 0.95),
                        "server_cpu_ms_per_query": cpu_ms / len(queries),
                        "bm25_only_ms_p95": _percentile(bm25, 0.95),
                        "took_p95_vs_bm25_p95": _percentile(took, 0.95)
                        / max(_percentile(bm25, 0.95), 1e-3),
                        "load_1m": os.getloadavg()[0],
                    }
                )
            per_level[f"clients_{clients}"] = {
                key: _median([row[key] for row in rows]) for key in rows[0]
            } | {
                "runs": runs,
                "took_ms_p95_each_run": [round(row["took_ms_p95"], 2) for row in rows],
                "recall@1_via_server": recall,
            }
        report[task.name] = {"queries": len(queries), **per_level}
    return report


def concurrent_figures(
    tasks: Sequence[FaqTask],
    samples: dict[str, tuple[list[str], list[str | None]]],
    clients: int,
    runs: int,
) -> dict[str, Any]:
    """Start the server on the tasks, measure 1 and `clients` clients, stop it."""
    workdir = Path(tempfile.mkdtemp(prefix="relaydesk-bench-search-"))
    started = time.perf_counter()
    try:
        with search_server(tasks, workdir) as server:
            setup_seconds = time.perf_counter() - started
            levels = sorted({1, clients})
            figures = asyncio.run(_measure(server, tasks, samples, levels, runs))
            figures["setup_seconds"] = round(setup_seconds, 1)
            figures["cores"] = len(os.sched_getaffinity(0))
            figures["server_log_tracebacks"] = server.log_path.read_text(errors="replace").count(
                "Traceback"
            )
            return figures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
