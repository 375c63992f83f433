from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from relaydesk.knowledge.retrieval.chunks import Chunk, faq_entry_chunks
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder, Vectors
from relaydesk.knowledge.retrieval.model_files import onnx_folder

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(
    os.environ.get("RELAYDESK_EMBEDDING_MODEL_DIR")
    or REPO.parent / "shared" / "models" / "all-MiniLM-L6-v2"
)

FAQ = [
    (
        "card-arrival",
        "When will my card arrive?",
        ["My card still hasn't arrived", "How long does card delivery take?"],
        "Cards arrive within 5 working days.",
    ),
    (
        "reset-password",
        "Reset your password",
        ["I forgot my password", "How can I change my login password?"],
        "Use 'Forgot password' on the sign-in page.",
    ),
    (
        "refund",
        "Refunds",
        ["I want my money back", "How do I get a refund for a purchase?"],
        "Refunds are issued to the original payment method within 10 days.",
    ),
    (
        "loan-repayment-card",
        "更换还款银行卡",
        ["怎么更换绑定的还款银行卡", "还款卡可以换吗"],
        "在App的设置里可以更换还款银行卡。",
    ),
    (
        "loan-limit",
        "借款额度",
        ["为什么我的借款额度降低了", "怎么提高额度"],
        "额度由系统根据您的信用情况自动评估。",
    ),
]


def faq_chunks(entry_ids: Sequence[str] | None = None) -> list[Chunk]:
    return [
        chunk
        for entry_id, title, questions, answer in FAQ
        if entry_ids is None or entry_id in entry_ids
        for chunk in faq_entry_chunks(
            entry_id,
            title=title,
            questions=questions,
            answer=answer,
            metadata={"external_id": entry_id, "url": f"/faq/{entry_id}", "locale": "en"},
        )
    ]


FaqChunks = Callable[..., list[Chunk]]


@pytest.fixture
def faq() -> FaqChunks:
    """Chunks of the hand-made FAQ, optionally only of some entries."""
    return faq_chunks


@pytest.fixture(scope="session")
def embedder() -> OnnxMiniLMEmbedder:
    folder = onnx_folder(MODEL_DIR)
    if folder is None:
        pytest.skip(f"no embedding model under {MODEL_DIR}")
    return OnnxMiniLMEmbedder(folder)


class CountingEmbedder:
    """Wraps an embedder and counts the texts it embeds."""

    def __init__(self, inner: OnnxMiniLMEmbedder) -> None:
        self.inner = inner
        self.embedded = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def multilingual(self) -> bool:
        return False

    def embed(self, texts: Sequence[str]) -> Vectors:
        self.embedded += len(texts)
        return self.inner.embed(texts)


@pytest.fixture
def counting_embedder(embedder: OnnxMiniLMEmbedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)
