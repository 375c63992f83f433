"""Calibrated confidence that a hit answers the query, for answer-or-hand-off decisions.

A logistic regression over a few scale-free signals of the hit:

    score       its fused score
    margin      its score minus the best other entry's (negative below the top hit)
    dense       its dense phrasing score (0 without a model)
    coverage    share of the query's tokens found in its best lexical document
    agreement   1 when dense and BM25 both rank it first

Fitted (`fit`, run by `benchmarks/retrieval.py --fit-confidence`) on 2,000 banking77 dev
queries in three open-set folds that never touch the benchmark's out-of-scope intents:
each fold leaves a different third of the other intents out of the knowledge base and
labels a query positive when its top hit is right. The lexical-only model is fitted the
same way with the index built without a model. Refit after changing fusion weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit

FEATURES = ("score", "margin", "dense", "coverage", "agreement")


@dataclass(frozen=True)
class HitSignals:
    score: float
    margin: float
    dense: float
    coverage: float
    agreement: bool

    def vector(self) -> NDArray[np.float64]:
        return np.array([self.score, self.margin, self.dense, self.coverage, float(self.agreement)])


@dataclass(frozen=True)
class ConfidenceModel:
    weights: tuple[float, ...]
    bias: float

    def __call__(self, signals: HitSignals) -> float:
        z = float(np.dot(self.weights, signals.vector())) + self.bias
        return float(expit(z))


# Fitted by `python -m benchmarks.retrieval --fit-confidence` (see module docstring).
HYBRID_MODEL = ConfidenceModel(weights=(3.1446, 2.5562, 3.3557, 0.8656, 0.56), bias=-5.9069)
LEXICAL_MODEL = ConfidenceModel(weights=(0.007, 3.7532, 0.0, 2.2178, 0.0), bias=-2.5611)

# Answer at or above this confidence, hand off below. Chosen on the same dev folds (a
# third of the queries out of scope) as the lowest threshold keeping wrong answers
# under 5% of those answered: there 0.75 gave 7.0% wrong, 0.80 gave 4.3% wrong with 39%
# of in-scope queries answered correctly and 97% of out-of-scope ones declined.
DEFAULT_ANSWER_THRESHOLD = 0.78


def fit(
    signals: Sequence[HitSignals], correct: Sequence[bool], *, l2: float = 1e-3
) -> ConfidenceModel:
    """Logistic regression by L-BFGS on the mean log-loss plus a small L2 penalty."""
    x = np.array([s.vector() for s in signals])
    y = np.asarray(correct, dtype=np.float64)
    design = np.hstack([x, np.ones((x.shape[0], 1))])

    def loss_and_gradient(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        z = design @ theta
        p = expit(z)
        # log(1 + e^z) - y z, written stably
        loss = float(np.mean(np.logaddexp(0.0, z) - y * z)) + l2 * float(theta[:-1] @ theta[:-1])
        grad = design.T @ (p - y) / len(y)
        grad[:-1] += 2 * l2 * theta[:-1]
        return loss, grad

    result = minimize(loss_and_gradient, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B")
    theta = result.x
    return ConfidenceModel(
        weights=tuple(round(float(w), 4) for w in theta[:-1]), bias=round(float(theta[-1]), 4)
    )
