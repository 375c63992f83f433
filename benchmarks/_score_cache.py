"""Per-task score matrices for cross-validation, cached on disk (benchmarks/_retrieval_cv.py).

The cross-dataset choices (fusion weights, confidence) are judged on thousands of
queries against thousands of entries, many times over. Each channel's query x entry
score matrix is computed once per task and kept under RELAYDESK_BENCH_CACHE (default
~/.cache/relaydesk-bench), keyed by a digest of the task's texts and the model, so a
rerun reads them back instead of encoding again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float32]


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "relaydesk-bench"
    path = Path(os.environ.get("RELAYDESK_BENCH_CACHE") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def texts_digest(*parts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for texts in parts:
        for text in texts:
            digest.update(text.encode())
            digest.update(b"\0")
        digest.update(b"\1")
    return digest.hexdigest()[:20]


def cached_vectors(
    name: str, model_id: str, texts: Sequence[str], encode: Callable[[Sequence[str]], Matrix]
) -> Matrix:
    """`encode(texts)`, read back from disk when these texts were encoded before."""
    path = cache_dir() / f"{name}-{model_id}-{texts_digest(texts)}.npy"
    if path.exists():
        return np.asarray(np.load(path), dtype=np.float32)
    vectors = np.asarray(encode(texts), dtype=np.float32)
    # Written aside and renamed into place: another benchmark process (the test suite runs
    # them side by side) that finds the file must never read it half-written.
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with partial.open("wb") as out:
        np.save(out, vectors)
    os.replace(partial, path)
    return vectors
