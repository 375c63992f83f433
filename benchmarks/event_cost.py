"""What writing the event log costs the message path, in CPU per message, on SQLite or
PostgreSQL.

Stores batches of visitor messages through `conversations.service.send_message` (group
commit, encryption, blind index, the SQLite write and its commit, the post-commit hooks)
with the event log on and off (`RELAYDESK_EVENT_LOG`), alternating every batch in one
process, and counts this process's CPU time (`time.process_time`) per message for each:
the machine's drift and other people's load move both alike, which wall-clock latency on
a shared two-core machine never does. SQLite runs in this process, so its work (the
event rows' index maintenance included) is counted. On PostgreSQL (`--backend
postgresql`, a throwaway cluster as the tests use) the database's own CPU is reported
beside it, around the same batches: its postmaster and every child (the backends, the WAL
writer, the checkpointer), in nanoseconds from Linux's /proc/PID/schedstat.
The Socket.IO layer is not here: `python -m benchmarks.messages --events-cost` measures
the whole server.

Prints one JSON object.

    python -m benchmarks.event_cost            # 10 rounds of 60 batches of 8 each way
    python -m benchmarks.event_cost --quick    # 2 rounds of 5 batches
    python -m benchmarks.event_cost --backend postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._message_servers import postgres_database
from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import SenderKind
from relaydesk.core import migrate
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import new_id
from relaydesk.sites import service as sites

TEXT = "Hi, where is my order 4417? It was supposed to arrive yesterday."


def measure(
    rounds: int,
    batches: int,
    batch_size: int,
    conversation_count: int,
    backend: str = "sqlite",
) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        postmaster: int | None = None
        if backend == "sqlite":
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        else:
            # Started outside the event loop: it creates its database with a loop of its own.
            url, postmaster = stack.enter_context(postgres_database())
        per = asyncio.run(
            _measure(url, rounds, batches, batch_size, conversation_count, postmaster)
        )
    figures = _figures(per["on"], per["off"])
    if postmaster is not None:
        both = {
            mode: [a + b for a, b in zip(per[mode], per[f"database_{mode}"], strict=True)]
            for mode in ("on", "off")
        }
        figures["database_cpu_us_per_message_on"] = round(statistics.median(per["database_on"]), 1)
        figures["database_cpu_us_per_message_off"] = round(
            statistics.median(per["database_off"]), 1
        )
        figures["server_and_database"] = _figures(both["on"], both["off"])
    return figures


async def _measure(
    url: str,
    rounds: int,
    batches: int,
    batch_size: int,
    conversation_count: int,
    postmaster: int | None,
) -> dict[str, list[float]]:
    await migrate.upgrade_async(url)
    with override_settings(environment="test", database_url=url):
        db = Database(url)
        try:
            return await _alternate(db, rounds, batches, batch_size, conversation_count, postmaster)
        finally:
            await db.dispose()


async def _alternate(
    db: Database,
    rounds: int,
    batches: int,
    batch_size: int,
    conversation_count: int,
    postmaster: int | None,
) -> dict[str, list[float]]:
    """Each round's CPU µs per message, events on and off (and the database's, when it
    is its own process)."""
    site = await sites.create_site(db, name="Bench")
    assert site.id is not None
    pairs: list[tuple[str, str]] = []
    for _ in range(conversation_count):
        visitor = await sites.create_visitor(db, site_id=site.id, locale=None)
        conversation, _ = await conversations.open_conversation(
            db, site_id=site.id, visitor_id=visitor.id
        )
        pairs.append((conversation.id, visitor.id))
    sent = 0

    async def batch() -> None:
        nonlocal sent
        sends = []
        for _ in range(batch_size):
            conversation_id, visitor_id = pairs[sent % len(pairs)]
            sent += 1
            sends.append(
                conversations.send_message(
                    db,
                    conversation_id=conversation_id,
                    sender=conversations.Actor(kind=SenderKind.VISITOR, id=visitor_id),
                    client_id=new_id(),
                    text=TEXT,
                )
            )
        await asyncio.gather(*sends)

    for _ in range(max(2, batches // 2)):  # warm up: caches, pages, the writer
        await batch()
    per: dict[str, list[float]] = {"on": [], "off": [], "database_on": [], "database_off": []}
    for n in range(rounds):
        spent = {"on": 0.0, "off": 0.0, "database_on": 0.0, "database_off": 0.0}
        gc.collect()
        for i in range(2 * batches):
            mode = "on" if (i + n) % 2 == 0 else "off"
            with override_settings(event_log=mode):
                # The database's CPU is read outside this process's own window: reading
                # it (psutil, /proc) costs this process CPU too.
                database = database_cpu_ns(postmaster)
                began = time.process_time()
                await batch()
                spent[mode] += time.process_time() - began
                if postmaster is not None:
                    # An asynchronous commit (synchronous_commit=off) may still be in the
                    # WAL writer: a short quiet moment lets this batch's work land here.
                    await asyncio.sleep(0.002)
                    spent[f"database_{mode}"] += _delta_ns(database, postmaster) / 1e9
        for key, seconds in spent.items():
            per[key].append(seconds / (batches * batch_size) * 1e6)
    return per


def database_cpu_ns(postmaster: int | None) -> dict[int, int]:
    """CPU nanoseconds so far of PostgreSQL's postmaster and each of its children, by pid.
    From /proc/PID/schedstat, which counts nanoseconds: psutil's CPU times count clock
    ticks (10 ms), coarser than a whole batch's database work (a few ms)."""
    if postmaster is None:
        return {}
    out: dict[int, int] = {}
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(postmaster)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(OSError, ValueError):
                out[process.pid] = int(
                    Path(f"/proc/{process.pid}/schedstat").read_text().split()[0]
                )
    return out


def _delta_ns(before: dict[int, int], postmaster: int | None) -> int:
    """CPU ns since `before` of the processes alive at both readings (an autovacuum worker
    that came or went in between is left out, as is whatever it did)."""
    after = database_cpu_ns(postmaster)
    return sum(after[pid] - before[pid] for pid in after.keys() & before.keys())


def _figures(on_rounds: list[float], off_rounds: list[float]) -> dict[str, Any]:
    on, off = statistics.median(on_rounds), statistics.median(off_rounds)
    return {
        "cpu_us_per_message_on": round(on, 1),
        "cpu_us_per_message_off": round(off, 1),
        "events_cost_us": round(on - off, 1),
        "ratio_of_medians": round(on / off, 4),
        "paired_median_ratio": round(
            statistics.median(a / b for a, b in zip(on_rounds, off_rounds, strict=True)), 4
        ),
        "rounds_on": [round(v, 1) for v in on_rounds],
        "rounds_off": [round(v, 1) for v in off_rounds],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batches", type=int, default=60, help="per round and mode")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 5 batches")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.batches, args.conversations = 2, 5, 20
    figures = measure(args.rounds, args.batches, args.batch_size, args.conversations, args.backend)
    print(
        json.dumps(
            {
                "benchmark": "event_cost",
                "backend": args.backend,
                "config": {
                    "rounds": args.rounds,
                    "batches": args.batches,
                    "batch_size": args.batch_size,
                    "conversations": args.conversations,
                },
                "load_average": [round(v, 2) for v in os.getloadavg()],
                **figures,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
