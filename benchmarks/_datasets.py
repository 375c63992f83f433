"""FAQ-retrieval tasks built from the public datasets, exactly per datasets/README.md.

Shared by the retrieval and bot benchmarks so their figures compare.
"""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PHRASINGS_PER_INTENT = 5
OPEN_TASK_LEFT_OUT_INTENTS = 10


@dataclass(frozen=True)
class FaqEntry:
    entry_id: str
    title: str
    answer: str
    questions: tuple[str, ...]


@dataclass(frozen=True)
class FaqTask:
    name: str
    entries: list[FaqEntry]
    queries: list[str]
    # The right entry of each query; None means out of scope (the right move is not to answer).
    expected: list[str | None]


def _read_csv(path: Path) -> list[dict[str, str]]:
    # bq_corpus/dev.csv starts with a byte-order mark.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _intent_title(intent: str) -> str:
    return intent.replace("_", " ")


def _banking77_entries(data_dir: Path) -> tuple[list[FaqEntry], set[str]]:
    """Entries in first-appearance order, and the train texts used as phrasings."""
    phrasings: dict[str, list[str]] = defaultdict(list)
    for row in _read_csv(data_dir / "banking77" / "train.csv"):
        texts = phrasings[row["category"]]
        if len(texts) < PHRASINGS_PER_INTENT:
            texts.append(row["text"])
    entries = [
        FaqEntry(intent, _intent_title(intent), _intent_title(intent), tuple(texts))
        for intent, texts in phrasings.items()
    ]
    used = {text for texts in phrasings.values() for text in texts}
    return entries, used


def _left_out_intents(data_dir: Path) -> list[str]:
    categories: list[str] = json.loads((data_dir / "banking77" / "categories.json").read_text())
    return categories[-OPEN_TASK_LEFT_OUT_INTENTS:]


def banking77_faq(data_dir: Path, *, open_set: bool = False) -> FaqTask:
    """banking77-faq, or banking77-faq-open (last 10 intents left out, out of scope)."""
    entries, _ = _banking77_entries(data_dir)
    left_out = set(_left_out_intents(data_dir)) if open_set else set()
    rows = _read_csv(data_dir / "banking77" / "test.csv")
    return FaqTask(
        name="banking77-faq-open" if open_set else "banking77-faq",
        entries=[e for e in entries if e.entry_id not in left_out],
        queries=[row["text"] for row in rows],
        expected=[None if row["category"] in left_out else row["category"] for row in rows],
    )


def banking77_dev_queries(data_dir: Path, *, limit: int | None = None, seed: int = 7) -> FaqTask:
    """Tuning queries: train.csv rows that are not phrasings (test.csv is never tuned on)."""
    entries, used = _banking77_entries(data_dir)
    rows = [r for r in _read_csv(data_dir / "banking77" / "train.csv") if r["text"] not in used]
    if limit is not None and limit < len(rows):
        rows = random.Random(seed).sample(rows, limit)
    return FaqTask(
        name="banking77-faq-dev",
        entries=entries,
        queries=[row["text"] for row in rows],
        expected=[row["category"] for row in rows],
    )


def banking77_open_dev_folds(
    data_dir: Path, *, folds: int = 6, limit: int | None = None, seed: int = 7
) -> list[FaqTask]:
    """Open-set tuning tasks that never touch the test task's out-of-scope intents.

    The test task's 10 left-out intents are dropped entirely; each fold leaves out a
    different group of the remaining intents from the knowledge base and treats their
    dev queries as out of scope.
    """
    dev = banking77_dev_queries(data_dir, limit=limit, seed=seed)
    hidden = set(_left_out_intents(data_dir))
    intents = [e.entry_id for e in dev.entries if e.entry_id not in hidden]
    random.Random(seed).shuffle(intents)
    tasks = []
    for fold in range(folds):
        left_out = set(intents[fold::folds])
        kept = [e for e in dev.entries if e.entry_id not in hidden | left_out]
        pairs = [(q, x) for q, x in zip(dev.queries, dev.expected, strict=True) if x not in hidden]
        tasks.append(
            FaqTask(
                name=f"banking77-faq-open-dev-{fold}",
                entries=kept,
                queries=[q for q, _ in pairs],
                expected=[None if x in left_out else x for _, x in pairs],
            )
        )
    return tasks


def banking77_small_kb_folds(
    data_dir: Path,
    *,
    sizes: tuple[int, ...] = (3, 6, 12, 24),
    repeats: int = 2,
    out_of_scope: int = 600,
    seed: int = 11,
) -> list[FaqTask]:
    """Open-set tuning tasks with small knowledge bases (a few entries, as on a new site).

    Each keeps `size` random intents (never the test task's 10 out-of-scope ones) with all
    their dev queries in scope, plus `out_of_scope` dev queries of other intents.
    """
    dev = banking77_dev_queries(data_dir)
    hidden = set(_left_out_intents(data_dir))
    intents = [e.entry_id for e in dev.entries if e.entry_id not in hidden]
    pairs = [(q, x) for q, x in zip(dev.queries, dev.expected, strict=True) if x not in hidden]
    rng = random.Random(seed)
    tasks = []
    for size in sizes:
        for repeat in range(repeats):
            kept = set(rng.sample(intents, size))
            inside = [(q, x) for q, x in pairs if x in kept]
            outside = rng.sample([(q, x) for q, x in pairs if x not in kept], out_of_scope)
            chosen = inside + outside
            tasks.append(
                FaqTask(
                    name=f"banking77-small-{size}-{repeat}",
                    entries=[e for e in dev.entries if e.entry_id in kept],
                    queries=[q for q, _ in chosen],
                    expected=[x if x in kept else None for _, x in chosen],
                )
            )
    return tasks


def bq_faq(data_dir: Path) -> FaqTask:
    return _pair_faq("bq-faq", _read_csv(data_dir / "bq_corpus" / "dev.csv"), "bq")


def atec_faq(data_dir: Path) -> FaqTask:
    """atec-faq: built from atec_ccks/dev.csv exactly as bq-faq is from its file
    (tab-separated `text_1, text_2, label`; text_1 = sentence1, text_2 = sentence2)."""
    with (data_dir / "atec_ccks" / "dev.csv").open(encoding="utf-8-sig", newline="") as handle:
        raw = list(csv.DictReader(handle, delimiter="\t"))
    rows = [{"sentence1": r["text_1"], "sentence2": r["text_2"], "label": r["label"]} for r in raw]
    return _pair_faq("atec-faq", rows, "atec")


def _pair_faq(name: str, rows: list[dict[str, str]], prefix: str) -> FaqTask:
    positive_queries = {r["sentence1"] for r in rows if r["label"] == "1"}
    kb_texts: dict[str, None] = {}
    for row in rows:
        text = row["sentence2"]
        if text not in positive_queries:
            kb_texts.setdefault(text)
    ids = {text: f"{prefix}-{n}" for n, text in enumerate(kb_texts)}
    entries = [FaqEntry(ids[t], t, t, (t,)) for t in kb_texts]
    positives = [r for r in rows if r["label"] == "1" and r["sentence2"] in ids]
    return FaqTask(
        name=name,
        entries=entries,
        queries=[r["sentence1"] for r in positives],
        expected=[ids[r["sentence2"]] for r in positives],
    )
