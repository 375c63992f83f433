"""Analytics at scale: N events (default 1,000,000) over 90 days on one site, on SQLite and
on a throwaway PostgreSQL (relaydesk.testing.servers.PostgresCluster); prints JSON.

Events are bulk-loaded with the driver (the shape the product writes: started, widget
opened, visitor/bot/agent messages, bot replies with citations, handoffs, assignments,
resolutions, CSAT, feedback), the rollups are built from them once (`build_s`), then the
overview and a daily timeseries over the 90 days are timed (median and max of `--runs`),
as the REST handlers run them: refresh (nothing new: one indexed max(id)), load, aggregate.
`incremental_ms` is a refresh after 100 new conversations arrive.

    python -m benchmarks.analytics [--events 1000000] [--backend sqlite|postgres|both]
    python -m benchmarks.analytics --quick   # smoke run: SQLite, 2,000 events, 1 run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from relaydesk.analytics import rollup, service
from relaydesk.analytics.frame import Filters
from relaydesk.core import migrate
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.sites import service as sites
from relaydesk.testing.servers import PostgresCluster

DAYS = 90
END = datetime(2026, 3, 1, tzinfo=UTC)
START = END - timedelta(days=DAYS)
ENTRIES = [f"faq-{n}" for n in range(200)]
HOURS = {
    "timezone": "Europe/Berlin",
    "weekly": {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
}


def conversation_events(rng: random.Random, site_id: int) -> list[tuple[Any, ...]]:
    """One conversation's events: (site, type, conversation, actor kind, actor id,
    payload, created_at)."""
    cid = uuid.uuid4().hex
    visitor = uuid.uuid4().hex
    t = START + timedelta(seconds=rng.uniform(0, DAYS * 86400 - 7200))
    out: list[tuple[Any, ...]] = []

    def add(kind: str, actor: str, actor_id: str | None, payload: dict[str, Any]) -> None:
        out.append((site_id, kind, cid, actor, actor_id, payload, t))

    def message(sender: str, actor_id: str | None) -> str:
        mid = uuid.uuid4().hex
        add(
            "message.stored",
            sender,
            actor_id,
            {"message_id": mid, "seq": len(out), "sender_kind": sender, "chars": 40},
        )
        return mid

    add("widget.opened", "visitor", visitor, {"visitor_id": visitor, "new_conversation": True})
    add("conversation.started", "visitor", visitor, {"visitor_id": visitor})
    message("visitor", visitor)
    t += timedelta(seconds=2)
    mid = message("bot", None)
    add(
        "bot.replied",
        "bot",
        None,
        {
            "message_id": mid,
            "action": "answer",
            "confidence": 0.8,
            "entry_ids": rng.sample(ENTRIES, 2),
            "mode": "extractive",
        },
    )
    if rng.random() < 0.2:
        add(
            "bot.feedback",
            "visitor",
            visitor,
            {"message_id": mid, "rating": rng.choice(["up", "down"]), "previous": None},
        )
    if rng.random() < 0.4:
        agent = str(rng.randint(1, 20))
        t += timedelta(seconds=rng.uniform(20, 120))
        add(
            "conversation.handoff_requested",
            "bot",
            None,
            {
                "reason": rng.choice(["visitor_asked", "low_confidence", "frustration"]),
                "team_id": None,
            },
        )
        t += timedelta(seconds=rng.expovariate(1 / 120))
        add(
            "conversation.assigned",
            "agent",
            agent,
            {"assignee_id": int(agent), "previous_status": "queued"},
        )
        t += timedelta(seconds=rng.expovariate(1 / 90))
        message("agent", agent)
        t += timedelta(seconds=rng.uniform(30, 300))
        message("visitor", visitor)
        t += timedelta(seconds=rng.uniform(30, 600))
        add("conversation.resolved", "agent", agent, {"previous_status": "assigned"})
        if rng.random() < 0.3:
            add(
                "csat.submitted",
                "visitor",
                visitor,
                {"score": rng.randint(1, 5), "has_comment": False},
            )
    return out


def generate(n_events: int, site_id: int, seed: int = 7) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    rows: list[tuple[Any, ...]] = []
    while len(rows) < n_events:
        rows.extend(conversation_events(rng, site_id))
    return rows[:n_events]


def load_sqlite(path: Path, rows: list[tuple[Any, ...]]) -> None:
    connection = sqlite3.connect(path)
    connection.executemany(
        "INSERT INTO event (site_id, type, conversation_id, actor_kind, actor_id, payload,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            (s, k, c, a, i, json.dumps(p), t.replace(tzinfo=None).isoformat(sep=" "))
            for s, k, c, a, i, p, t in rows
        ),
    )
    connection.commit()
    connection.close()


async def load_postgres(dsn: str, rows: list[tuple[Any, ...]]) -> None:
    connection = await asyncpg.connect(dsn)
    await connection.copy_records_to_table(
        "event",
        records=[(s, k, c, a, i, json.dumps(p), t) for s, k, c, a, i, p, t in rows],
        columns=[
            "site_id",
            "type",
            "conversation_id",
            "actor_kind",
            "actor_id",
            "payload",
            "created_at",
        ],
    )
    await connection.execute("ANALYZE")
    await connection.close()


async def timed(runs: int, call: Any) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - began) * 1000)
    return {"median": round(statistics.median(samples), 1), "max": round(max(samples), 1)}


async def measure(url: str, rows_for: Any, load: Any, runs: int) -> dict[str, Any]:
    with override_settings(environment="test", database_url=url):
        db = Database(url)
        try:
            site = await sites.create_site(db, name="Bench")
            assert site.id is not None
            await sites.update_site(db, site_id=site.id, business_hours=HOURS)
            rows = rows_for(site.id)
            began = time.perf_counter()
            await load(rows)
            load_s = time.perf_counter() - began
            began = time.perf_counter()
            conversations = await rollup.refresh(db, now=END)
            build_s = time.perf_counter() - began
            filters = Filters(
                site_id=site.id,
                date_from=(START + timedelta(days=1)).date(),
                date_to=date(2026, 2, 28),
                tz="Europe/Berlin",
            )
            overview = await timed(runs, lambda: service.overview(db, filters))
            series = await timed(
                runs,
                lambda: service.timeseries(db, filters, metric="first_response_s", interval="day"),
            )
            counts = await timed(
                runs,
                lambda: service.timeseries(db, filters, metric="conversations", interval="day"),
            )
            more = [r for _ in range(100) for r in conversation_events(random.Random(), site.id)]
            await load(more)
            began = time.perf_counter()
            await rollup.refresh(db, now=END)
            incremental_ms = (time.perf_counter() - began) * 1000
            figures = await service.overview(db, filters)
        finally:
            await db.dispose()
    return {
        "events": len(rows),
        "conversations": conversations,
        "load_s": round(load_s, 1),
        "build_s": round(build_s, 1),
        "overview_ms": overview,
        "timeseries_first_response_ms": series,
        "timeseries_conversations_ms": counts,
        "incremental_100_conversations_ms": round(incremental_ms, 1),
        "check": {
            "conversations": figures.conversations,
            "bot_resolution_rate": figures.bot.resolution_rate,
            "first_response_median_s": figures.first_response_s.median,
        },
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: SQLite, 2,000 events, one run"
    )
    args = parser.parse_args()
    if args.quick:
        args.events, args.backend, args.runs = 2_000, "sqlite", 1
    result: dict[str, Any] = {"benchmark": "analytics", "days": DAYS, "events": args.events}
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bench.db"
            url = f"sqlite+aiosqlite:///{path}"
            await migrate.upgrade_async(url)

            async def load_lite(rows: list[tuple[Any, ...]]) -> None:
                await asyncio.to_thread(load_sqlite, path, rows)

            result["sqlite"] = await measure(
                url, lambda site: generate(args.events, site), load_lite, args.runs
            )
    if args.backend in ("postgres", "both"):
        cluster = PostgresCluster().start()
        try:
            admin = await asyncpg.connect(cluster.admin_dsn)
            await admin.execute("CREATE DATABASE bench")
            await admin.close()
            url = cluster.url("bench")
            await migrate.upgrade_async(url)
            dsn = url.replace("postgresql+asyncpg://", "postgresql://")

            async def load_pg(rows: list[tuple[Any, ...]]) -> None:
                await load_postgres(dsn, rows)

            result["postgres"] = await measure(
                url, lambda site: generate(args.events, site), load_pg, args.runs
            )
        finally:
            cluster.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
