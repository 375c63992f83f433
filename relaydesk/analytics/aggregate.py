"""The overview and timeseries as SQL aggregations over the rollups.

One set of aggregate expressions serves both: the overview runs them over the whole
range, a timeseries runs the same ones `GROUP BY` bucket, so a count's points always sum
to the overview's figure. Without an agent or label filter, on a range of whole
15-minute slots (every report by day or hour), they read the per-slot rollups:
conversation counts from analytics_slot, handoffs by reason from analytics_handoff_slot,
and the time values from analytics_cycle_slot, which holds each slot's values packed, so
numpy takes the percentiles of exactly the cycles' values (linear interpolation, Hyndman
& Fan type 7, as PostgreSQL's `percentile_cont`). Otherwise they aggregate the
per-conversation and per-cycle rows: on PostgreSQL with `percentile_cont`, on SQLite
(which has none) by fetching the values and interpolating in numpy.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.ext.asyncio import AsyncConnection

from relaydesk.analytics import facts as F
from relaydesk.analytics.figures import percentiles
from relaydesk.analytics.frame import Filters, _where
from relaydesk.analytics.models import (
    BotFigures,
    CsatFigures,
    FeedbackFigures,
    HandoffFigures,
    Percentiles,
    TimeFigure,
)
from relaydesk.core.db import Database

# analytics_cycle_slot's byte format of a value (rollup.pack).
VALUE_DTYPE = "<f8"


def _flag(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


CONVERSATION_AGGREGATES = {
    "conversations": "COUNT(*)",
    "resolved": _flag("resolved"),
    "reopened": _flag("reopens > 0"),
    "transferred": _flag("transfers > 0"),
    "bot_involved": _flag("bot_involved"),
    "bot_resolved": _flag(f"bot_outcome = '{F.RESOLVED_BY_BOT}'"),
    "bot_handed_off": _flag(f"bot_outcome = '{F.HANDED_OFF}'"),
    "bot_human": _flag(f"bot_outcome IN ('{F.HUMAN}', '{F.BEFORE_BOT}')"),
    "bot_unanswered": _flag(f"bot_outcome = '{F.UNANSWERED}'"),
    "bot_pending": _flag(f"bot_outcome = '{F.PENDING}'"),
    "handoff_conversations": _flag("handoffs > 0"),
    "csat_responses": "COUNT(csat)",
    "csat_sum": "COALESCE(SUM(csat), 0)",
    **{f"csat_{n}": _flag(f"csat = {n}") for n in range(1, 6)},
    "feedback_up": "COALESCE(SUM(feedback_up), 0)",
    "feedback_down": "COALESCE(SUM(feedback_down), 0)",
}
TIME_COLUMNS = {
    "first_response_s": "frt",
    "resolution_s": "resolution",
    "queue_wait_s": "queue_wait",
}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _offsets(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[float, float]]:
    """(from epoch second, UTC offset in seconds) for each stretch of [start, end) with one
    offset (a DST change starts a new one; checked every 30 minutes, as zones change on
    the hour or the half hour)."""
    segments: list[tuple[float, float]] = []
    at = start
    while at < end:
        offset = at.astimezone(zone).utcoffset()
        seconds = offset.total_seconds() if offset is not None else 0.0
        if not segments or segments[-1][1] != seconds:
            segments.append((at.timestamp(), seconds))
        at += timedelta(minutes=30)
    return segments


class Aggregator:
    def __init__(self, connection: AsyncConnection, filters: Filters) -> None:
        self.connection = connection
        self.filters = filters
        self.postgres = connection.dialect.name == "postgresql"

    def _floor(self, expression: str) -> str:
        return f"FLOOR({expression})" if self.postgres else f"CAST({expression} AS INTEGER)"

    def bucket(self, interval: str) -> tuple[str, int]:
        """A SQL expression for a row's bucket index (0 = the first local day or hour) and
        the number of buckets."""
        f = self.filters
        start = f.start.timestamp()
        if interval == "hour":
            count = round((f.end.timestamp() - start) / 3600)
            return self._floor(f"(started_ts - {start!r}) / 3600.0"), count
        segments = _offsets(f.start, f.end, f.zone)
        first = int((start + segments[0][1]) // 86400)
        parts = [
            f"WHEN started_ts < {nxt!r} THEN {self._floor(f'(started_ts + {off!r}) / 86400.0')}"
            for (_, off), (nxt, _) in itertools.pairwise(segments)
        ]
        last = self._floor(f"(started_ts + {segments[-1][1]!r}) / 86400.0")
        expression = f"CASE {' '.join(parts)} ELSE {last} END" if parts else last
        return f"({expression} - {first})", (f.date_to - f.date_from).days + 1

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[Any]:
        raw = await self.connection.get_raw_connection()
        driver: Any = raw.driver_connection
        if self.postgres:
            # asyncpg's own records, with $n parameters: SQLAlchemy's result fetched the
            # thousands of slot rows one call per row.
            names: list[str] = []

            def number(match: re.Match[str]) -> str:
                names.append(match.group(1))
                return f"${len(names)}"

            numbered = re.sub(r"(?<![:\w]):(\w+)", number, sql)
            return list(await driver.fetch(numbered, *[params[n] for n in names]))
        # SQLite: straight from the driver (sqlite3 takes :name parameters itself), as
        # plain tuples; SQLAlchemy's result rows cost more than the query here.
        async with driver.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    def _slots(self) -> tuple[str, dict[str, Any]] | None:
        """The WHERE over analytics_slot when it can answer (no agent or label filter, and
        a range on 15-minute boundaries), else None."""
        f = self.filters
        lo, hi = f.start.timestamp(), f.end.timestamp()
        if f.agent_id is not None or f.label_id is not None or lo % 900 or hi % 900:
            return None
        clauses = ["site_id = :site", "started_ts >= :lo", "started_ts < :hi"]
        params: dict[str, Any] = {"site": f.site_id, "lo": lo, "hi": hi}
        if f.team_id is not None:
            clauses.append("team_id = :team")
            params["team"] = f.team_id
        if f.channel is not None:
            clauses.append("channel = :channel")
            params["channel"] = f.channel
        return " AND ".join(clauses), params

    async def conversations(self, bucket: str | None = None) -> dict[int, dict[str, int]]:
        slots = self._slots()
        if slots is not None:
            # The same sums, pre-added per slot; a slot lies within one bucket because
            # bucket edges are local day or hour starts, all on 15-minute boundaries.
            where, params = slots
            columns = ", ".join(f"SUM({n}) AS {n}" for n in CONVERSATION_AGGREGATES)
            table = "analytics_slot"
        else:
            where, params = _where(self.filters, "analytics_conversation")
            columns = ", ".join(f"{e} AS {n}" for n, e in CONVERSATION_AGGREGATES.items())
            table = "analytics_conversation"
        group = f", {bucket} AS bucket" if bucket else ", 0 AS bucket"
        sql = f"SELECT {columns}{group} FROM {table} WHERE {where}"
        if bucket:
            sql += " GROUP BY bucket"
        out: dict[int, dict[str, int]] = {}
        names = list(CONVERSATION_AGGREGATES)
        for row in await self._rows(sql, params):
            out[int(row[-1])] = {n: int(v or 0) for n, v in zip(names, row, strict=False)}
        return out

    async def handoffs(self, bucket: str | None = None) -> dict[int, dict[str, int]]:
        slots = self._slots()
        if slots is not None:
            # Pre-counted per slot (analytics_handoff_slot); a slot lies within one bucket.
            where, params = slots
            key = bucket or "0"
            sql = (
                f"SELECT {key} AS bucket, reason, SUM(handoffs) FROM analytics_handoff_slot"
                f" WHERE {where} GROUP BY {'bucket, reason' if bucket else 'reason'}"
            )
            added: dict[int, dict[str, int]] = defaultdict(dict)
            for b, reason, n in await self._rows(sql, params):
                added[int(b)][str(reason)] = int(n)
            return added
        where, params = _where(self.filters, "analytics_cycle")
        key = bucket or "0"
        group = "bucket, handoff_reason" if bucket else "handoff_reason"
        sql = (
            f"SELECT {key} AS bucket, handoff_reason, COUNT(*) FROM analytics_cycle"
            f" WHERE {where} AND handoff_reason IS NOT NULL GROUP BY {group}"
        )
        out: dict[int, dict[str, int]] = defaultdict(dict)
        for b, reason, n in await self._rows(sql, params):
            out[int(b)][str(reason)] = int(n)
        return out

    async def times(
        self, columns: list[str], bucket: str | None = None
    ) -> dict[str, dict[int, Percentiles]]:
        """Per column, per bucket: the percentiles of the values present (NULLs, cycles
        without that time, are left out). One query for all the columns."""
        slots = self._slots()
        if slots is not None:
            return await self._slot_times(columns, bucket, slots)
        where, params = _where(self.filters, "analytics_cycle")
        key = bucket or "0"
        any_value = " OR ".join(f"{c} IS NOT NULL" for c in columns)
        if self.postgres:
            aggregates = ", ".join(
                f"COUNT({c}), percentile_cont(0.5) WITHIN GROUP (ORDER BY {c}),"
                f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {c}), AVG({c})"
                for c in columns
            )
            sql = (
                f"SELECT {key} AS bucket, {aggregates} FROM analytics_cycle"
                f" WHERE {where} AND ({any_value})" + (" GROUP BY bucket" if bucket else "")
            )
            out: dict[str, dict[int, Percentiles]] = {c: {} for c in columns}
            for row in await self._rows(sql, params):
                for n, column in enumerate(columns):
                    count, median, p90, mean = row[1 + 4 * n : 5 + 4 * n]
                    if count:
                        out[column][int(row[0])] = Percentiles(
                            count=int(count),
                            median=round(float(median), 3),
                            p90=round(float(p90), 3),
                            mean=round(float(mean), 3),
                        )
            return out
        sql = (
            f"SELECT {key} AS bucket, {', '.join(columns)} FROM analytics_cycle"
            f" WHERE {where} AND ({any_value})"
        )
        rows = await self._rows(sql, params)
        if not rows:
            return {c: {} for c in columns}
        data = np.array(rows, dtype=np.float64)  # None becomes NaN
        buckets = data[:, 0].astype(np.int64)
        out = {c: {} for c in columns}
        for b in np.unique(buckets).tolist():
            selected = data[buckets == b]
            for n, column in enumerate(columns):
                figure = percentiles(selected[:, 1 + n])
                if figure.count:
                    out[column][int(b)] = figure
        return out

    async def _slot_times(
        self, columns: list[str], bucket: str | None, slots: tuple[str, dict[str, Any]]
    ) -> dict[str, dict[int, Percentiles]]:
        """`times` from analytics_cycle_slot: each slot's values of a column are stored
        packed, so a bucket's values are its slots' bytes joined, and numpy takes the
        same percentiles of them as of the cycle rows (the values, not an estimate)."""
        where, params = slots
        if self.postgres:
            # The database joins each bucket's bytes (one row per bucket leaves it, not
            # one per slot); SQLite has no aggregate that joins blobs.
            selected = ", ".join(f"string_agg({c}, ''::bytea)" for c in columns)
            group = " GROUP BY bucket" if bucket else ""
        else:
            selected, group = ", ".join(columns), ""
        sql = (
            f"SELECT {bucket or '0'} AS bucket, {selected} FROM analytics_cycle_slot"
            f" WHERE {where}{group} ORDER BY 1"
        )
        out: dict[str, dict[int, Percentiles]] = {c: {} for c in columns}
        rows = await self._rows(sql, params)
        for b, grouped in itertools.groupby(rows, key=lambda row: int(row[0])):
            bucket_rows = list(grouped)
            for n, column in enumerate(columns, start=1):
                packed = b"".join([row[n] or b"" for row in bucket_rows])
                if packed:
                    values = np.frombuffer(packed, dtype=VALUE_DTYPE).astype(np.float64)
                    out[column][b] = percentiles(values)
        return out


EMPTY = Percentiles(count=0, median=None, p90=None, mean=None)


def summary(
    counts: dict[str, int], reasons: dict[str, int], times: dict[str, Percentiles]
) -> dict[str, Any]:
    """The overview's figures from one bucket's aggregates."""
    c = defaultdict(int, counts)
    involved, total = c["bot_involved"], c["conversations"]
    return {
        "conversations": total,
        "resolved": c["resolved"],
        "reopened": c["reopened"],
        "transferred": c["transferred"],
        "bot": BotFigures(
            involved=involved,
            resolved=c["bot_resolved"],
            handed_off=c["bot_handed_off"],
            human=c["bot_human"],
            unanswered=c["bot_unanswered"],
            pending=c["bot_pending"],
            resolution_rate=_rate(c["bot_resolved"], involved),
            handoff_rate=_rate(c["bot_handed_off"], involved),
            deflection_rate=_rate(c["bot_resolved"], total),
            automation_rate=_rate(c["bot_resolved"], total),
        ),
        "handoffs": HandoffFigures(
            total=sum(reasons.values()),
            conversations=c["handoff_conversations"],
            rate=_rate(c["handoff_conversations"], total),
            by_reason=dict(sorted(reasons.items())),
        ),
        **{
            name: TimeFigure(
                **times.get(f"{prefix}_s", EMPTY).model_dump(),
                business_hours=times.get(f"{prefix}_bh_s", EMPTY),
            )
            for name, prefix in TIME_COLUMNS.items()
        },
        "csat": CsatFigures(
            responses=c["csat_responses"],
            average=round(c["csat_sum"] / c["csat_responses"], 3) if c["csat_responses"] else None,
            distribution={str(n): c[f"csat_{n}"] for n in range(1, 6)},
            response_rate=_rate(c["csat_responses"], c["resolved"]),
        ),
        "feedback": FeedbackFigures(
            up=c["feedback_up"],
            down=c["feedback_down"],
            ratio=_rate(c["feedback_up"], c["feedback_up"] + c["feedback_down"]),
        ),
    }


async def overview(db: Database, filters: Filters) -> dict[str, Any]:
    async with db.engine.connect() as connection:
        a = Aggregator(connection, filters)
        counts = (await a.conversations()).get(0, {})
        reasons = (await a.handoffs()).get(0, {})
        columns = [f"{p}{s}" for p in TIME_COLUMNS.values() for s in ("_s", "_bh_s")]
        times = {c: by.get(0, EMPTY) for c, by in (await a.times(columns)).items()}
    return summary(counts, reasons, times)


async def series(
    db: Database, filters: Filters, *, metric: str, interval: str, stat: str, business_hours: bool
) -> tuple[list[tuple[float | None, int]], float | None]:
    """(value, rows behind it) per bucket, and the whole range's value."""
    async with db.engine.connect() as connection:
        a = Aggregator(connection, filters)
        bucket, n = a.bucket(interval)
        if metric in TIME_COLUMNS:
            column = TIME_COLUMNS[metric] + ("_bh_s" if business_hours else "_s")
            per = (await a.times([column], bucket))[column]
            whole = (await a.times([column]))[column].get(0, EMPTY)

            def pick(p: Percentiles) -> float | None:
                return p.median if stat == "median" else p.p90 if stat == "p90" else p.mean

            points = [(pick(per.get(i, EMPTY)), per.get(i, EMPTY).count) for i in range(n)]
            return points, pick(whole)
        if metric == "handoffs":
            per_reason = await a.handoffs(bucket)
            counts = [sum(per_reason.get(i, {}).values()) for i in range(n)]
            return [(float(v), v) for v in counts], float(sum(counts))
        per_counts = await a.conversations(bucket)
        whole_counts = (await a.conversations()).get(0, {})
        return [_count_metric(metric, per_counts.get(i, {})) for i in range(n)], _count_metric(
            metric, whole_counts
        )[0]


def _count_metric(metric: str, counts: dict[str, int]) -> tuple[float | None, int]:
    c = defaultdict(int, counts)
    if metric == "bot_resolution_rate":
        return _rate(c["bot_resolved"], c["bot_involved"]), c["bot_involved"]
    if metric == "csat_average":
        n = c["csat_responses"]
        return (round(c["csat_sum"] / n, 3) if n else None), n
    value = c[metric]
    return float(value), value
