"""Where the local embedding model comes from, in the order DESIGN.md gives.

1. `RELAYDESK_EMBEDDING_MODEL_DIR` (settings.embedding_model_dir);
2. the data dir's model cache, `<data_dir>/models/all-MiniLM-L6-v2/onnx`;
3. a one-time download of the ONNX archive Chroma's own default function uses, verified
   against its published SHA-256, into that cache;
4. nothing: the caller runs retrieval lexical-only.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tarfile
import tempfile
from pathlib import Path

import httpx

from relaydesk.core.config import Settings

from .embedding import Embedder, OnnxMiniLMEmbedder, OpenAIEmbedder

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
# The same archive and checksum as chromadb's ONNXMiniLM_L6_V2 embedding function.
ARCHIVE_URL = "https://chroma-onnx-models.s3.amazonaws.com/all-MiniLM-L6-v2/onnx.tar.gz"
ARCHIVE_SHA256 = "913d7300ceae3b2dbc2c50d1de4baacab4be7b9380491c27fab7418616a16ec3"
REQUIRED_FILES = ("model.onnx", "tokenizer.json")
DOWNLOAD_TIMEOUT_SECONDS = 10.0


def onnx_folder(directory: Path) -> Path | None:
    """The folder holding the model files: `directory` itself or its `onnx/` child."""
    for candidate in (directory, directory / "onnx"):
        if all((candidate / name).is_file() for name in REQUIRED_FILES):
            return candidate
    return None


def model_cache_dir(data_dir: Path) -> Path:
    return data_dir / "models" / MODEL_NAME


def download_model(cache_dir: Path, *, url: str = ARCHIVE_URL) -> Path | None:
    """Fetch and unpack the published archive into `cache_dir`; None on any failure."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
            archive = Path(scratch) / "onnx.tar.gz"
            digest = hashlib.sha256()
            timeout = httpx.Timeout(DOWNLOAD_TIMEOUT_SECONDS, read=60.0)
            with (
                httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response,
                archive.open("wb") as out,
            ):
                response.raise_for_status()
                for block in response.iter_bytes():
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != ARCHIVE_SHA256:
                log.warning("embedding model download from %s failed its checksum", url)
                return None
            with tarfile.open(archive) as tar:
                tar.extractall(scratch, filter="data")
            unpacked = onnx_folder(Path(scratch) / "onnx")
            if unpacked is None:
                return None
            target = cache_dir / "onnx"
            shutil.rmtree(target, ignore_errors=True)
            shutil.move(str(unpacked), target)
            return target
    except (OSError, httpx.HTTPError, tarfile.TarError) as error:
        log.info("embedding model download unavailable: %s", error)
        return None


def resolve_model_dir(settings: Settings, *, allow_download: bool = True) -> Path | None:
    if settings.embedding_model_dir is not None:
        found = onnx_folder(settings.embedding_model_dir)
        if found is not None:
            return found
        log.warning("RELAYDESK_EMBEDDING_MODEL_DIR=%s has no model", settings.embedding_model_dir)
    cache = model_cache_dir(settings.data_dir)
    found = onnx_folder(cache)
    if found is None and allow_download:
        found = download_model(cache)
    return found


def resolve_embedder(settings: Settings, *, allow_download: bool = True) -> Embedder | None:
    """The configured embedder, or None (logged once per call) for lexical-only retrieval."""
    if settings.embedding_provider == "openai":
        return OpenAIEmbedder(
            settings.embedding_model,
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
        )
    model_dir = resolve_model_dir(settings, allow_download=allow_download)
    if model_dir is None:
        log.warning(
            "no embedding model found (set RELAYDESK_EMBEDDING_MODEL_DIR); "
            "knowledge retrieval runs lexical-only"
        )
        return None
    return OnnxMiniLMEmbedder(model_dir)
