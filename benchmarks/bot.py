"""Bot benchmark: decisions on banking77-faq-open and first-token overhead.

    python -m benchmarks.bot [--quick] [--data-dir DIR] [--model-dir DIR]
    python -m benchmarks.bot --conversation   # banking77-faq-open, in conversation
    python -m benchmarks.bot --followups      # benchmarks/data/followups.jsonl
    python -m benchmarks.bot --demo-kb        # benchmarks/data/demo_kb.jsonl
    python -m benchmarks.bot --followups --dev  # the dev sets (for tuning): followups_dev,
    python -m benchmarks.bot --demo-kb --dev    # demo_kb_dev; the sets above are test sets

Prints one JSON object:
- `decisions`: banking77-faq-open (datasets/README.md, benchmarks/_datasets.py) through
  the bot's own reply path (`relaydesk.bot.answer.respond`) at the default threshold with
  no LLM (extractive mode): in-scope answered-correctly rate, wrong answers among those
  answered, out-of-scope not-answered rate.
- `first_token_ms`: from a visitor's `message:send` to the first `message:stream` delta
  of the bot's answer, p50/p95, over a real uvicorn server and Socket.IO clients, with the
  stand-in LLM answering instantly (retrieval, decision, prompt, the ChatOpenAI call,
  fan-out all included).

`--conversation` asks a fixed sample of 600 in-scope and 400 out-of-scope open-set queries
each after an earlier exchange about a different in-scope entry (`conversation_sample`),
and the same queries alone. `--followups` scores two-turn conversations whose second
question needs the first; `--demo-kb` visitor questions to the demo help center (both
sets in benchmarks/data, each case with where it comes from; written before any tuning
and never tuned on).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import socketio
import uvicorn

from benchmarks._datasets import FaqTask, banking77_faq
from relaydesk.api.app import create_app
from relaydesk.bot import answer, knowledge
from relaydesk.bot.policy import BotPolicy
from relaydesk.bot.prompt import Turn
from relaydesk.core import migrate, state
from relaydesk.core.config import override_settings
from relaydesk.core.db import Database
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


CONVERSATION_SEED = 17
CONVERSATION_IN_SCOPE = 600
CONVERSATION_OUT_OF_SCOPE = 400


def conversation_sample(
    task: FaqTask,
    *,
    in_scope: int = CONVERSATION_IN_SCOPE,
    out_of_scope: int = CONVERSATION_OUT_OF_SCOPE,
) -> list[tuple[str, str | None, str, str]]:
    """banking77-faq-open, in conversation (datasets/README.md): (query, right entry,
    earlier visitor question, earlier bot answer).

    `random.Random(CONVERSATION_SEED)` draws `in_scope` in-scope and `out_of_scope`
    out-of-scope test.csv rows (each in file order, sampled without replacement), then
    for each one an earlier test.csv row of a different in-scope entry; the earlier bot
    turn is that entry's answer. The same seed always gives the same 1,000 conversations.
    """
    rng = random.Random(CONVERSATION_SEED)
    pairs = list(zip(task.queries, task.expected, strict=True))
    inside = [p for p in pairs if p[1] is not None]
    outside = [p for p in pairs if p[1] is None]
    chosen = rng.sample(inside, in_scope) + rng.sample(outside, out_of_scope)
    answers = {e.entry_id: e.answer for e in task.entries}
    sample = []
    for query, expected in chosen:
        while True:
            earlier, entry = rng.choice(inside)
            if entry != expected and earlier != query:
                break
        assert entry is not None
        sample.append((query, expected, earlier, answers[entry]))
    return sample


async def conversation_decisions(
    task: FaqTask, index: HybridIndex, limit: int | None
) -> dict[str, Any]:
    """The conversation sample, each query asked with its earlier exchange as `history`
    (as `POST /api/v1/bot/answer` passes it to `answer.respond`), and alone."""
    source = knowledge.IndexSource()
    source.add_site(1, index, task_chunks(task))
    knowledge.set_source(source)
    sample = conversation_sample(task)
    if limit is not None:
        sample = sample[:: max(1, len(sample) // limit)]
    policy = BotPolicy()
    figures: dict[str, Any] = {
        "task": "banking77-faq-open, in conversation",
        "sample": (
            f"{len(sample)} conversations, random.Random({CONVERSATION_SEED}), "
            "see conversation_sample"
        ),
        "threshold": DEFAULT_ANSWER_THRESHOLD,
    }
    try:
        for label, with_history in (("in_conversation", True), ("single_question", False)):
            tally = _Tally()
            for query, expected, earlier, earlier_answer in sample:
                history = (
                    [Turn("visitor", earlier), Turn("bot", earlier_answer)] if with_history else []
                )
                reply = await answer.respond(
                    None,  # type: ignore[arg-type]  # the in-memory source needs no database
                    site_id=1, site_name="Bank", question=query, history=history, policy=policy,
                )  # fmt: skip
                assert reply is not None
                tally.add(reply, expected)
            figures[label] = tally.figures()
    finally:
        knowledge.set_source(None)
    return figures


@dataclass
class _Tally:
    in_scope: int = 0
    in_right: int = 0
    answered: int = 0
    wrong: int = 0
    out_scope: int = 0
    out_declined: int = 0

    def add(self, reply: answer.Reply, expected: str | None) -> None:
        said = reply.action == "answer"
        right = said and reply.citations[0]["entry_id"] == expected
        self.answered += said
        self.wrong += said and not right
        if expected is None:
            self.out_scope += 1
            self.out_declined += not said
        else:
            self.in_scope += 1
            self.in_right += right

    def figures(self) -> dict[str, Any]:
        return {
            "in_scope": self.in_scope,
            "out_of_scope": self.out_scope,
            "answered": self.answered,
            "in_scope_answered_correctly": round(self.in_right / max(self.in_scope, 1), 4),
            "wrong_among_answered": round(self.wrong / max(self.answered, 1), 4),
            "out_of_scope_not_answered": round(self.out_declined / max(self.out_scope, 1), 4),
        }


DATA = Path(__file__).resolve().parent / "data"
FOLLOWUPS_FILE = DATA / "followups.jsonl"
DEMO_KB_FILE = DATA / "demo_kb.jsonl"
# Dev sets: written separately for tuning; the two above are test sets, run once.
FOLLOWUPS_DEV_FILE = DATA / "followups_dev.jsonl"
DEMO_KB_DEV_FILE = DATA / "demo_kb_dev.jsonl"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _cited(reply: answer.Reply) -> str | None:
    """The first citation's id as the sets name it: the external id (demo KB, "demo:…")
    or else the entry id (banking77 intents)."""
    if reply.action != "answer" or not reply.citations:
        return None
    first = reply.citations[0]
    return str(first["external_id"] or first["entry_id"])


async def demo_database(tmp: Path, model_dir: Path) -> tuple[Database, int]:
    """A fresh SQLite database with the demo site and its help center, as `relaydesk
    serve` seeds it; search goes through the knowledge domain's real service."""
    from relaydesk.api.demo import seed_demo

    url = f"sqlite+aiosqlite:///{tmp / 'demo.db'}"
    await migrate.upgrade_async(url)
    database = Database(url)
    state.install(state.AppState.for_database(database))
    creds = await seed_demo(database, tmp / "data")
    return database, creds.site_id


def _figures(rows: list[dict[str, Any]], answerable_key: str = "expected") -> dict[str, Any]:
    answerable = [r for r in rows if r[answerable_key]]
    unanswerable = [r for r in rows if not r[answerable_key]]
    answered = [r for r in rows if r["cited"] is not None]
    right = [r for r in answerable if r["cited"] in r[answerable_key]]
    wrong = [r for r in answered if r["cited"] not in r[answerable_key]]
    figures: dict[str, Any] = {
        "cases": len(rows),
        "answerable": len(answerable),
        "answered_correctly_of_answerable": round(len(right) / max(len(answerable), 1), 4),
        "wrong_among_answered": round(len(wrong) / max(len(answered), 1), 4),
        "answered_wrongly_of_all": round(len(wrong) / max(len(rows), 1), 4),
    }
    if unanswerable:
        figures["unanswerable"] = len(unanswerable)
        figures["unanswerable_not_answered"] = round(
            sum(r["cited"] is None for r in unanswerable) / len(unanswerable), 4
        )
    return figures


async def demo_kb_set(model_dir: Path, path: Path = DEMO_KB_FILE) -> dict[str, Any]:
    """benchmarks/data/demo_kb.jsonl (or the dev set): visitor questions to the demo help
    center, each asked in a new conversation through `answer.respond` (the REST endpoint's
    path)."""
    cases = _read_jsonl(path)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, override_settings(
        environment="test", data_dir=Path(tmp) / "data", llm_base_url=None,
        embedding_model_dir=model_dir,
    ):  # fmt: skip
        database, site_id = await demo_database(Path(tmp), model_dir)
        try:
            for case in cases:
                reply = await answer.respond(
                    database, site_id=site_id, site_name="Juniper & Oak",
                    question=case["question"], history=[], policy=BotPolicy(),
                )  # fmt: skip
                assert reply is not None
                rows.append({**case, "cited": _cited(reply), "confidence": reply.confidence})
        finally:
            state.install(None)
            await database.dispose()
    figures = {"set": str(path.relative_to(REPO)), **_figures(rows)}
    for language in ("en", "zh"):
        figures[language] = _figures([r for r in rows if r["language"] == language])
    figures["misses"] = [
        {"q": r["question"], "cited": r["cited"], "confidence": round(r["confidence"], 3)}
        for r in rows
        if (r["cited"] not in r["expected"])
        if r["expected"] or r["cited"] is not None
    ]
    return figures


async def followup_set(
    model_dir: Path, index: HybridIndex, full: FaqTask, path: Path = FOLLOWUPS_FILE
) -> dict[str, Any]:
    """benchmarks/data/followups.jsonl: two-turn conversations whose second question needs
    the first. The first question is asked, the bot's reply to it becomes the history, and
    the follow-up is scored. banking77 cases use the full banking77-faq knowledge base."""
    cases = _read_jsonl(path)
    rows = []
    policy = BotPolicy()

    async def converse(database: Database | None, site_id: int, case: dict[str, Any]) -> None:
        first = await answer.respond(
            database,  # type: ignore[arg-type]  # None: the in-memory source needs none
            site_id=site_id, site_name="Help", question=case["first"], history=[], policy=policy,
        )  # fmt: skip
        assert first is not None
        history = [Turn("visitor", case["first"]), Turn("bot", first.text)]
        second = await answer.respond(
            database,  # type: ignore[arg-type]
            site_id=site_id, site_name="Help", question=case["follow_up"], history=history,
            policy=policy,
        )  # fmt: skip
        assert second is not None
        rows.append(
            {**case, "cited": _cited(second), "query": second.query,
             "confidence": second.confidence}
        )  # fmt: skip

    source = knowledge.IndexSource()
    source.add_site(1, index, task_chunks(full))
    knowledge.set_source(source)
    try:
        for case in cases:
            if case["kb"] == "banking77":
                await converse(None, 1, case)
    finally:
        knowledge.set_source(None)
    with tempfile.TemporaryDirectory() as tmp, override_settings(
        environment="test", data_dir=Path(tmp) / "data", llm_base_url=None,
        embedding_model_dir=model_dir,
    ):  # fmt: skip
        database, site_id = await demo_database(Path(tmp), model_dir)
        try:
            for case in cases:
                if case["kb"] == "demo":
                    await converse(database, site_id, case)
        finally:
            state.install(None)
            await database.dispose()
    figures = {"set": str(path.relative_to(REPO)), **_figures(rows)}
    for kb in ("demo", "banking77"):
        figures[kb] = _figures([r for r in rows if r["kb"] == kb])
    figures["zh"] = _figures(
        [r for r in rows if any("\u4e00" <= c <= "\u9fff" for c in r["first"])]
    )
    # Each miss with what was searched (the follow-up alone, or a standalone wording:
    # context was used) and the confidence, to tell a confidence miss from a context veto.
    figures["misses"] = [
        {
            "first": r["first"],
            "q": r["follow_up"],
            "cited": r["cited"],
            "query": r["query"],
            "confidence": round(r["confidence"], 3),
        }
        for r in rows
        if (r["cited"] not in r["expected"])
        if r["expected"] or r["cited"] is not None
    ]
    return figures


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
                state.install(state.AppState.for_database(database))
                try:
                    return await _measure(database, task, index, samples)
                finally:
                    state.install(None)
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
    parser.add_argument(
        "--conversation",
        action="store_true",
        help="banking77-faq-open in conversation (each query after an earlier exchange)",
    )
    parser.add_argument(
        "--followups", action="store_true", help="the follow-up set (benchmarks/data)"
    )
    parser.add_argument(
        "--demo-kb", action="store_true", help="the visitor-style demo help-center set"
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="with --followups/--demo-kb: the dev set (for tuning) instead of the test set",
    )
    args = parser.parse_args(argv)
    model_dir = onnx_folder(args.model_dir)
    if model_dir is None:
        sys.exit(f"no all-MiniLM-L6-v2 ONNX model under {args.model_dir}")
    task = banking77_faq(args.data_dir, open_set=True)
    index = HybridIndex(OnnxMiniLMEmbedder(model_dir))
    index.upsert(task_chunks(task))

    if args.demo_kb:
        print(
            json.dumps(
                asyncio.run(
                    demo_kb_set(args.model_dir, DEMO_KB_DEV_FILE if args.dev else DEMO_KB_FILE)
                ),
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if args.followups:
        full = banking77_faq(args.data_dir)
        full_index = HybridIndex(OnnxMiniLMEmbedder(model_dir))
        full_index.upsert(task_chunks(full))
        print(
            json.dumps(
                asyncio.run(
                    followup_set(
                        args.model_dir,
                        full_index,
                        full,
                        FOLLOWUPS_DEV_FILE if args.dev else FOLLOWUPS_FILE,
                    )
                ),
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if args.conversation:

        async def conversation() -> dict[str, Any]:
            with override_settings(llm_base_url=None):
                return await conversation_decisions(task, index, 300 if args.quick else None)

        print(json.dumps(asyncio.run(conversation()), indent=2))
        return

    async def run() -> dict[str, Any]:
        with override_settings(llm_base_url=None):
            figures = {"decisions": await decisions(task, index, 40 if args.quick else None)}
        figures["first_token_ms"] = await first_token(
            task, index, 5 if args.quick else 200, args.model_dir
        )
        # Other work on this 2-core machine inflates the timings; rerun on a quiet one.
        figures["load_average_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
        return figures

    print(json.dumps(asyncio.run(run()), indent=2))


if __name__ == "__main__":
    main()
