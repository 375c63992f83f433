"""Sentence embedders: the local all-MiniLM-L6-v2 ONNX model, or an OpenAI-compatible API.

Every embedder returns float32 rows of unit length, so a dot product is the cosine.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from tokenizers import Tokenizer

from .execution import usable_cores

Vectors = NDArray[np.float32]

MAX_TOKENS = 256  # the sequence length sentence-transformers uses for this model
# Large enough to keep the matrix multiplications efficient, small enough that one long
# text in a batch does not make many short ones pay for its padding.
DEFAULT_BATCH_SIZE = 32


@runtime_checkable
class Embedder(Protocol):
    @property
    def dimension(self) -> int: ...

    @property
    def model_id(self) -> str:
        """Changes whenever the vectors would change, so stored vectors can be invalidated."""
        ...

    @property
    def multilingual(self) -> bool:
        """Whether the vectors mean anything for non-English (e.g. Chinese) text."""
        ...

    def embed(self, texts: Sequence[str]) -> Vectors: ...


def normalize_rows(vectors: NDArray[np.floating]) -> Vectors:
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalized: Vectors = matrix / np.maximum(norms, np.float32(1e-12))
    return normalized


@lru_cache(maxsize=4)
def _session(model_path: str) -> ort.InferenceSession:
    """One session per model file and process: loading it costs ~0.5 s and 90 MB."""
    options = ort.SessionOptions()
    # One thread per run: searches already run side by side, one per core (execution.py),
    # and a run splitting itself over the cores too made 4 concurrent searches on 2 cores
    # cost about a fifth more CPU each. Large batches get their parallelism in `embed`.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    # Idle workers sleep instead of spinning: the serving process shares the cores with
    # its event loop, BLAS and other workers, and spinning threads starve them.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])


@lru_cache(maxsize=4)
def _file_digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 through onnxruntime: masked mean pooling, dynamic padding."""

    def __init__(self, model_dir: Path, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._model_path = str(model_dir / "model.onnx")
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.no_padding()
        self._batch_size = batch_size
        self._session = _session(self._model_path)
        self._input_names = {i.name for i in self._session.get_inputs()}

    @property
    def dimension(self) -> int:
        return 384

    @property
    def model_id(self) -> str:
        return f"onnx:all-MiniLM-L6-v2:{_file_digest(self._model_path)[:16]}"

    @property
    def multilingual(self) -> bool:
        return False

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Sorting by length makes each batch's members similar in length, so padding
        # every batch only to its own longest member wastes almost nothing.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        batches = [
            order[start : start + self._batch_size]
            for start in range(0, len(order), self._batch_size)
        ]
        workers = min(len(batches), usable_cores())
        if workers <= 1:
            for batch in batches:
                out[batch] = self._embed_batch([encodings[i].ids for i in batch])
            return out
        # The session runs single-threaded (see _session) and releases the GIL, so a
        # large job (an index build) uses the cores by running its batches side by side.
        with ThreadPoolExecutor(workers, thread_name_prefix="relaydesk-embed") as pool:
            done = pool.map(lambda b: self._embed_batch([encodings[i].ids for i in b]), batches)
            for batch, vectors in zip(batches, done, strict=True):
                out[batch] = vectors
        return out

    def _embed_batch(self, token_ids: list[list[int]]) -> Vectors:
        width = max(len(ids) for ids in token_ids)
        input_ids = np.zeros((len(token_ids), width), dtype=np.int64)
        mask = np.zeros((len(token_ids), width), dtype=np.int64)
        for row, ids in enumerate(token_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return normalize_rows(pooled)


class OpenAIEmbedder:
    """Any OpenAI-compatible `/embeddings` endpoint."""

    def __init__(
        self, model: str, *, base_url: str | None, api_key: str, batch_size: int = 256
    ) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key)
        self._model = model
        self._base_url = base_url or "https://api.openai.com/v1"
        self._batch_size = batch_size
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    @property
    def model_id(self) -> str:
        return f"openai:{self._base_url}:{self._model}"

    @property
    def multilingual(self) -> bool:
        return True

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = [t or " " for t in texts[start : start + self._batch_size]]
            response = self._client.embeddings.create(model=self._model, input=batch)
            rows.extend(item.embedding for item in sorted(response.data, key=lambda d: d.index))
        if not rows:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        vectors = normalize_rows(np.asarray(rows, dtype=np.float32))
        self._dimension = int(vectors.shape[1])
        return vectors


async def embed_async(embedder: Embedder, texts: Sequence[str]) -> Vectors:
    """Embed in a worker thread: a batch takes long enough to stall the event loop."""
    return await asyncio.to_thread(embedder.embed, texts)
