"""Where search work runs (retrieval/execution.py): never on the event loop, on at most one
worker per core, with BLAS on one thread; and a Chinese query does not pay for an English
model's embedding that would be weighted 0."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from relaydesk.knowledge.retrieval import execution
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.index import HybridIndex
from relaydesk.knowledge.retrieval.model_files import onnx_folder
from tests.knowledge.conftest import MODEL_DIR, CountingEmbedder, FaqChunks
from tests.knowledge.test_latent import _chinese_kb
from tests.knowledge.test_sentence import CountingEncoder

CHINESE_QUERIES = ["晚交滞纳金", "逾期罚息怎么算", "修改登录密码", "银行卡丢了", "怎么提高额度"]


class WatchedEncoder(CountingEncoder):
    """Records, for each query it encodes, the thread and whether an event loop runs
    there; once armed, each encode waits until the loop has ticked, which it can only do
    if the encode is not blocking it."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.calls: list[tuple[str, bool]] = []
        self.active = 0
        self.most_active = 0
        self.loop_ticked = threading.Event()
        self.armed = False
        self.saw_tick: list[bool] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not self.armed:  # index builds: not what this test watches
            return super().encode(texts)
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        with self.lock:
            self.calls.append((threading.current_thread().name, on_loop))
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            # Never waits long when off the loop; on the loop it would time out.
            self.saw_tick.append(self.loop_ticked.wait(0 if on_loop else 30))
            return super().encode(texts)
        finally:
            with self.lock:
                self.active -= 1


async def test_chinese_searches_run_on_the_bounded_workers_not_the_loop() -> None:
    encoder = WatchedEncoder()
    index = HybridIndex(None, cjk_encoder=encoder)
    index.upsert(_chinese_kb())
    encoder.armed = True

    async def heartbeat() -> None:
        # Ticks once an encode is under way: the encodes wait for it (WatchedEncoder).
        while not encoder.calls:
            await asyncio.sleep(0.001)
        for _ in range(3):
            await asyncio.sleep(0)
        encoder.loop_ticked.set()

    queries = CHINESE_QUERIES * 4
    results = await asyncio.gather(heartbeat(), *(index.asearch(q, 3) for q in queries))

    assert all(hits for hits in results[1:])
    assert len(encoder.calls) == len(queries)
    assert not any(on_loop for _, on_loop in encoder.calls)
    assert all(name.startswith(execution.SEARCH_THREAD_PREFIX) for name, _ in encoder.calls)
    assert all(encoder.saw_tick)  # the loop kept running while every encode was under way
    assert encoder.most_active <= execution.usable_cores()


async def test_run_search_uses_the_process_executor() -> None:
    def where() -> str:
        return threading.current_thread().name

    assert (await execution.run_search(where)).startswith(execution.SEARCH_THREAD_PREFIX)
    assert execution.search_executor() is execution.search_executor()
    assert execution.search_executor()._max_workers == execution.usable_cores()


def test_building_an_index_puts_blas_on_one_thread() -> None:
    HybridIndex(None, cjk_encoder=None)
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert blas and all(lib["num_threads"] == 1 for lib in blas)


@pytest.mark.parametrize("query", ["怎么更换绑定的还款银行卡", "借款额度为什么降低了"])
def test_a_chinese_query_skips_the_english_models_embedding(
    counting_embedder: CountingEmbedder, faq: FaqChunks, query: str
) -> None:
    encoder = CountingEncoder()
    index = HybridIndex(counting_embedder, cjk_encoder=encoder)
    index.upsert(faq())
    lexical = HybridIndex(None, cjk_encoder=encoder)
    lexical.upsert(faq())
    counting_embedder.embedded = 0

    hits = index.search(query, 5)

    assert counting_embedder.embedded == 0
    # Its weight would have been 0, so it ranks and scores as with no model at all.
    expected = lexical.search(query, 5)
    assert [(h.entry_id, h.chunk_id) for h in hits] == [(h.entry_id, h.chunk_id) for h in expected]
    assert [h.confidence for h in hits] == pytest.approx([h.confidence for h in expected])
    assert hits[0].entry_id in {"loan-repayment-card", "loan-limit"}


def test_english_and_dense_searches_still_embed_the_query(
    counting_embedder: CountingEmbedder, faq: FaqChunks
) -> None:
    index = HybridIndex(counting_embedder, cjk_encoder=CountingEncoder())
    index.upsert(faq())
    counting_embedder.embedded = 0
    assert index.search("my card has not come yet", 3)[0].entry_id == "card-arrival"
    assert counting_embedder.embedded == 1
    index.search("怎么提高额度", 3, mode="dense")
    assert counting_embedder.embedded == 2


def test_batches_embedded_side_by_side_match_one_batch(embedder: OnnxMiniLMEmbedder) -> None:
    texts = [f"question number {n} about {'cards' if n % 2 else 'refunds'}" for n in range(40)]
    folder = onnx_folder(MODEL_DIR)
    assert folder is not None
    small_batches = OnnxMiniLMEmbedder(folder, batch_size=4)  # 10 batches, on 2+ threads
    np.testing.assert_allclose(small_batches.embed(texts), embedder.embed(texts), atol=1e-5)
