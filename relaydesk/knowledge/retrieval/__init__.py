"""Knowledge-base retrieval: hybrid (dense + BM25) search over FAQ entries and articles."""

from .chunks import Chunk, Hit, faq_entry_chunks
from .confidence import DEFAULT_ANSWER_THRESHOLD
from .dense import ChromaVectorStore
from .embedding import Embedder, OnnxMiniLMEmbedder, OpenAIEmbedder, embed_async
from .index import HybridIndex, SearchMode
from .model_files import resolve_embedder, resolve_model_dir

__all__ = [
    "DEFAULT_ANSWER_THRESHOLD",
    "ChromaVectorStore",
    "Chunk",
    "Embedder",
    "Hit",
    "HybridIndex",
    "OnnxMiniLMEmbedder",
    "OpenAIEmbedder",
    "SearchMode",
    "embed_async",
    "faq_entry_chunks",
    "resolve_embedder",
    "resolve_model_dir",
]
