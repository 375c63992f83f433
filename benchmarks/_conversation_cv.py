"""Why banking77-faq-open answers worse in conversation, and which conversation rule helps
(docs/retrieval.md, section 7).

    python -m benchmarks._conversation_cv record [--reported] [--out FILE]
    python -m benchmarks._conversation_cv evaluate FILE [FILE ...]

`record` builds conversation samples by `benchmarks.bot.conversation_sample`'s rule and
asks every question twice through the bot's reply path (`answer.respond`): with its
earlier exchange as history, and alone. Each row keeps what both decided, so rules that
act after retrieval can be judged offline. Dev samples (the default): banking77 open dev
folds 0-2 (train.csv rows that are not phrasings) and dstc11-faq-open. `--reported`
records the reported test sample instead: for explaining the gap only, never for choosing.

`evaluate` prints, per recorded set: both metrics on the same questions, the answers that
differ with context (caused by it: wrong in conversation, not wrong alone), and what a
higher single-question bar would do at this sample's out-of-scope share (40%).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._datasets import FaqTask, banking77_faq, banking77_open_dev_folds
from benchmarks._retrieval_cv import dstc11_faq_open
from benchmarks.bot import DEFAULT_DATA_DIR, DEFAULT_MODEL_DIR, conversation_sample, task_chunks
from benchmarks.retrieval import CachedEmbedder
from relaydesk.bot import answer, knowledge
from relaydesk.bot.policy import BotPolicy
from relaydesk.bot.prompt import Turn
from relaydesk.core.config import override_settings
from relaydesk.knowledge.retrieval import HybridIndex
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import onnx_folder

Row = dict[str, Any]


def _cited(reply: answer.Reply) -> str | None:
    return str(reply.citations[0]["entry_id"]) if reply.action == "answer" else None


def _top(reply: answer.Reply) -> str | None:
    return str(reply.related[0]["entry_id"]) if reply.related else None


async def record_task(
    task: FaqTask, index: HybridIndex, in_scope: int, out_of_scope: int
) -> list[Row]:
    source = knowledge.IndexSource()
    source.add_site(1, index, task_chunks(task))
    knowledge.set_source(source)
    answers = {e.answer: e.entry_id for e in task.entries}
    # dstc11-faq-open has fewer out-of-scope queries than the reported sample's 400.
    out_of_scope = min(out_of_scope, sum(x is None for x in task.expected))
    policy = BotPolicy()
    rows: list[Row] = []

    async def ask(question: str, history: list[Turn]) -> answer.Reply:
        reply = await answer.respond(
            None,  # type: ignore[arg-type]  # the in-memory source needs no database
            site_id=1, site_name="Bank", question=question, history=history, policy=policy,
        )  # fmt: skip
        assert reply is not None
        return reply

    try:
        sample = conversation_sample(task, in_scope=in_scope, out_of_scope=out_of_scope)
        for query, expected, earlier, earlier_answer in sample:
            before = await ask(earlier, [])
            alone = await ask(query, [])
            talk = await ask(query, [Turn("visitor", earlier), Turn("bot", earlier_answer)])
            rows.append(
                {
                    "task": task.name,
                    "query": query,
                    "expected": expected,
                    "earlier": earlier,
                    "earlier_entry": answers[earlier_answer],
                    "earlier_cited": _cited(before),
                    "earlier_confidence": before.confidence,
                    "alone_cited": _cited(alone),
                    "alone_confidence": alone.confidence,
                    "conv_cited": _cited(talk),
                    "conv_confidence": talk.confidence,
                    "conv_query": talk.query,
                    "context_used": talk.query != query,
                }
            )
    finally:
        knowledge.set_source(None)
    return rows


def figures(rows: Sequence[Row], cited: str) -> dict[str, Any]:
    inside = [r for r in rows if r["expected"] is not None]
    outside = [r for r in rows if r["expected"] is None]
    answered = [r for r in rows if r[cited] is not None]
    wrong = [r for r in answered if r[cited] != r["expected"]]
    return {
        "answered": len(answered),
        "wrong": len(wrong),
        "wrong_out_of_scope": sum(r["expected"] is None for r in wrong),
        "in_scope_answered_correctly": round(
            sum(r[cited] == r["expected"] for r in inside) / max(len(inside), 1), 4
        ),
        "wrong_among_answered": round(len(wrong) / max(len(answered), 1), 4),
        "out_of_scope_not_answered": round(
            sum(r[cited] is None for r in outside) / max(len(outside), 1), 4
        ),
    }


def gap(rows: Sequence[Row]) -> dict[str, Any]:
    """Both metrics on the same questions, and where the conversation differs."""
    changed = [r for r in rows if r["conv_cited"] != r["alone_cited"]]
    return {
        "in_conversation": figures(rows, "conv_cited"),
        "single_question": figures(rows, "alone_cited"),
        "differ": [
            {
                k: r[k]
                for k in (
                    "query", "expected", "earlier", "earlier_entry", "alone_cited",
                    "alone_confidence", "conv_cited", "conv_confidence", "conv_query",
                )
            }
            for r in changed
        ],
    }  # fmt: skip


def record(args: argparse.Namespace) -> None:
    folder = onnx_folder(args.model_dir)
    if folder is None:
        raise SystemExit(f"no all-MiniLM-L6-v2 ONNX model under {args.model_dir}")
    embedder = CachedEmbedder(OnnxMiniLMEmbedder(folder))
    if args.reported:
        tasks = [(banking77_faq(args.data_dir, open_set=True), 600, 400)]
    else:
        folds = banking77_open_dev_folds(args.data_dir, folds=6)[:3]
        tasks = [(t, 600, 400) for t in folds]
        tasks.append((dstc11_faq_open(args.data_dir), 600, 200))
    out: dict[str, Any] = {}

    async def run() -> None:
        with override_settings(llm_base_url=None):
            for task, inside, outside in tasks:
                index = HybridIndex(embedder)
                index.upsert(task_chunks(task))
                rows = await record_task(task, index, inside, outside)
                out[task.name] = rows
                args.out.write_text(json.dumps(out, indent=0, ensure_ascii=False))
                print(task.name, json.dumps(gap(rows)["in_conversation"]), flush=True)
                print(task.name, json.dumps(gap(rows)["single_question"]), flush=True)

    asyncio.run(run())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    rec.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR") or DEFAULT_MODEL_DIR),
    )
    rec.add_argument("--reported", action="store_true")
    rec.add_argument("--out", type=Path, required=True)
    ev = sub.add_parser("evaluate")
    ev.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args)
        return
    for path in args.files:
        data = json.loads(path.read_text())
        for name, rows in data.items():
            print(name, json.dumps(summary(rows), indent=1, ensure_ascii=False))


BARS = (0.86, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98)


def summary(rows: Sequence[Row]) -> dict[str, Any]:
    found = gap(rows)
    caused = [
        r
        for r in rows
        if r["conv_cited"] not in (None, r["expected"]) and r["alone_cited"] != r["conv_cited"]
    ]
    gained = [
        r
        for r in rows
        if r["conv_cited"] == r["expected"] is not None and r["alone_cited"] != r["expected"]
    ]
    inside = sum(r["expected"] is not None for r in rows)
    bars = {}
    for bar in BARS:
        said = [r for r in rows if r["alone_cited"] and r["alone_confidence"] >= bar]
        right = sum(r["alone_cited"] == r["expected"] for r in said)
        bars[str(bar)] = {
            "wrong_among_answered": round((len(said) - right) / max(len(said), 1), 4),
            "in_scope_answered_correctly": round(right / max(inside, 1), 4),
        }
    return {
        "in_conversation": found["in_conversation"],
        "single_question": found["single_question"],
        "wrong_caused_by_context": len(caused),
        "right_gained_from_context": len(gained),
        "differ": found["differ"],
        "single_question_at_higher_bars": bars,
    }


if __name__ == "__main__":
    main()
