"""The aggregation of a frame into figures (docs/analytics.md has the definitions)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import numpy.typing as npt

from relaydesk.analytics import facts as F
from relaydesk.analytics.frame import Frame, Table
from relaydesk.analytics.models import (
    BotFigures,
    CsatFigures,
    FeedbackFigures,
    HandoffFigures,
    Percentiles,
    TimeFigure,
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def percentiles(values: npt.NDArray[np.float64]) -> Percentiles:
    """Median and p90 by linear interpolation between order statistics (numpy's default,
    Hyndman & Fan type 7); missing values (NaN: no such time in that row) are left out."""
    present = values[~np.isnan(values)]
    if present.size == 0:
        return Percentiles(count=0, median=None, p90=None, mean=None)
    median, p90 = np.quantile(present, [0.5, 0.9])
    return Percentiles(
        count=int(present.size),
        median=round(float(median), 3),
        p90=round(float(p90), 3),
        mean=round(float(present.mean()), 3),
    )


def time_figure(cycles: Table, name: str) -> TimeFigure:
    wall = percentiles(cycles[f"{name}_s"])
    return TimeFigure(**wall.model_dump(), business_hours=percentiles(cycles[f"{name}_bh_s"]))


def bot_figures(conversations: Table) -> BotFigures:
    outcomes = Counter(conversations["bot_outcome"][conversations["bot_involved"] == 1].tolist())
    involved = int(conversations["bot_involved"].sum())
    resolved = outcomes.get(F.RESOLVED_BY_BOT, 0)
    total = len(conversations)
    return BotFigures(
        involved=involved,
        resolved=resolved,
        handed_off=outcomes.get(F.HANDED_OFF, 0),
        human=outcomes.get(F.HUMAN, 0) + outcomes.get(F.BEFORE_BOT, 0),
        unanswered=outcomes.get(F.UNANSWERED, 0),
        pending=outcomes.get(F.PENDING, 0),
        resolution_rate=_rate(resolved, involved),
        handoff_rate=_rate(outcomes.get(F.HANDED_OFF, 0), involved),
        deflection_rate=_rate(resolved, total),
        automation_rate=_rate(resolved, total),
    )


def handoff_figures(frame: Frame) -> HandoffFigures:
    reasons = frame.cycles["handoff_reason"]
    present = [r for r in reasons.tolist() if r is not None]
    conversations = int((frame.conversations["handoffs"] > 0).sum())
    return HandoffFigures(
        total=len(present),
        conversations=conversations,
        rate=_rate(conversations, len(frame.conversations)),
        by_reason=dict(sorted(Counter(present).items())),
    )


def csat_figures(conversations: Table) -> CsatFigures:
    scores = conversations["csat"]
    given = scores[~np.isnan(scores)]
    distribution = {str(n): int((given == n).sum()) for n in range(1, 6)}
    resolved = int(conversations["resolved"].sum())
    return CsatFigures(
        responses=int(given.size),
        average=round(float(given.mean()), 3) if given.size else None,
        distribution=distribution,
        response_rate=_rate(int(given.size), resolved),
    )


def feedback_figures(conversations: Table) -> FeedbackFigures:
    up = int(conversations["feedback_up"].sum())
    down = int(conversations["feedback_down"].sum())
    return FeedbackFigures(up=up, down=down, ratio=_rate(up, up + down))


def summarise(frame: Frame) -> dict[str, Any]:
    """Every overview figure of `frame` (without the query's echo)."""
    conversations, cycles = frame.conversations, frame.cycles
    return {
        "conversations": len(conversations),
        "resolved": int(conversations["resolved"].sum()),
        "reopened": int((conversations["reopens"] > 0).sum()),
        "transferred": int((conversations["transfers"] > 0).sum()),
        "bot": bot_figures(conversations),
        "handoffs": handoff_figures(frame),
        "first_response_s": time_figure(cycles, "frt"),
        "resolution_s": time_figure(cycles, "resolution"),
        "queue_wait_s": time_figure(cycles, "queue_wait"),
        "csat": csat_figures(conversations),
        "feedback": feedback_figures(conversations),
    }


# Timeseries metrics: name -> (value of a frame, size of a frame for the drill-down).
COUNT_METRICS = {
    "conversations": lambda f: len(f.conversations),
    "bot_involved": lambda f: int(f.conversations["bot_involved"].sum()),
    "bot_resolved": lambda f: bot_figures(f.conversations).resolved,
    "handoffs": lambda f: handoff_figures(f).total,
    "resolved": lambda f: int(f.conversations["resolved"].sum()),
    "csat_responses": lambda f: csat_figures(f.conversations).responses,
    "feedback_up": lambda f: feedback_figures(f.conversations).up,
    "feedback_down": lambda f: feedback_figures(f.conversations).down,
}
RATE_METRICS = {
    "bot_resolution_rate": lambda f: bot_figures(f.conversations).resolution_rate,
    "csat_average": lambda f: csat_figures(f.conversations).average,
}
TIME_METRICS = ("first_response_s", "resolution_s", "queue_wait_s")
_TIME_COLUMNS = {
    "first_response_s": "frt",
    "resolution_s": "resolution",
    "queue_wait_s": "queue_wait",
}
METRICS = (*COUNT_METRICS, *RATE_METRICS, *TIME_METRICS)


def metric_value(
    frame: Frame, metric: str, *, stat: str = "median", business_hours: bool = False
) -> tuple[float | None, int]:
    """(value, rows behind it) of `metric` over `frame`."""
    if metric in COUNT_METRICS:
        value = COUNT_METRICS[metric](frame)
        return float(value), int(value)
    if metric in RATE_METRICS:
        return RATE_METRICS[metric](frame), len(frame.conversations)
    column = _TIME_COLUMNS[metric] + ("_bh_s" if business_hours else "_s")
    figure = percentiles(frame.cycles[column])
    return (figure.median if stat == "median" else figure.p90 if stat == "p90" else figure.mean), (
        figure.count
    )
