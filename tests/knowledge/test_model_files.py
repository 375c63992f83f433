from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

import pytest

from relaydesk.core.config import Settings
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.model_files import (
    download_model,
    model_cache_dir,
    resolve_embedder,
    resolve_model_dir,
)

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(
    os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR")
    or REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2"
)


def test_configured_dir_wins(tmp_path: Path, embedder: OnnxMiniLMEmbedder) -> None:
    settings = Settings(embedding_model_dir=MODEL_DIR, data_dir=tmp_path)
    assert resolve_model_dir(settings, allow_download=False) == MODEL_DIR / "onnx"
    assert isinstance(resolve_embedder(settings, allow_download=False), OnnxMiniLMEmbedder)


def test_data_dir_cache_is_used(tmp_path: Path, embedder: OnnxMiniLMEmbedder) -> None:
    cache = model_cache_dir(tmp_path) / "onnx"
    cache.mkdir(parents=True)
    for name in ("model.onnx", "tokenizer.json"):
        (cache / name).symlink_to(MODEL_DIR / "onnx" / name)
    settings = Settings(embedding_model_dir=None, data_dir=tmp_path)
    assert resolve_model_dir(settings, allow_download=False) == cache
    shutil.rmtree(cache)


def test_no_model_means_lexical_only(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(embedding_model_dir=tmp_path / "missing", data_dir=tmp_path)
    with caplog.at_level(logging.WARNING):
        assert resolve_embedder(settings, allow_download=False) is None
    assert "lexical-only" in caplog.text


def test_download_failure_returns_none_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    assert download_model(tmp_path / "cache", url="http://127.0.0.1:9/onnx.tar.gz") is None
    assert time.monotonic() - started < 5
