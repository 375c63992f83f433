"""Retrieval benchmark: banking77-faq, bq-faq, atec-faq, banking77-faq-open through HybridIndex.

    python -m benchmarks.retrieval [--quick] [--data-dir DIR] [--model-dir DIR]
    python -m benchmarks.retrieval --fit-confidence   # refit confidence_models.json
    python -m benchmarks.retrieval --tune-fusion      # the dev-split grid behind fusion.py
    python -m benchmarks.retrieval --concurrent 4     # search latency over the real server
    python -m benchmarks.retrieval --cross-validate fusion confidence [--write]
                                   # choices made across datasets (_retrieval_cv.py)

Prints one JSON object. Tasks are built per datasets/README.md (benchmarks/_datasets.py).
Tuning only ever reads the dev split carved from train.csv, never test.csv.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._datasets import (
    FaqTask,
    atec_faq,
    banking77_dev_queries,
    banking77_faq,
    banking77_open_dev_folds,
    banking77_small_kb_folds,
    bq_faq,
)
from relaydesk.knowledge.retrieval import confidence, fusion
from relaydesk.knowledge.retrieval.chunks import Chunk, faq_entry_chunks
from relaydesk.knowledge.retrieval.confidence import DEFAULT_ANSWER_THRESHOLD, HitSignals
from relaydesk.knowledge.retrieval.dense import ChromaVectorStore
from relaydesk.knowledge.retrieval.embedding import Embedder, OnnxMiniLMEmbedder, Vectors
from relaydesk.knowledge.retrieval.index import HybridIndex, SearchMode
from relaydesk.knowledge.retrieval.model_files import onnx_folder

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO.parent / "shared" / "datasets"
DEFAULT_MODEL_DIR = REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2"
LATENCY_KB_CHUNKS = 10_000
LATENCY_QUERIES = 300
MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")
OPEN_DEV_FOLDS = 7


def task_chunks(task: FaqTask) -> list[Chunk]:
    return [
        chunk
        for entry in task.entries
        for chunk in faq_entry_chunks(
            entry.entry_id, title=entry.title, questions=entry.questions, answer=entry.answer
        )
    ]


def build_index(
    task: FaqTask, embedder: Embedder | None, *, cjk_ngrams: bool = True
) -> tuple[HybridIndex, float]:
    store = ChromaVectorStore.in_memory() if embedder is not None else None
    index = HybridIndex(embedder, store, cjk_ngrams=cjk_ngrams)
    started = time.perf_counter()
    index.upsert(task_chunks(task))
    return index, time.perf_counter() - started


def ranking_figures(
    index: HybridIndex, queries: Sequence[str], expected: Sequence[str | None], mode: SearchMode
) -> dict[str, float]:
    recall1 = recall5 = reciprocal = 0.0
    for query, right in zip(queries, expected, strict=True):
        ranked = [hit.entry_id for hit in index.search(query, 10, mode=mode)]
        if right in ranked:
            rank = ranked.index(right)
            recall1 += rank == 0
            recall5 += rank < 5
            reciprocal += 1.0 / (rank + 1)
    n = len(queries)
    return {
        "recall@1": round(recall1 / n, 4),
        "recall@5": round(recall5 / n, 4),
        "mrr@10": round(reciprocal / n, 4),
    }


# A smoke run (`--quick`) indexes this many entries of each task: embedding whole tasks
# is most of a full run's time and proves nothing more (figures from a subset are not
# comparable to the full task's). `--concurrent --quick` imports its tasks through two
# `relaydesk kb import` processes and a server, which embed and index them again: fewer.
QUICK_ENTRIES = 40
QUICK_CONCURRENT_ENTRIES = 20
QUICK_QUERIES = 50
QUICK_LATENCY_CHUNKS = 200
QUICK_LATENCY_QUERIES = 60


def smoke_subset(task: FaqTask, entries: int = QUICK_ENTRIES) -> FaqTask:
    """The task cut to its first `entries` entries and the queries that stay answerable
    (or out of scope) in it."""
    kept = task.entries[:entries]
    ids = {entry.entry_id for entry in kept}
    pairs = [
        (q, x) for q, x in zip(task.queries, task.expected, strict=True) if x is None or x in ids
    ]
    return replace(
        task, entries=kept, queries=[q for q, _ in pairs], expected=[x for _, x in pairs]
    )


def sample(task: FaqTask, limit: int | None) -> tuple[list[str], list[str | None]]:
    pairs = list(zip(task.queries, task.expected, strict=True))
    if limit is not None and limit < len(pairs):
        pairs = random.Random(13).sample(pairs, limit)
    return [q for q, _ in pairs], [x for _, x in pairs]


def closed_task(task: FaqTask, embedder: Embedder, limit: int | None) -> dict[str, Any]:
    index, build_seconds = build_index(task, embedder)
    queries, expected = sample(task, limit)
    result: dict[str, Any] = {
        "entries": len(task.entries),
        "chunks": index.chunk_count,
        "queries": len(queries),
        "index_build_seconds": round(build_seconds, 2),
    }
    for mode in MODES:
        result[mode] = ranking_figures(index, queries, expected, mode)
    if any("\u4e00" <= ch <= "\u9fff" for ch in "".join(queries[:20])):
        jieba_only, _ = build_index(task, None, cjk_ngrams=False)
        result["bm25_jieba_only"] = ranking_figures(jieba_only, queries, expected, "bm25")
    return result


def open_figures(
    index: HybridIndex,
    queries: Sequence[str],
    expected: Sequence[str | None],
    threshold: float,
) -> dict[str, float]:
    right = wrong = in_scope = out_of_scope = declined_out = 0
    for query, answer in zip(queries, expected, strict=True):
        hits = index.search(query, 1)
        answered = bool(hits) and hits[0].confidence >= threshold
        if answer is None:
            out_of_scope += 1
            declined_out += not answered
            wrong += answered
        else:
            in_scope += 1
            if answered and hits[0].entry_id == answer:
                right += 1
            elif answered:
                wrong += 1
    answered_total = right + wrong
    return {
        "in_scope_answered_correctly": round(right / max(in_scope, 1), 4),
        "wrong_among_answered": round(wrong / max(answered_total, 1), 4),
        "out_of_scope_not_answered": round(declined_out / max(out_of_scope, 1), 4),
    }


def latency_figures(
    data_dir: Path, embedder: Embedder, chunks: int, queries_count: int = LATENCY_QUERIES
) -> dict[str, Any]:
    """A synthetic knowledge base of `chunks` chunks: English and Chinese FAQ phrasings,
    searched with `queries_count` queries (half English, half Chinese)."""
    english = banking77_dev_queries(data_dir)
    chinese = bq_faq(data_dir)
    texts = [(q, "en") for q in english.queries] + [(e.title, "zh") for e in chinese.entries]
    random.Random(5).shuffle(texts)
    kb = [
        Chunk(f"c{n}", f"e{n // 4}", text, {"locale": locale}, group=f"g{n // 4}")
        for n, (text, locale) in enumerate(texts[:chunks])
    ]
    embed_started = time.perf_counter()
    embedder.embed([c.text for c in kb])
    embedding_rate = len(kb) / (time.perf_counter() - embed_started)

    index = HybridIndex(embedder, ChromaVectorStore.in_memory())
    build_started = time.perf_counter()
    index.upsert(kb)
    build_seconds = time.perf_counter() - build_started

    queries = (
        banking77_faq(data_dir).queries[: queries_count // 2]
        + chinese.queries[: queries_count // 2]
    )
    for query in queries[:10]:
        index.search(query, 5)
    timings = []
    for query in queries:
        started = time.perf_counter()
        index.search(query, 5)
        timings.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(timings, n=100)
    return {
        # Other work on this 2-core machine slows every figure here; rerun on a quiet one.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "chunks": index.chunk_count,
        "index_build_seconds": round(build_seconds, 2),
        "embedding_chunks_per_second": round(embedding_rate, 1),
        "search_ms_p50": round(cuts[49], 2),
        "search_ms_p95": round(cuts[94], 2),
    }


class CachedEmbedder:
    """Remembers vectors by text, so the many dev-fold indexes embed each text once.

    Only for fitting and ranking figures; latency figures use the real embedder.
    """

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self._cache: dict[str, Any] = {}

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def multilingual(self) -> bool:
        return self._inner.multilingual

    def warm(self, texts: Sequence[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        self._cache.update(zip(missing, self._inner.embed(missing), strict=True))

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.warm(texts)
        return np.vstack([self._cache[t] for t in texts]) if texts else self._inner.embed([])


def open_dev_rows(
    folds: Sequence[FaqTask], embedder: Embedder | None
) -> list[tuple[HitSignals, bool, bool]]:
    """(signals of the top hit, top hit right, query in scope) for every fold query."""
    rows: list[tuple[HitSignals, bool, bool]] = []
    for fold in folds:
        index, _ = build_index(fold, embedder)
        for query, answer in zip(fold.queries, fold.expected, strict=True):
            top = index.search_with_signals(query, 1)
            if top:
                hit, signals = top[0]
                rows.append((signals, hit.entry_id == answer, answer is not None))
    return rows


def fit_confidence(
    data_dir: Path, embedder: Embedder, limit: int | None, *, write: bool
) -> dict[str, Any]:
    """Fit both confidence models on the open dev folds and tabulate thresholds.

    Seven folds each leave a seventh of the 67 intents that are not the test task's
    out-of-scope ones out of the knowledge base, so about 14% of the dev queries are out
    of scope, as in banking77-faq-open (10 of 77 intents).
    """
    folds = banking77_open_dev_folds(data_dir, folds=OPEN_DEV_FOLDS, limit=limit)
    small = banking77_small_kb_folds(data_dir)
    cached = CachedEmbedder(embedder)
    cached.warm(folds[0].queries + [c.text for c in task_chunks(banking77_faq(data_dir))])
    fitted: dict[str, Any] = {}
    models: dict[str, Any] = {
        "_about": "written by python -m benchmarks.retrieval --fit-confidence; see confidence.py"
    }
    for name, model_embedder in (("hybrid", cached), ("lexical", None)):
        rows = open_dev_rows(folds, model_embedder)
        small_rows = open_dev_rows(small, model_embedder)
        everything = rows + small_rows
        model = confidence.fit([r[0] for r in everything], [r[1] for r in everything])
        models[name] = model.to_json()
        # Thresholds are read off the large folds, which are shaped like the test task.
        scored = [(model(s), ok, scope) for s, ok, scope in rows]
        table = threshold_table(scored)
        small_scored = [(model(s), ok, scope) for s, ok, scope in small_rows]
        fitted[name] = {
            "rows": len(rows),
            "small_kb_rows": len(small_rows),
            "small_kb_thresholds": [
                row for row in threshold_table(small_scored) if row["threshold"] in (0.8, 0.85, 0.9)
            ],
            "out_of_scope_share": round(sum(not r[2] for r in rows) / len(rows), 4),
            "threshold_at_3pct_wrong": next(
                (row["threshold"] for row in table if row["wrong_among_answered"] <= 0.03), None
            ),
            "thresholds": table,
        }
    if write:
        confidence.MODELS_FILE.write_text(json.dumps(models, indent=1) + "\n")
        fitted["written"] = str(confidence.MODELS_FILE)
    return fitted


def threshold_table(scored: Sequence[tuple[float, bool, bool]]) -> list[dict[str, float]]:
    in_scope = sum(scope for _, _, scope in scored)
    out_scope = len(scored) - in_scope
    table = []
    for step in range(40, 96):
        threshold = step / 100
        answered = [(ok, scope) for p, ok, scope in scored if p >= threshold]
        right = sum(ok for ok, _ in answered)
        table.append(
            {
                "threshold": threshold,
                "in_scope_answered_correctly": round(right / max(in_scope, 1), 4),
                "wrong_among_answered": round(1 - right / max(len(answered), 1), 4),
                "out_of_scope_not_answered": round(
                    1 - sum(not scope for _, scope in answered) / max(out_scope, 1), 4
                ),
            }
        )
    return table


def tune_fusion(data_dir: Path, embedder: Embedder, limit: int | None) -> list[dict[str, Any]]:
    dev = banking77_dev_queries(data_dir, limit=limit)
    index, _ = build_index(dev, embedder)
    grid = []
    for max_weight in (0.3, 0.4, 0.5, 0.6, 1.0):
        for lexical_weight in (0.0, 0.05, 0.1, 0.15, 0.2):
            fusion.PHRASING_MAX_WEIGHT, fusion.LEXICAL_WEIGHT = max_weight, lexical_weight
            figures = ranking_figures(index, dev.queries, dev.expected, "hybrid")
            grid.append(
                {"phrasing_max_weight": max_weight, "lexical_weight": lexical_weight, **figures}
            )
    return sorted(grid, key=lambda row: (-row["recall@1"], -row["mrr@10"]))


CONCURRENT_QUERIES = 200


def concurrent_report(args: argparse.Namespace) -> dict[str, Any]:
    """`--concurrent N`: the FAQ tasks' search latency over HTTP (_concurrent_search.py)."""
    from benchmarks._concurrent_search import concurrent_figures

    if args.concurrent < 1 or args.runs < 1:
        sys.exit("--concurrent and --runs must be at least 1")
    tasks = [banking77_faq(args.data_dir), bq_faq(args.data_dir)]
    if args.quick:
        tasks = [smoke_subset(task, QUICK_CONCURRENT_ENTRIES) for task in tasks]
    limit = 10 if args.quick else CONCURRENT_QUERIES
    samples = {task.name: sample(task, limit) for task in tasks}
    started = time.perf_counter()
    report: dict[str, Any] = {
        "quick": args.quick,
        "mode": f"concurrent: 1 and {args.concurrent} clients over HTTP, {args.runs} runs",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        **concurrent_figures(tasks, samples, args.concurrent, args.runs),
    }
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="subsample for a smoke run")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR") or DEFAULT_MODEL_DIR),
    )
    parser.add_argument("--fit-confidence", action="store_true")
    parser.add_argument("--tune-fusion", action="store_true")
    parser.add_argument(
        "--concurrent",
        type=int,
        metavar="N",
        help="search latency over the real server with 1 and N concurrent clients",
    )
    parser.add_argument("--runs", type=int, default=3, help="repetitions (--concurrent)")
    parser.add_argument(
        "--cross-validate",
        nargs="+",
        choices=("fusion", "confidence", "english-check"),
        help="leave-one-dataset-out choices and their held-out figures (_retrieval_cv.py)",
    )
    parser.add_argument("--write", action="store_true", help="ship the cross-validated model")
    args = parser.parse_args(argv)
    if args.cross_validate:
        from benchmarks._retrieval_cv import main as cross_validate

        cross_validate(
            [f"--{choice}" for choice in args.cross_validate]
            + ["--data-dir", str(args.data_dir), "--model-dir", str(args.model_dir)]
            + (["--write"] if args.write else [])
            + (["--quick"] if args.quick else [])
        )
        return
    if args.concurrent:
        print(json.dumps(concurrent_report(args), indent=2, ensure_ascii=False))
        return

    model_dir = onnx_folder(args.model_dir)
    if model_dir is None:
        sys.exit(f"no all-MiniLM-L6-v2 ONNX model under {args.model_dir}")
    embedder = OnnxMiniLMEmbedder(model_dir)
    limit = QUICK_QUERIES if args.quick else None

    if args.fit_confidence:
        print(
            json.dumps(
                fit_confidence(
                    args.data_dir,
                    embedder,
                    1000 if args.quick else None,
                    # A quick fit is a smoke test: it never replaces the shipped models.
                    write=not args.quick,
                ),
                indent=2,
            )
        )
        return
    if args.tune_fusion:
        print(
            json.dumps(tune_fusion(args.data_dir, embedder, 1000 if args.quick else None), indent=2)
        )
        return

    started = time.perf_counter()
    report: dict[str, Any] = {
        "quick": args.quick,
        "protocol": (
            "tasks per datasets/README.md; every method below is the product's HybridIndex "
            "(hybrid, bm25-only, dense-only) in the same run; fusion weights, tokenisation "
            "and confidence were chosen on banking77 train.csv rows that are not phrasings "
            "(never test.csv); bq-faq has no training side, so its tokenisation was compared "
            "on its odd and even query halves separately and kept only where both agreed; "
            "the CJK sentence-channel weight and the CJK confidence model were chosen "
            "leave-one-dataset-out across banking77 dev, bq-faq and atec-faq "
            "(--cross-validate, docs/retrieval.md)"
        ),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    for name, build in (("banking77-faq", banking77_faq), ("bq-faq", bq_faq),
                        ("atec-faq", atec_faq)):  # fmt: skip
        task = build(args.data_dir)
        report[name] = closed_task(smoke_subset(task) if args.quick else task, embedder, limit)
    open_task = banking77_faq(args.data_dir, open_set=True)
    if args.quick:
        open_task = smoke_subset(open_task)
    open_index, _ = build_index(open_task, embedder)
    queries, expected = sample(open_task, limit)
    report["banking77-faq-open"] = {
        "threshold": DEFAULT_ANSWER_THRESHOLD,
        **open_figures(open_index, queries, expected, DEFAULT_ANSWER_THRESHOLD),
    }
    report["latency"] = (
        latency_figures(args.data_dir, embedder, QUICK_LATENCY_CHUNKS, QUICK_LATENCY_QUERIES)
        if args.quick
        else latency_figures(args.data_dir, embedder, LATENCY_KB_CHUNKS)
    )
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
