"""What writing the event log costs the message path, in CPU per message, on SQLite.

Stores batches of visitor messages through `conversations.service.send_message` (group
commit, encryption, blind index, the SQLite write and its commit, the post-commit hooks)
with the event log on and off (`RELAYDESK_EVENT_LOG`), alternating every batch in one
process, and counts this process's CPU time (`time.process_time`) per message for each:
the machine's drift and other people's load move both alike, which wall-clock latency on
a shared two-core machine never does. SQLite runs in this process, so its work (the
event rows' index maintenance included) is counted. The Socket.IO layer is not here:
`python -m benchmarks.messages --events-cost` measures the whole server.

Prints one JSON object.

    python -m benchmarks.event_cost            # 10 rounds of 60 batches of 8 each way
    python -m benchmarks.event_cost --quick    # 2 rounds of 5 batches
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from relaydesk.conversations import service as conversations
from relaydesk.conversations.models import SenderKind
from relaydesk.core import migrate
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
from relaydesk.core.models import new_id
from relaydesk.sites import service as sites

TEXT = "Hi, where is my order 4417? It was supposed to arrive yesterday."


async def measure(
    rounds: int, batches: int, batch_size: int, conversation_count: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await migrate.upgrade_async(url)
        with override_settings(environment="test", database_url=url):
            db = Database(url)
            try:
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
                per: dict[str, list[float]] = {"on": [], "off": []}
                for n in range(rounds):
                    spent = {"on": 0.0, "off": 0.0}
                    gc.collect()
                    for i in range(2 * batches):
                        mode = "on" if (i + n) % 2 == 0 else "off"
                        with override_settings(event_log=mode):
                            began = time.process_time()
                            await batch()
                            spent[mode] += time.process_time() - began
                    for mode, seconds in spent.items():
                        per[mode].append(seconds / (batches * batch_size) * 1e6)
            finally:
                await db.dispose()
    on, off = statistics.median(per["on"]), statistics.median(per["off"])
    return {
        "cpu_us_per_message_on": round(on, 1),
        "cpu_us_per_message_off": round(off, 1),
        "events_cost_us": round(on - off, 1),
        "ratio_of_medians": round(on / off, 4),
        "paired_median_ratio": round(
            statistics.median(a / b for a, b in zip(per["on"], per["off"], strict=True)), 4
        ),
        "rounds_on": [round(v, 1) for v in per["on"]],
        "rounds_off": [round(v, 1) for v in per["off"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batches", type=int, default=60, help="per round and mode")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--conversations", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 5 batches")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.batches, args.conversations = 2, 5, 20
    figures = asyncio.run(measure(args.rounds, args.batches, args.batch_size, args.conversations))
    print(
        json.dumps(
            {
                "benchmark": "event_cost",
                "backend": "sqlite",
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
