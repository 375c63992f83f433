"""Bot benchmark: decisions on banking77-faq-open and first-token overhead.

    python -m benchmarks.bot [--quick] [--data-dir DIR] [--model-dir DIR]

Prints one JSON object:
- `decisions`: banking77-faq-open (datasets/README.md, benchmarks/_datasets.py) through
  the bot's own reply path (`relaydesk.bot.answer.respond`) at the default threshold with
  no LLM (extractive mode): in-scope answered-correctly rate, wrong answers among those
  answered, out-of-scope not-answered rate.
- `first_token_ms`: from a visitor's `message:send` to the first `message:stream` delta
  of the bot's answer, p50/p95, over a real uvicorn server and Socket.IO clients, with the
  stand-in LLM answering instantly (retrieval, decision, prompt, the ChatOpenAI call,
  fan-out all included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import socketio
import uvicorn

from benchmarks._datasets import FaqTask, banking77_faq
from relaydesk.api.app import create_app
from relaydesk.bot import answer, knowledge
from relaydesk.bot.policy import BotPolicy
from relaydesk.core import migrate
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database, set_database
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD, HybridIndex
from relaydesk.knowledge.retrieval.chunks import Chunk, faq_entry_chunks
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import onnx_folder
from relaydesk.sites import service as sites
from relaydesk.testing.llm_standin import LLMStandIn, Reply
from relaydesk.testing.servers import free_port

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO.parent / "shared" / "datasets"
DEFAULT_MODEL_DIR = REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2"


def task_chunks(task: FaqTask) -> list[Chunk]:
    return [
        chunk
        for e in task.entries
        for chunk in faq_entry_chunks(
            e.entry_id,
            title=e.title,
            questions=e.questions,
            answer=e.answer,
            metadata={"external_id": e.entry_id, "locale": "en"},
        )
    ]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def decisions(task: FaqTask, index: HybridIndex, limit: int | None) -> dict[str, Any]:
    source = knowledge.IndexSource()
    source.add_site(1, index, task_chunks(task))
    knowledge.set_source(source)
    pairs = list(zip(task.queries, task.expected, strict=True))
    if limit is not None:
        pairs = pairs[:: max(1, len(pairs) // limit)]
    in_scope = in_right = answered = wrong = out_scope = out_declined = 0
    actions: dict[str, int] = {}
    policy = BotPolicy()
    for query, expected in pairs:
        reply = await answer.respond(
            None,  # type: ignore[arg-type]  # the in-memory source needs no database
            site_id=1,
            site_name="Bank",
            question=query,
            history=[],
            policy=policy,
        )
        assert reply is not None
        actions[reply.action] = actions.get(reply.action, 0) + 1
        said = reply.action == "answer"
        right = said and reply.citations[0]["entry_id"] == expected
        answered += said
        wrong += said and not right
        if expected is None:
            out_scope += 1
            out_declined += not said
        else:
            in_scope += 1
            in_right += right
    knowledge.set_source(None)
    return {
        "task": task.name,
        "queries": len(pairs),
        "threshold": DEFAULT_ANSWER_THRESHOLD,
        "mode": "extractive (no LLM)",
        "in_scope_answered_correctly": round(in_right / in_scope, 4),
        "wrong_among_answered": round(wrong / answered, 4) if answered else 0.0,
        "out_of_scope_not_answered": round(out_declined / out_scope, 4),
        "actions": actions,
    }


async def first_token(
    task: FaqTask, index: HybridIndex, samples: int, model_dir: Path
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await migrate.upgrade_async(url)
        async with LLMStandIn() as llm:
            llm.always(lambda _: Reply("Here is what the help centre says [1]."))
            with override_settings(
                environment="test", data_dir=Path(tmp), database_url=url,
                llm_base_url=llm.base_url, llm_timeout_seconds=5, embedding_model_dir=model_dir,
            ):  # fmt: skip
                database = Database(url)
                set_database(database)
                try:
                    return await _measure(database, task, index, samples)
                finally:
                    set_database(None)
                    await database.dispose()


async def _measure(
    database: Database, task: FaqTask, index: HybridIndex, samples: int
) -> dict[str, Any]:
    site = await sites.create_site(database, name="Bench")
    assert site.id is not None
    source = knowledge.IndexSource()
    source.add_site(site.id, index, task_chunks(task))
    knowledge.set_source(source)
    # Questions the bot answers (so the LLM is called and nothing hands off).
    questions = []
    for entry in task.entries:
        reply = await answer.respond(
            database, site_id=site.id, site_name="Bench", question=entry.questions[0],
            history=[], policy=BotPolicy(), needs_knowledge=True,
        )  # fmt: skip
        if reply is not None and reply.action == "answer":
            questions.append(entry.questions[0])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    base = f"http://127.0.0.1:{port}"
    timings: list[float] = []
    try:
        client = socketio.AsyncClient(reconnection=False)
        first: dict[str, float] = {}
        done: dict[str, asyncio.Event] = {}

        async def on_stream(data: dict[str, Any]) -> None:
            first.setdefault(data["stream_id"], time.perf_counter())

        async def on_new(data: dict[str, Any]) -> None:
            message = data["message"]
            if message["sender"]["kind"] == "bot" and message["client_id"] in done:
                done[message["client_id"]].set()

        client.on("message:stream", on_stream, namespace="/widget")
        client.on("message:new", on_new, namespace="/widget")
        await client.connect(
            base, namespaces=["/widget"], auth={"site_key": site.site_key}, transports=["websocket"]
        )
        opened = await client.call("conversation:open", {}, namespace="/widget")
        conversation_id = opened["conversation"]["id"]
        for n in range(samples + 5):
            question = questions[n % len(questions)]
            started = time.perf_counter()
            ack = await client.call(
                "message:send",
                {"conversation_id": conversation_id, "client_id": uuid.uuid4().hex,
                 "text": question},
                namespace="/widget",
            )  # fmt: skip
            stream_id = f"bot:{ack['message']['id']}"
            done[stream_id] = asyncio.Event()
            await asyncio.wait_for(done[stream_id].wait(), 10)
            if n >= 5 and stream_id in first:  # the first few warm up connections
                timings.append((first[stream_id] - started) * 1000)
        await client.disconnect()
    finally:
        knowledge.set_source(None)
        server.should_exit = True
        await serving
    return {
        "samples": len(timings),
        "p50": round(statistics.median(timings), 2),
        "p95": round(percentile(timings, 0.95), 2),
        "max": round(max(timings), 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subsample for a smoke run")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR") or DEFAULT_MODEL_DIR),
    )
    args = parser.parse_args(argv)
    model_dir = onnx_folder(args.model_dir)
    if model_dir is None:
        sys.exit(f"no all-MiniLM-L6-v2 ONNX model under {args.model_dir}")
    task = banking77_faq(args.data_dir, open_set=True)
    index = HybridIndex(OnnxMiniLMEmbedder(model_dir))
    index.upsert(task_chunks(task))

    async def run() -> dict[str, Any]:
        with override_settings(llm_base_url=None):
            figures = {"decisions": await decisions(task, index, 300 if args.quick else None)}
        figures["first_token_ms"] = await first_token(
            task, index, 30 if args.quick else 200, args.model_dir
        )
        # Other work on this 2-core machine inflates the timings; rerun on a quiet one.
        figures["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
        return figures

    print(json.dumps(asyncio.run(run()), indent=2))


if __name__ == "__main__":
    main()
