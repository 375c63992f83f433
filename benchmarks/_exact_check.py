"""What the exact-phrasing rule (relaydesk/knowledge/retrieval/exact.py) changes on the dev
tasks: the queries that are, word for word, a phrasing exactly one entry lists, and how
each is answered with the rule and without it (top hit at or above the default bar).

    python -m benchmarks._exact_check [--data-dir DIR]

Dev data only (banking77 dev folds 0-1, dstc11-faq-open, bq-faq, atec-faq); banking77's
test task is scored by `python -m benchmarks.bot`. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks._datasets import FaqTask, atec_faq, banking77_open_dev_folds, bq_faq
from benchmarks._retrieval_cv import dstc11_faq_open
from benchmarks.bot import DEFAULT_DATA_DIR, DEFAULT_MODEL_DIR, task_chunks
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD, HybridIndex, exact
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import onnx_folder


def _answered(index: HybridIndex, query: str) -> tuple[str | None, str | None]:
    """The entry the bot would answer with (None: not sure), and the first-ranked one."""
    hits = index.search(query, 1)
    if not hits:
        return None, None
    top = hits[0]
    return (top.entry_id if top.confidence >= DEFAULT_ANSWER_THRESHOLD else None), top.entry_id


def check(task: FaqTask, model_dir: Path) -> dict[str, Any]:
    chunks = task_chunks(task)
    table = exact.phrasing_table(chunks)  # which keys are listed, and by one entry or two
    found = [
        (q, x)
        for q, x in zip(task.queries, task.expected, strict=True)
        if exact.phrasing_key(q) in table
    ]
    shared = sum(table[exact.phrasing_key(q)] == exact.SHARED for q, _ in found)
    result: dict[str, Any] = {"queries": len(task.queries), "exact": len(found), "shared": shared}
    if len(found) == shared:
        return {**result, "right": 0, "wrong": 0, "changed": []}
    index = HybridIndex(OnnxMiniLMEmbedder(model_dir))
    index.upsert(chunks)
    rows = []
    for query, expected in found:
        after, first_after = _answered(index, query)
        with mock.patch.object(exact, "lookup", lambda table, query: exact.SHARED):
            before, first_before = _answered(index, query)
        rows.append(
            {
                "q": query,
                "expected": expected,
                "before": before,
                "after": after,
                "first_before": first_before,
                "first_after": first_after,
            }
        )
    result["right"] = sum(r["after"] == r["expected"] for r in rows)
    result["wrong"] = sum(r["after"] is not None and r["after"] != r["expected"] for r in rows)
    result["right_before"] = sum(r["before"] == r["expected"] for r in rows)
    result["wrong_before"] = sum(
        r["before"] is not None and r["before"] != r["expected"] for r in rows
    )
    # Recall@1 (the retrieval benchmarks) changes only where the first-ranked entry does.
    result["first_changed"] = sum(r["first_before"] != r["first_after"] for r in rows)
    result["changed"] = [r for r in rows if r["before"] != r["after"]]
    result["wrong_cases"] = [r for r in rows if r["after"] not in (None, r["expected"])]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--only", nargs="*", help="task names (default: all)")
    args = parser.parse_args()
    model_dir = onnx_folder(
        Path(os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR") or DEFAULT_MODEL_DIR)
    )
    assert model_dir is not None
    tasks = [*banking77_open_dev_folds(args.data_dir)[:2], dstc11_faq_open(args.data_dir)]
    tasks += [bq_faq(args.data_dir), atec_faq(args.data_dir)]
    tasks = [t for t in tasks if not args.only or t.name in args.only]
    out = {task.name: check(task, model_dir) for task in tasks}
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
