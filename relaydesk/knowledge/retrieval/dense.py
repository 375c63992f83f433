"""Chroma as the durable home of chunk vectors.

Searches run on an in-memory copy of the vectors (see `index.py`); Chroma keeps them
across restarts and shares them between nodes, so a chunk is embedded once per model.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings as ChromaSettings

from .chunks import Chunk
from .embedding import Vectors

COLLECTION_NAME = "relaydesk_chunks"
_WRITE_BATCH = 1000  # stays well under Chroma's maximum batch size


@dataclass(frozen=True)
class StoredVector:
    text_digest: str
    vector: Vectors


def _client_settings() -> ChromaSettings:
    return ChromaSettings(anonymized_telemetry=False)


class ChromaVectorStore:
    """Chunk vectors in one Chroma collection, tagged with the model that made them."""

    def __init__(self, client: ClientAPI, collection_name: str = COLLECTION_NAME) -> None:
        self._client = client
        self._name = collection_name
        self._collection: Collection | None = None
        self._model_id: str | None = None

    @classmethod
    def persistent(
        cls, path: str | Path, collection_name: str = COLLECTION_NAME
    ) -> ChromaVectorStore:
        """Embedded Chroma under `path`; only one process may open it at a time."""
        return cls(
            chromadb.PersistentClient(path=str(path), settings=_client_settings()), collection_name
        )

    @classmethod
    def http(cls, url: str, collection_name: str = COLLECTION_NAME) -> ChromaVectorStore:
        parsed = urlparse(url)
        ssl = parsed.scheme == "https"
        client = chromadb.HttpClient(
            host=parsed.hostname or "localhost",
            port=parsed.port or (443 if ssl else 8000),
            ssl=ssl,
            settings=_client_settings(),
        )
        return cls(client, collection_name)

    @classmethod
    def in_memory(cls) -> ChromaVectorStore:
        # Ephemeral clients in one process share their state, hence a unique collection.
        client = chromadb.EphemeralClient(settings=_client_settings())
        return cls(client, f"{COLLECTION_NAME}_{uuid.uuid4().hex}")

    def bind(self, model_id: str) -> None:
        """Use vectors of `model_id`; vectors of any other model are dropped."""
        if self._collection is not None and self._model_id == model_id:
            return
        collection = self._client.get_or_create_collection(
            self._name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"model_id": model_id},
            embedding_function=None,
        )
        if (collection.metadata or {}).get("model_id") != model_id:
            self._client.delete_collection(self._name)
            collection = self._client.create_collection(
                self._name,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"model_id": model_id},
                embedding_function=None,
            )
        self._collection = collection
        self._model_id = model_id

    @property
    def _bound(self) -> Collection:
        if self._collection is None:
            raise RuntimeError("call bind(model_id) first")
        return self._collection

    def count(self) -> int:
        return self._bound.count()

    def upsert(self, chunks: Sequence[Chunk], vectors: Vectors) -> None:
        for start in range(0, len(chunks), _WRITE_BATCH):
            batch = chunks[start : start + _WRITE_BATCH]
            self._bound.upsert(
                ids=[c.chunk_id for c in batch],
                embeddings=vectors[start : start + _WRITE_BATCH],
                documents=[c.text for c in batch],
                metadatas=[_metadata(c) for c in batch],
            )

    def delete(self, chunk_ids: Sequence[str]) -> None:
        for start in range(0, len(chunk_ids), _WRITE_BATCH):
            self._bound.delete(ids=list(chunk_ids[start : start + _WRITE_BATCH]))

    def delete_entries(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            members: dict[Literal["$in", "$nin"], list[str | int | float | bool]] = {
                "$in": list(entry_ids)
            }
            where: Where = {"entry_id": members}
            self._bound.delete(where=where)

    def vectors(self, chunk_ids: Sequence[str]) -> dict[str, StoredVector]:
        """Stored vectors of those chunks that have one."""
        found: dict[str, StoredVector] = {}
        for start in range(0, len(chunk_ids), _WRITE_BATCH):
            result = self._bound.get(
                ids=list(chunk_ids[start : start + _WRITE_BATCH]),
                include=["embeddings", "metadatas"],
            )
            embeddings = result["embeddings"]
            metadatas = result["metadatas"]
            if embeddings is None or metadatas is None:
                continue
            for chunk_id, vector, meta in zip(result["ids"], embeddings, metadatas, strict=True):
                found[chunk_id] = StoredVector(
                    str(meta.get("text_digest", "")), np.asarray(vector, dtype=np.float32)
                )
        return found

    def chunks(self) -> list[tuple[Chunk, Vectors]]:
        """Every stored chunk with its vector (to rebuild an index from the store alone)."""
        result = self._bound.get(include=["embeddings", "metadatas", "documents"])
        embeddings, metadatas, documents = (
            result["embeddings"],
            result["metadatas"],
            result["documents"],
        )
        if embeddings is None or metadatas is None or documents is None:
            return []
        return [
            (_chunk(chunk_id, text, meta), np.asarray(vector, dtype=np.float32))
            for chunk_id, vector, meta, text in zip(
                result["ids"], embeddings, metadatas, documents, strict=True
            )
        ]


def _metadata(chunk: Chunk) -> dict[str, str]:
    # Chroma metadata values must be scalars; the chunk's own metadata goes in as JSON.
    return {
        "entry_id": chunk.entry_id,
        "group": chunk.group or "",
        "text_digest": chunk.text_digest,
        "metadata_json": json.dumps(chunk.metadata, ensure_ascii=False, default=str),
    }


def _chunk(chunk_id: str, text: str, meta: Any) -> Chunk:
    return Chunk(
        chunk_id=chunk_id,
        entry_id=str(meta["entry_id"]),
        text=text,
        metadata=json.loads(str(meta.get("metadata_json") or "{}")),
        group=str(meta.get("group") or "") or None,
    )
