from __future__ import annotations

from collections.abc import Callable

import numpy as np

from relaydesk.knowledge.retrieval.chunks import Chunk
from relaydesk.knowledge.retrieval.confidence import (
    DEFAULT_ANSWER_THRESHOLD,
    HYBRID_MODEL,
    LEXICAL_MODEL,
    HitSignals,
    fit,
)
from relaydesk.knowledge.retrieval.embedding import OnnxMiniLMEmbedder
from relaydesk.knowledge.retrieval.index import HybridIndex


def signals(margin: float, score: float = 0.6) -> HitSignals:
    return HitSignals(score=score, margin=margin, dense=score, coverage=0.5, agreement=False)


def test_confidence_is_a_probability_and_grows_with_margin() -> None:
    for model in (HYBRID_MODEL, LEXICAL_MODEL):
        values = [model(signals(m)) for m in np.linspace(-0.5, 0.5, 21)]
        assert all(0.0 <= v <= 1.0 for v in values)
        assert values == sorted(values)
        assert values[-1] > values[0]
    assert 0.0 < DEFAULT_ANSWER_THRESHOLD < 1.0


def test_fit_learns_the_direction_of_the_signal() -> None:
    rng = np.random.default_rng(0)
    margins = rng.uniform(0, 0.3, 400)
    correct = rng.uniform(0, 0.3, 400) < margins
    model = fit([signals(float(m)) for m in margins], correct.tolist())
    assert model(signals(0.3)) > 0.7 > 0.3 > model(signals(0.0))


def test_in_scope_query_is_more_confident_than_gibberish(
    embedder: OnnxMiniLMEmbedder, faq: Callable[[], list[Chunk]]
) -> None:
    index = HybridIndex(embedder)
    index.upsert(faq())
    sure = index.search("I forgot my password", 1)[0].confidence
    unsure = index.search("what is the weather on mars", 1)[0].confidence
    assert sure > unsure
    assert sure >= DEFAULT_ANSWER_THRESHOLD > unsure
