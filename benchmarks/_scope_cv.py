"""Would an out-of-scope check after the confidence bar help? (docs/retrieval.md, section 5)

    python -m benchmarks._scope_cv [--data-dir DIR] [--model-dir DIR] [--limit N]

Dev data only: banking77 dev folds 0-2 (`banking77_open_dev_folds`, train.csv rows that are
not phrasings) and dstc11-faq-open. Never the reported banking77 test sample, never
followups.jsonl / demo_kb.jsonl.

For every query the index answers (top confidence >= DEFAULT_ANSWER_THRESHOLD), it records
the top entry and candidate "is this query an outlier for the entry?" features, then for
each candidate rule "decline when feature < t" chooses t on all dev sets but one and reports
what it does on the one left out (answered correctly lost, wrong answers removed):

- dense, per-entry adaptive: the query's best phrasing cosine (or centroid cosine) minus
  the entry's own phrasing spread (each phrasing's cosine to its nearest other phrasing,
  or to the centroid), or their ratio;
- lexical: the share of the query's content words found in none of the entry's phrasings
  or its title;
- polarity: the entry's phrasings mostly say something failed (not/unable/declined...)
  and the query does not;
- all of the above and the confidence in one logistic model, at the operating point that
  costs at most 0.5% of the right answers on the training sets.

Two choices of t: utility right - 4 x wrong (a wrong answer costs four right ones), and
"at most 0.5% of right answers lost" on the training sets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._datasets import banking77_open_dev_folds
from benchmarks._retrieval_cv import dstc11_faq_open
from benchmarks.bot import DEFAULT_DATA_DIR, DEFAULT_MODEL_DIR, task_chunks
from benchmarks.retrieval import CachedEmbedder
from relaydesk.knowledge.retrieval import DEFAULT_ANSWER_THRESHOLD, HybridIndex
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import onnx_folder

Row = dict[str, Any]
_STOP_WORDS = (
    "i me my we our you your he she it its they them a an the is are was were be been "
    "being am do does did have has had having can could would should will shall may might "
    "must to of in on at by for with from about as into over after before up down out off "
    "so if or and but not no than then there here this that these those what which who "
    "whom whose when where why how all any some more most other such only own same too "
    "very just also get got want need please help hi hello thanks thank im i'm dont don't "
    "cant can't"
)
STOP = set(_STOP_WORDS.split())
FAILED = re.compile(
    r"\b(not|no|never|unable|cannot|can't|cant|won't|wont|didn't|didnt|doesn't|doesnt|"
    r"isn't|isnt|hasn't|hasnt|haven't|havent|wasn't|wasnt|failed|fail|fails|failing|"
    r"declined|rejected|wrong|problem|issue|trouble|error)\b|n't\b",
    re.I,
)


def _words(text: str) -> set[str]:
    return {
        re.sub(r"(ing|ed|es|s)$", "", w)
        for w in re.findall(r"[a-z']+", text.lower())
        if w not in STOP and len(w) > 2
    }


def answered_rows(data_dir: Path, model_dir: Path, limit: int) -> list[Row]:
    folder = onnx_folder(model_dir)
    if folder is None:
        raise SystemExit(f"no all-MiniLM-L6-v2 ONNX model under {model_dir}")
    embedder = CachedEmbedder(OnnxMiniLMEmbedder(folder))
    tasks = banking77_open_dev_folds(data_dir, folds=6, limit=limit)[:3]
    tasks.append(dstc11_faq_open(data_dir))
    rows: list[Row] = []
    for task in tasks:
        index = HybridIndex(embedder)
        index.upsert(task_chunks(task))
        entries = {e.entry_id: e for e in task.entries}
        # The intent neighbourhood: every entry's normalised phrasings and centroid, so a
        # query can be placed against the winner's neighbours as well as the winner.
        ids = [e.entry_id for e in task.entries]
        clusters = []
        for e in task.entries:
            vecs = np.array(embedder.embed(list(e.questions)))
            clusters.append(vecs / np.linalg.norm(vecs, axis=1, keepdims=True))
        centroids = np.array([c.mean(axis=0) for c in clusters])
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        for query, expected in zip(task.queries, task.expected, strict=True):
            found = index.search_with_signals(query, 1)
            if not found or found[0][0].confidence < DEFAULT_ANSWER_THRESHOLD:
                continue
            hit, signals = found[0]
            entry = entries[hit.entry_id]
            phrasings = np.array(embedder.embed(list(entry.questions)))
            q = np.array(embedder.embed([query])[0])
            phrasings /= np.linalg.norm(phrasings, axis=1, keepdims=True)
            q /= np.linalg.norm(q)
            mutual = phrasings @ phrasings.T
            np.fill_diagonal(mutual, -1.0)
            nearest_other = mutual.max(axis=1)
            centroid = phrasings.mean(axis=0)
            centroid /= np.linalg.norm(centroid)
            to_centroid = phrasings @ centroid
            own = _words(query)
            at = ids.index(hit.entry_id)
            to_centroids = centroids @ q
            best_each = np.array([float((c @ q).max()) for c in clusters])
            others = np.delete(np.arange(len(ids)), at)
            known = set().union(*(_words(p) for p in entry.questions)) | _words(entry.title)
            failed = np.mean([bool(FAILED.search(p)) for p in entry.questions])
            rows.append(
                {
                    "task": task.name,
                    "ok": hit.entry_id == expected,
                    "confidence": hit.confidence,
                    "coverage": signals.coverage,
                    "best_phrasing": float((phrasings @ q).max()),
                    "to_centroid": float(centroid @ q),
                    "spread_nearest_min": float(nearest_other.min()),
                    "spread_nearest_mean": float(nearest_other.mean()),
                    "spread_centroid_min": float(to_centroid.min()),
                    "spread_centroid_mean": float(to_centroid.mean()),
                    "unmatched_share": len(own - known) / max(len(own), 1),
                    "polarity_mismatch": float(failed >= 0.8 and not FAILED.search(query)),
                    "centroid_margin": float(to_centroids[at] - to_centroids[others].max()),
                    "phrasing_margin": float(best_each[at] - best_each[others].max()),
                }
            )
    return rows


RULES: dict[str, Callable[[Row], float]] = {
    "best phrasing - min nearest-phrasing spread": lambda r: (
        r["best_phrasing"] - r["spread_nearest_min"]
    ),
    "best phrasing / mean nearest-phrasing spread": lambda r: (
        r["best_phrasing"] / r["spread_nearest_mean"]
    ),
    "centroid - min phrasing-centroid spread": lambda r: (
        r["to_centroid"] - r["spread_centroid_min"]
    ),
    "centroid - mean phrasing-centroid spread": lambda r: (
        r["to_centroid"] - r["spread_centroid_mean"]
    ),
    "best phrasing (absolute)": lambda r: r["best_phrasing"],
    "unmatched content words (share, negated)": lambda r: -r["unmatched_share"],
    "polarity mismatch (negated)": lambda r: -r["polarity_mismatch"],
    "neighbourhood: centroid lead over the nearest other entry": lambda r: r["centroid_margin"],
    "neighbourhood: best-phrasing lead over the nearest other entry": lambda r: r[
        "phrasing_margin"
    ],
}
FEATURES = (
    "confidence",
    "coverage",
    "best_phrasing",
    "to_centroid",
    "spread_nearest_min",
    "spread_nearest_mean",
    "spread_centroid_min",
    "spread_centroid_mean",
    "unmatched_share",
    "polarity_mismatch",
    "centroid_margin",
    "phrasing_margin",
)


def _effect(rows: Sequence[Row], cut: Sequence[bool]) -> dict[str, Any]:
    answered = len(rows)
    wrong = sum(not r["ok"] for r in rows)
    lost = sum(r["ok"] for r, c in zip(rows, cut, strict=True) if c)
    removed = sum(not r["ok"] for r, c in zip(rows, cut, strict=True) if c)
    kept = answered - lost - removed
    return {
        "right_lost": lost,
        "wrong_removed": removed,
        "wrong_among_answered": [
            round(wrong / max(answered, 1), 4),
            round((wrong - removed) / max(kept, 1), 4),
        ],
    }


def _choose(scores: Sequence[float], rows: Sequence[Row], objective: str) -> float:
    """Decline below the returned t (-inf: the rule off)."""
    candidates = [-np.inf, *np.quantile(scores, np.linspace(0.002, 0.15, 60))]
    right = sum(r["ok"] for r in rows)

    def effect(t: float) -> tuple[int, int]:
        e = _effect(rows, [s < t for s in scores])
        return e["right_lost"], e["wrong_removed"]

    if objective == "utility":
        return float(max(candidates, key=lambda t: 4 * effect(t)[1] - effect(t)[0]))
    allowed = [t for t in candidates if effect(t)[0] <= 0.005 * right]
    return float(max(allowed, key=lambda t: (effect(t)[1], -t)))


def _logistic(train: Sequence[Row]) -> Callable[[Sequence[Row]], np.ndarray]:
    a = np.array([[r[f] for f in FEATURES] for r in train], dtype=float)
    y = np.array([not r["ok"] for r in train], dtype=float)
    mu, sd = a.mean(axis=0), a.std(axis=0) + 1e-9
    z = np.c_[(a - mu) / sd, np.ones(len(a))]
    w = np.zeros(z.shape[1])
    for _ in range(3000):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ (p - y) / len(y) + 1e-3 * np.r_[w[:-1], 0.0])

    def score(rows: Sequence[Row]) -> np.ndarray:
        b = np.array([[r[f] for f in FEATURES] for r in rows], dtype=float)
        # Negated: "decline below t", as for the single rules.
        return np.asarray(-1 / (1 + np.exp(-np.c_[(b - mu) / sd, np.ones(len(b))] @ w)))

    return score


def cross_validate(rows: Sequence[Row]) -> dict[str, Any]:
    tasks = sorted({r["task"] for r in rows})
    report: dict[str, Any] = {
        "answered": {t: sum(r["task"] == t for r in rows) for t in tasks},
        "wrong": {t: sum(r["task"] == t and not r["ok"] for r in rows) for t in tasks},
    }
    Scorer = Callable[[Sequence[Row], Sequence[Row]], tuple[list[float], list[float]]]

    def single(f: Callable[[Row], float]) -> Scorer:
        def score(tr: Sequence[Row], te: Sequence[Row]) -> tuple[list[float], list[float]]:
            return [f(r) for r in tr], [f(r) for r in te]

        return score

    rules: dict[str, Scorer] = {name: single(f) for name, f in RULES.items()}

    def combined(tr: Sequence[Row], te: Sequence[Row]) -> tuple[list[float], list[float]]:
        score = _logistic(tr)
        return list(score(tr)), list(score(te))

    rules["logistic, all features + confidence"] = combined
    for name, rule in rules.items():
        for objective in ("utility", "lose<=0.5%"):
            held_out = {}
            for held in tasks:
                train = [r for r in rows if r["task"] != held]
                test = [r for r in rows if r["task"] == held]
                train_scores, test_scores = rule(train, test)
                t = _choose(train_scores, train, objective)
                held_out[held] = {
                    "t": None if t == -np.inf else round(t, 4),
                    "train": _effect(train, [s < t for s in train_scores]),
                    "held_out": _effect(test, [s < t for s in test_scores]),
                }
            report[f"{name} [{objective}]"] = held_out
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path(os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR") or DEFAULT_MODEL_DIR),
    )
    parser.add_argument("--limit", type=int, default=2500, help="dev queries per banking77 fold")
    args = parser.parse_args(argv)
    rows = answered_rows(args.data_dir, args.model_dir, args.limit)
    print(json.dumps(cross_validate(rows), indent=1))


if __name__ == "__main__":
    main()
