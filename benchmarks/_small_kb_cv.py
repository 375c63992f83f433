"""The hybrid confidence's answer bar by knowledge-base size, leave-one-dataset-out.

    python -m benchmarks._small_kb_cv [--limit 600]

Open-set folds of two English dev datasets, through the product's HybridIndex:
- banking77: the confidence model's fitting folds (benchmarks/retrieval.py
  --fit-confidence): 7 large folds (57-58 entries, `--limit` dev queries each) and the
  small-knowledge-base folds (3, 6, 12, 24 intents, all their dev queries, `limit // 5`
  out-of-scope ones). train.csv rows that are not phrasings; never test.csv.
- dstc11 (development.jsonl, 22 intents; the model never saw it): knowledge bases of 3, 6,
  12 and 19 random intents with 3, 5 or 9 random utterances of each as phrasings, twice
  each; their other utterances in scope, and other intents' utterances out of scope at
  14% (at least 10), as in banking77-faq-open.

For each dataset and size, the lowest threshold (steps of 0.005) with at most 4% wrong
among answered and at least 93% of out-of-scope questions declined; each dataset's
choice for 3 and 6 entries is then scored on the other one. confidence.SMALL_KB_THRESHOLDS
keeps the higher of the two (docs/retrieval.md has the figures). Takes about 2-5 minutes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._datasets import (
    FaqEntry,
    FaqTask,
    banking77_faq,
    banking77_open_dev_folds,
    banking77_small_kb_folds,
)
from benchmarks.retrieval import CachedEmbedder, task_chunks
from relaydesk.knowledge.retrieval import HybridIndex
from relaydesk.knowledge.retrieval.confidence import HYBRID_MODEL, HitSignals
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import onnx_folder

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO.parent / "shared" / "datasets"
DSTC11_SIZES = (3, 6, 12, 19)
DSTC11_PHRASINGS = (3, 5, 9)
WRONG_BUDGET = 0.04
OUT_OF_SCOPE_DECLINED = 0.93
CHOSEN_SIZES = (3, 6)

Row = tuple[HitSignals, bool, bool]  # (top hit's signals, right, in scope)


def dstc11_folds(data_dir: Path, seed: int = 5) -> list[FaqTask]:
    lines = (data_dir / "dstc11" / "development.jsonl").read_text().splitlines()
    by_intent: dict[str, list[str]] = defaultdict(list)
    for line in lines:
        if line.strip():
            row = json.loads(line)
            by_intent[row["intent"]].append(row["utterance"])
    intents = list(by_intent)
    rng = random.Random(seed)
    folds = []
    for phrasings in DSTC11_PHRASINGS:
        for size in DSTC11_SIZES:
            for repeat in range(2):
                kept = set(rng.sample(intents, size))
                entries, inside, outside = [], [], []
                for intent in intents:
                    texts = by_intent[intent][:]
                    rng.shuffle(texts)
                    if intent in kept:
                        name = re.sub(r"(?<!^)(?=[A-Z])", " ", intent).lower()
                        entries.append(FaqEntry(intent, name, name, tuple(texts[:phrasings])))
                        inside += [(t, intent) for t in texts[phrasings:]]
                    else:
                        outside += [(t, None) for t in texts[phrasings:]]
                wanted = max(10, round(len(inside) * 0.14 / 0.86))
                pairs = inside + rng.sample(outside, min(wanted, len(outside)))
                folds.append(
                    FaqTask(
                        f"dstc11-{phrasings}-{size}-{repeat}",
                        entries,
                        [q for q, _ in pairs],
                        [x for _, x in pairs],
                    )
                )
    return folds


def fold_rows(folds: Sequence[FaqTask], embedder: CachedEmbedder) -> dict[int, list[Row]]:
    """Rows by knowledge-base size."""
    rows: dict[int, list[Row]] = defaultdict(list)
    for fold in folds:
        index = HybridIndex(embedder, cjk_encoder=None)
        index.upsert(task_chunks(fold))
        for query, expected in zip(fold.queries, fold.expected, strict=True):
            top = index.search_with_signals(query, 1)
            if top:
                hit, signals = top[0]
                rows[len(fold.entries)].append(
                    (signals, hit.entry_id == expected, expected is not None)
                )
    return rows


Scored = tuple[np.ndarray, np.ndarray, np.ndarray]


def scored(rows: Sequence[Row]) -> Scored:
    # The model's own confidence, before the size shift this script chooses.
    return (
        np.array([HYBRID_MODEL(s) for s, _, _ in rows]),
        np.array([ok for _, ok, _ in rows]),
        np.array([scope for _, _, scope in rows]),
    )


def figures_at(data: Scored, threshold: float) -> dict[str, float]:
    p, ok, scope = data
    answered = p >= threshold
    return {
        "threshold": threshold,
        "in_scope_answered_correctly": round(float((answered & ok).sum() / scope.sum()), 4),
        "wrong_among_answered": round(float((answered & ~ok).sum() / max(answered.sum(), 1)), 4),
        "out_of_scope_not_answered": round(
            float((~answered & ~scope).sum() / max((~scope).sum(), 1)), 4
        ),
    }


def choose(data: Scored) -> float:
    for step in range(60, 200):
        threshold = step / 200
        f = figures_at(data, threshold)
        if (
            f["wrong_among_answered"] <= WRONG_BUDGET
            and f["out_of_scope_not_answered"] >= OUT_OF_SCOPE_DECLINED
        ):
            return threshold
    return 0.995


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--model-dir", type=Path, default=DEFAULT_DATA_DIR.parent / "models" / "all-MiniLM-L6-v2"
    )
    parser.add_argument("--limit", type=int, default=600, help="dev queries per large fold")
    args = parser.parse_args(argv)
    folder = onnx_folder(args.model_dir)
    if folder is None:
        raise SystemExit(f"no all-MiniLM-L6-v2 ONNX model under {args.model_dir}")
    embedder = CachedEmbedder(OnnxMiniLMEmbedder(folder))
    large = banking77_open_dev_folds(args.data_dir, folds=7, limit=args.limit)
    embedder.warm(large[0].queries + [c.text for c in task_chunks(banking77_faq(args.data_dir))])
    small = banking77_small_kb_folds(args.data_dir, out_of_scope=args.limit // 5)
    datasets = {
        "banking77": fold_rows([*large, *small], embedder),
        "dstc11": fold_rows(dstc11_folds(args.data_dir), embedder),
    }
    data = {
        name: {n: scored(rows) for n, rows in by_size.items()} for name, by_size in datasets.items()
    }
    report: dict[str, Any] = {"by_size": {}, "held_out": {}}
    chosen: dict[str, dict[int, float]] = {}
    for name, by_size in data.items():
        report["by_size"][name] = {
            n: {
                "rows": len(d[0]),
                "chosen": figures_at(d, choose(d)),
                "at_0.86": figures_at(d, 0.86),
            }
            for n, d in sorted(by_size.items())
        }
        chosen[name] = {n: choose(by_size[n]) for n in CHOSEN_SIZES}
    for name, other in (("banking77", "dstc11"), ("dstc11", "banking77")):
        report["held_out"][f"chosen on {name}, scored on {other}"] = {
            n: figures_at(data[other][n], chosen[name][n]) for n in CHOSEN_SIZES
        }
    report["shipped"] = {n: max(chosen["banking77"][n], chosen["dstc11"][n]) for n in CHOSEN_SIZES}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
