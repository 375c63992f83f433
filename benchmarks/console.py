"""Console benchmark: inbox and conversation latency on a large database, and how fast a
new handoff reaches an open inbox.

For each target (Relaydesk on SQLite, on PostgreSQL) it starts a real server process on a
free 127.0.0.1 port, seeds the database with 10,000 conversations of one site (queued,
assigned to the measured agent and to others, resolved, with the bot; two messages each)
plus one conversation of 500 messages, and measures:

- inbox: server time (the app's own `Server-Timing` header) of what the console fetches to
  render its inbox: the `/console` page, the first page of each inbox view (`queue`,
  `mine`, `team`, and `all` as an admin) and the view counts. The figure to reach is the
  sum of the page, one list and the counts, at p95;
- open: a conversation with 500 messages opened through the console's
  `conversation:join` event (the client-measured round trip over the websocket), plus its
  inbox row over REST;
- handoff: a widget visitor asks for a person; time until an agent's open console receives
  `conversation:updated` with the conversation queued.

Prints one JSON object on stdout; logs go to stderr.

    python -m benchmarks.console                    # SQLite and PostgreSQL
    python -m benchmarks.console --targets sqlite --conversations 2000 --repeats 10
    python -m benchmarks.console --quick            # smoke run: SQLite, 100 conversations
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import socketio

# The server, database and process helpers are the messages benchmark's own.
from benchmarks._message_servers import (
    AGENT_EMAIL,
    AGENT_PASSWORD,
    HOST,
    Server,
    postgres_database,
    relaydesk_server,
    server_log_errors,
)
from benchmarks._message_servers import _cli as run_cli
from benchmarks.messages import code_under_test, wait_for_quiet

log = logging.getLogger("bench.console")

ADMIN_EMAIL = "bench-admin@example.com"
OTHER_EMAIL = "bench-other@example.com"
PASSWORD = "bench-password-123"
LONG_CONVERSATION_MESSAGES = 500
TARGETS = ("sqlite", "postgres")
INBOX_TARGET_MS = 150.0
OPEN_TARGET_MS = 200.0
HANDOFF_TARGET_MS = 1000.0


@dataclass(frozen=True)
class Options:
    targets: tuple[str, ...]
    conversations: int
    repeats: int
    handoffs: int
    quiet_wait: float


def parse_options(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=30, help="timed requests per figure")
    parser.add_argument("--handoffs", type=int, default=10)
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="seconds to wait for other work on the machine to stop before each target",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: SQLite, 100 conversations, no waiting"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.targets, args.conversations, args.repeats, args.handoffs = "sqlite", 100, 3, 2
        args.quiet_wait = 0.0
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {sorted(unknown)}")
    return Options(targets, args.conversations, args.repeats, args.handoffs, args.quiet_wait)


# ---------------------------------------------------------------------------------------
# Seeding


def create_users(env: dict[str, str], workdir: Path, data_dir: Path) -> dict[str, int]:
    ids: dict[str, int] = {}
    for email, password, role in (
        (OTHER_EMAIL, PASSWORD, "agent"),
        (ADMIN_EMAIL, PASSWORD, "admin"),
    ):
        created = run_cli(
            [
                "users", "create", "--email", email, "--password", password, "--role", role,
                "--team", "1", "--name", email.split("@")[0], "--json",
                "--data-dir", str(data_dir),
            ],
            env,
            workdir,
        )  # fmt: skip
        ids[email] = int(created["id"])
    return ids


def _rows(
    site_id: int, agent_id: int, other_id: int, count: int
) -> dict[str, list[dict[str, Any]]]:
    """Visitors, conversations and messages, in a mix of states like a busy help desk."""
    from relaydesk.core.models import new_id

    rng = random.Random(7)
    now = datetime.now(UTC)
    visitors: list[dict[str, Any]] = []
    conversations: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []

    def add(status: str, assignee: int | None, n_messages: int, age_s: float) -> str:
        visitor_id, conversation_id = new_id(), new_id()
        created = now - timedelta(seconds=age_s)
        visitors.append(
            {"id": visitor_id, "site_id": site_id, "name": f"Visitor {len(visitors)}",
             "email": None, "external_id": None, "locale": rng.choice(["en", "zh"]),
             "created_at": created, "last_seen_at": created}
        )  # fmt: skip
        for seq in range(1, n_messages + 1):
            visitor_turn = seq % 2 == 1
            messages.append(
                {"id": new_id(), "conversation_id": conversation_id, "seq": seq,
                 "sender_kind": "visitor" if visitor_turn else ("agent" if assignee else "bot"),
                 "sender_id": visitor_id if visitor_turn else (str(assignee) if assignee else None),
                 "sender_name": None, "client_id": f"c{seq}",
                 "text": f"Message {seq}: where is my order? It was due on Monday.",
                 "payload": {}, "created_at": created + timedelta(seconds=seq)}
            )  # fmt: skip
        last = created + timedelta(seconds=n_messages)
        conversations.append(
            {"id": conversation_id, "site_id": site_id, "visitor_id": visitor_id,
             "status": status, "assignee_id": assignee, "team_id": 1,
             "handoff_reason": "visitor_asked" if status != "bot" else None,
             "last_seq": n_messages, "created_at": created, "updated_at": last,
             "queued_at": created if status != "bot" else None,
             "assigned_at": created if assignee else None,
             "resolved_at": last if status == "resolved" else None,
             "last_message_at": last}
        )  # fmt: skip
        return conversation_id

    # Shares of the whole: 10% queued, 30% the measured agent's, 30% another agent's,
    # 20% resolved, 10% with the bot.
    mix = [("queued", None)] * 1 + [("assigned", agent_id)] * 3 + [("assigned", other_id)] * 3
    mix += [("resolved", agent_id)] * 2 + [("bot", None)]
    for i in range(count - 1):
        status, assignee = mix[i % len(mix)]
        add(status, assignee, 2, age_s=count - i)
    long_id = add("assigned", agent_id, LONG_CONVERSATION_MESSAGES, age_s=0)
    return {
        "visitor": visitors,
        "conversation": conversations,
        "message": messages,
        "long": [{"id": long_id}],
    }


async def seed(database_url: str, *, site_id: int, agent_id: int, other_id: int, count: int) -> str:
    """Bulk-inserts the rows (the service layer would take minutes for 10,000
    conversations); returns the id of the 500-message conversation."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlmodel import SQLModel

    import relaydesk.core.all_models  # noqa: F401

    rows = _rows(site_id, agent_id, other_id, count)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            for table in ("visitor", "conversation", "message"):
                insert = SQLModel.metadata.tables[table].insert()
                batch = rows[table]
                for start in range(0, len(batch), 2000):
                    await connection.execute(insert, batch[start : start + 2000])
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE"))
                await connection.commit()
    finally:
        await engine.dispose()
    return str(rows["long"][0]["id"])


# ---------------------------------------------------------------------------------------
# Measuring


def server_ms(response: httpx.Response) -> float:
    response.raise_for_status()
    match = re.search(r"app;dur=([0-9.]+)", response.headers.get("server-timing", ""))
    if match is None:
        raise RuntimeError(f"no Server-Timing header on {response.request.url}")
    return float(match.group(1))


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 2), "p95": round(p95, 2)}


def timed(client: httpx.Client, path: str, repeats: int) -> dict[str, float]:
    for _ in range(3):  # warm caches and the connection pool
        server_ms(client.get(path))
    return summary([server_ms(client.get(path)) for _ in range(repeats)])


def signed_in(url: str, email: str, password: str) -> httpx.Client:
    """A browser-like client: session cookie from the login form, plus a bearer token for
    the REST API (the console sends the cookie; integrators the token)."""
    client = httpx.Client(base_url=url, trust_env=False, timeout=30)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1) if token else ""},
    )
    bearer = httpx.post(
        f"{url}/api/v1/auth/token",
        data={"username": email, "password": password},
        timeout=30,
    ).json()["access_token"]
    client.headers["Authorization"] = f"Bearer {bearer}"
    return client


def measure_inbox(url: str, repeats: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with contextlib.closing(signed_in(url, AGENT_EMAIL, AGENT_PASSWORD)) as agent:
        if agent.get("/console", follow_redirects=False).status_code != 200:
            raise RuntimeError("the agent's console session did not work")
        figures["console_page_ms"] = timed(agent, "/console", repeats)
        for view in ("queue", "mine", "team"):
            figures[f"list_{view}_ms"] = timed(
                agent, f"/api/v1/conversations?view={view}&limit=50", repeats
            )
        figures["counts_ms"] = timed(agent, "/api/v1/conversations/counts", repeats)
    with contextlib.closing(signed_in(url, ADMIN_EMAIL, PASSWORD)) as admin:
        figures["list_all_admin_ms"] = timed(
            admin, "/api/v1/conversations?view=all&limit=50", repeats
        )
        figures["counts_admin_ms"] = timed(admin, "/api/v1/conversations/counts", repeats)
    slowest_list = max(figures[k]["p95"] for k in figures if k.startswith("list_"))
    figures["render_p95_ms"] = round(
        figures["console_page_ms"]["p95"]
        + slowest_list
        + max(figures["counts_ms"]["p95"], figures["counts_admin_ms"]["p95"]),
        2,
    )
    return figures


async def measure_open(url: str, token: str, conversation_id: str, repeats: int) -> dict[str, Any]:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(
        url, namespaces=["/console"], auth={"token": token}, transports=["websocket"]
    )
    try:
        elapsed: list[float] = []
        count = 0
        for attempt in range(repeats + 3):
            started = time.perf_counter()
            ack = await client.call(
                "conversation:join",
                {"conversation_id": conversation_id},
                namespace="/console",
                timeout=30,
            )
            took = (time.perf_counter() - started) * 1000
            if not ack.get("ok"):
                raise RuntimeError(f"join refused: {ack}")
            count = len(ack["messages"])
            await client.call(
                "conversation:leave", {"conversation_id": conversation_id}, namespace="/console"
            )
            if attempt >= 3:
                elapsed.append(took)
    finally:
        await client.disconnect()
    with httpx.Client(base_url=url, trust_env=False, timeout=30) as http:
        http.headers["Authorization"] = f"Bearer {token}"
        row = timed(http, f"/api/v1/conversations/{conversation_id}", repeats)
    join = summary(elapsed)
    return {
        "messages_returned": count,
        "join_roundtrip_ms": join,
        "inbox_row_ms": row,
        "open_p95_ms": round(join["p95"] + row["p95"], 2),
    }


async def measure_handoff(url: str, token: str, site_key: str, handoffs: int) -> dict[str, Any]:
    """Visitor asks for a person → the agent's console hears it queued."""
    agent = socketio.AsyncClient(reconnection=False)
    queued: dict[str, float] = {}
    arrived = asyncio.Event()

    async def on_updated(data: dict[str, Any]) -> None:
        conversation = data.get("conversation") or {}
        if conversation.get("status") == "queued" and conversation.get("id") not in queued:
            queued[conversation["id"]] = time.perf_counter()
            arrived.set()

    agent.on("conversation:updated", on_updated, namespace="/console")
    await agent.connect(
        url, namespaces=["/console"], auth={"token": token}, transports=["websocket"]
    )
    elapsed: list[float] = []
    try:
        for _ in range(handoffs):
            visitor = socketio.AsyncClient(reconnection=False)
            await visitor.connect(
                url, namespaces=["/widget"], auth={"site_key": site_key, "visitor_token": None},
                transports=["websocket"],
            )  # fmt: skip
            opened = await visitor.call("conversation:open", {}, namespace="/widget", timeout=30)
            conversation_id = opened["conversation"]["id"]
            arrived.clear()
            started = time.perf_counter()
            ack = await visitor.call(
                "handoff:request",
                {"conversation_id": conversation_id},
                namespace="/widget",
                timeout=30,
            )
            if not ack.get("ok"):
                raise RuntimeError(f"handoff refused: {ack}")
            deadline = time.perf_counter() + 5
            while conversation_id not in queued and time.perf_counter() < deadline:
                arrived.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(arrived.wait(), timeout=deadline - time.perf_counter())
            if conversation_id not in queued:
                raise RuntimeError("the queued conversation never reached the agent's console")
            elapsed.append((queued[conversation_id] - started) * 1000)
            await visitor.disconnect()
    finally:
        await agent.disconnect()
    return {"handoff_to_inbox_ms": summary(elapsed), "max_ms": round(max(elapsed), 2)}


# ---------------------------------------------------------------------------------------
# Targets


@contextlib.contextmanager
def seeded_server(name: str, workdir: Path, options: Options) -> Iterator[tuple[Server, str]]:
    """The database is seeded before the server starts, as a deployment with this much
    history restarts with it; yields the server and the 500-message conversation's id."""
    with contextlib.ExitStack() as stack:
        if name == "sqlite":
            db_env: dict[str, str] = {}
            database_url = f"sqlite+aiosqlite:///{workdir / 'data' / 'relaydesk.db'}"
        else:
            database_url, _ = stack.enter_context(postgres_database())
            db_env = {"RELAYDESK_DATABASE_URL": database_url}
        seeded: list[str] = []

        def prepare(
            env: dict[str, str], data_dir: Path, site: dict[str, Any], agent: dict[str, Any]
        ) -> None:
            users = create_users(env, workdir, data_dir)
            log.info("%s: seeding %d conversations", name, options.conversations)
            seeding = seed(
                database_url,
                site_id=int(site["id"]),
                agent_id=int(agent["id"]),
                other_id=users[OTHER_EMAIL],
                count=options.conversations,
            )
            seeded.append(asyncio.run(seeding))

        server = stack.enter_context(relaydesk_server(name, workdir, db_env, prepare))
        yield server, seeded[0]


def run_target(name: str, options: Options) -> dict[str, Any]:
    if options.quiet_wait > 0:
        wait_for_quiet(options.quiet_wait)
    workdir = Path(tempfile.mkdtemp(prefix=f"relaydesk-console-bench-{name}-"))
    try:
        with seeded_server(name, workdir, options) as (server, long_id):
            log.info("%s: measuring", name)
            figures: dict[str, Any] = {"inbox": measure_inbox(server.url, options.repeats)}
            figures["open"] = asyncio.run(
                measure_open(server.url, server.token, long_id, options.repeats)
            )
            figures["handoff"] = asyncio.run(
                measure_handoff(server.url, server.token, server.site_key, options.handoffs)
            )
            figures["server_tracebacks"], _ = server_log_errors(server.log_path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    figures["target_met"] = {
        "inbox_render_le_150ms": figures["inbox"]["render_p95_ms"] <= INBOX_TARGET_MS,
        "open_500_messages_le_200ms": figures["open"]["open_p95_ms"] <= OPEN_TARGET_MS,
        "handoff_in_inbox_le_1s": figures["handoff"]["max_ms"] <= HANDOFF_TARGET_MS,
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    options = parse_options(argv)
    results: dict[str, Any] = {}
    for name in options.targets:
        try:
            results[name] = run_target(name, options)
        except Exception as exc:
            log.exception("%s: failed", name)
            results[name] = {"failed": repr(exc)}
    output = {
        "benchmark": "console",
        "config": {
            "conversations": options.conversations,
            "long_conversation_messages": LONG_CONVERSATION_MESSAGES,
            "repeats": options.repeats,
            "handoffs": options.handoffs,
            "host": HOST,
            "cpu_count": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "relaydesk": code_under_test(),
        },
        "targets": results,
    }
    print(json.dumps(output, indent=2))
    met = all("failed" not in r and all(r["target_met"].values()) for r in results.values())
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
