"""Per-query confidence signals of a hit (see confidence.py for what each one means)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import fusion
from .confidence import HitSignals

# How many of the query's nearest chunks vote in the `support` signal.
SUPPORT_NEIGHBOURS = 10
# The smallest knowledge base in the confidence model's fitting folds (confidence.py).
MIN_FITTED_ENTRIES = 3


@dataclass(frozen=True)
class SignalContext:
    """Per-query arrays from which each hit's confidence signals are read."""

    entry_scores: fusion.Scores
    entry_lexical: fusion.Scores
    entry_dense: fusion.Scores | None
    query_tokens: int
    entries: int

    def signals(
        self,
        entry: int,
        coverage: float,
        *,
        dense: float = 0.0,
        phrasing: float = 0.0,
        centroid: float = 0.0,
        support: float = 0.0,
        companions: frozenset[int] = frozenset(),
    ) -> HitSignals:
        """`companions`: entries that say the same as this one (companions.py), which
        the margins do not count as rivals."""
        lexical_margin = _margin(self.entry_lexical, self._lexical_top, entry, companions)
        dense_margin = 0.0
        if self.entry_dense is not None:
            dense_margin = _margin(self.entry_dense, self._dense_top, entry, companions)
        return HitSignals(
            score=float(self.entry_scores[entry]),
            margin=_margin(self.entry_scores, self._fused_top, entry, companions),
            dense=dense,
            coverage=coverage,
            # Both rankers put it first (a tie at zero BM25 is no vote).
            agreement=(
                self.entry_dense is not None
                and dense_margin >= 0.0
                and lexical_margin >= 0.0
                and float(self.entry_lexical[entry]) > 0.0
            ),
            dense_margin=dense_margin,
            lexical_margin=lexical_margin,
            phrasing=phrasing,
            centroid=centroid,
            support=support,
            query_tokens=self.query_tokens,
            # The model was fitted on knowledge bases of 3 entries and up; below that its
            # quadratic terms in log(entries) extrapolate steeply down, and a one-entry FAQ
            # scored its own phrasing 0.79. Fewer entries read as the smallest fitted size.
            entries=max(self.entries, MIN_FITTED_ENTRIES),
        )

    # The top two of each ranking, found once per query rather than once per hit.
    @cached_property
    def _fused_top(self) -> list[int]:
        return [int(i) for i in fusion.top_k(self.entry_scores, 2)]

    @cached_property
    def _lexical_top(self) -> list[int]:
        return [int(i) for i in fusion.top_k(self.entry_lexical, 2)]

    @cached_property
    def _dense_top(self) -> list[int]:
        assert self.entry_dense is not None
        return [int(i) for i in fusion.top_k(self.entry_dense, 2)]


def _margin(
    scores: fusion.Scores,
    top_two: list[int],
    entry: int,
    companions: frozenset[int] = frozenset(),
) -> float:
    """The entry's score minus the best other entry's (negative below the top),
    companions aside."""
    if companions:
        others = np.delete(scores, [entry, *companions])
        return float(scores[entry] - others.max()) if others.size else float(scores[entry])
    if len(top_two) < 2:
        return float(scores[entry])
    rival = top_two[1] if top_two[0] == entry else top_two[0]
    return float(scores[entry] - scores[rival])
