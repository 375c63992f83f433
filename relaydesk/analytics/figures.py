"""Percentiles over rows already loaded (the per-agent table, the definition tests)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from relaydesk.analytics.models import Percentiles


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


TIME_METRICS = ("first_response_s", "resolution_s", "queue_wait_s")
