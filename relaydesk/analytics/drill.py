"""The drill-down filter of the inbox's list (`GET /api/v1/conversations?drill=...`): the
conversations behind one figure of the dashboard, resolved on the server to the same set
the figure counts, so the list's `total` is the number the dashboard showed.

A drill key is a query string of its own (URL-encoded as the one `drill` parameter):
`metric` and the report's filters (`site`, `from`, `to`, `tz`, `team`, `agent`, `label`,
`channel`), plus `reason` (one handoff reason) and `bh=1` (a time figure's
business-hours variant). A timeseries point is its day (or hour: `from`=`to` and
`hour=0..23`). The set is a SQL condition over the rollups, not a list of ids, so it has
no size limit and pages like any other inbox filter."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import String, and_, text
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from relaydesk.analytics import facts as F
from relaydesk.analytics import rollup, strings  # noqa: F401  (strings: the banner's)
from relaydesk.analytics.access import authorize, invalid, report_filters
from relaydesk.analytics.frame import Filters, _where
from relaydesk.conversations.models import Conversation, ConversationStatus
from relaydesk.conversations.policy import StaffScope
from relaydesk.core.db import Database

MAX_KEY = 600
LOC = ("query", "drill")

# Figures over conversations (by their start): the condition on analytics_conversation.
CONVERSATION_METRICS = {
    "conversations": None,
    "resolved": "resolved",
    "reopened": "reopens > 0",
    "transferred": "transfers > 0",
    "bot_involved": "bot_involved",
    # A rate's conversations are its denominator's.
    "bot_resolution_rate": "bot_involved",
    "bot_resolved": f"bot_outcome = '{F.RESOLVED_BY_BOT}'",
    "bot_handed_off": f"bot_outcome = '{F.HANDED_OFF}'",
    "csat_responses": "csat IS NOT NULL",
    "csat_average": "csat IS NOT NULL",
    "feedback_up": "feedback_up > 0",
    "feedback_down": "feedback_down > 0",
}
# Figures over bot→human cycles (by the cycle's start): the column that must be present.
CYCLE_METRICS = {
    "handoffs": "handoff_reason",
    "first_response_s": "frt",
    "resolution_s": "resolution",
    "queue_wait_s": "queue_wait",
}
# The live figures: conversations now, not over a range.
LIVE_METRICS = ("live_open", "live_queued")

DrillMetric = Literal[
    "conversations",
    "resolved",
    "reopened",
    "transferred",
    "bot_involved",
    "bot_resolution_rate",
    "bot_resolved",
    "bot_handed_off",
    "csat_responses",
    "csat_average",
    "feedback_up",
    "feedback_down",
    "handoffs",
    "first_response_s",
    "resolution_s",
    "queue_wait_s",
    "live_open",
    "live_queued",
]

Id = Annotated[int, Field(ge=1, le=2**53)]


class DrillKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    metric: DrillMetric
    site: Id
    date_from: date | None = Field(default=None, alias="from")
    date_to: date | None = Field(default=None, alias="to")
    hour: int | None = Field(default=None, ge=0, le=23)
    tz: str | None = Field(default=None, max_length=64)
    team: Id | None = None
    agent: Id | None = None
    label: Id | None = None
    channel: Literal["widget"] | None = None
    reason: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$"
    )
    bh: bool = False


def parse(raw: str) -> DrillKey:
    """The key, or a 422 naming `drill` and the part that is wrong."""
    try:
        pairs = parse_qsl(raw, keep_blank_values=False, strict_parsing=True, max_num_fields=20)
    except ValueError as exc:
        raise invalid(LOC, "not a query string of key=value pairs") from exc
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise invalid((*LOC, name), "given twice")
        values[name] = value
    try:
        key = DrillKey.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid((*LOC, *(str(p) for p in first["loc"])), first["msg"]) from exc
    if key.hour is not None and (key.date_from is None or key.date_from != key.date_to):
        raise invalid((*LOC, "hour"), "an hour needs `from` and `to` set to its day")
    if key.reason is not None and key.metric != "handoffs":
        raise invalid((*LOC, "reason"), "only the handoffs figure has reasons")
    return key


def _named(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Parameters renamed `drill_*`, so they cannot meet the inbox query's own."""
    renamed = re.sub(r":(\w+)", r":drill_\1", sql)
    return renamed, {f"drill_{k}": v for k, v in params.items()}


def _range(filters: Filters, hour: int | None) -> tuple[float, float] | None:
    if hour is None:
        return None
    start = datetime.combine(filters.date_from, datetime.min.time(), filters.zone)
    # Wall-clock hour `hour` of that day (a DST gap hour is empty; a repeated one is both).
    lo = start.replace(hour=hour)
    return lo.timestamp(), (lo + timedelta(hours=1)).timestamp()


async def condition(db: Database, scope: StaffScope, key: DrillKey) -> ColumnElement[bool]:
    """The conversations behind the figure, as a condition on `Conversation`; the caller's
    own visibility still applies on top (an agent's list shows only what they may see)."""
    if key.metric in LIVE_METRICS:
        # As the live figures count them (service.live): now, in the site.
        agent = authorize(scope, key.site, team=None, agent=key.agent)
        clauses = [col(Conversation.site_id) == key.site]
        if key.metric == "live_queued":
            clauses.append(col(Conversation.status) == ConversationStatus.QUEUED)
        else:
            clauses.append(col(Conversation.status) != ConversationStatus.RESOLVED)
        if agent is not None:
            clauses.append(col(Conversation.assignee_id) == agent)
        return and_(*clauses)
    filters = await report_filters(
        db,
        scope,
        site=key.site,
        date_from=key.date_from,
        date_to=key.date_to,
        tz=key.tz,
        team=key.team,
        agent=key.agent,
        label=key.label,
        channel=key.channel,
        loc=LOC,
    )
    await rollup.refresh(db)
    window = _range(filters, key.hour)
    if key.metric in CYCLE_METRICS:
        table = "analytics_cycle"
        where, params = _where(filters, table)
        column = CYCLE_METRICS[key.metric]
        if column != "handoff_reason":
            column += "_bh_s" if key.bh else "_s"
        where += f" AND {column} IS NOT NULL"
        if key.reason is not None:
            where += " AND handoff_reason = :reason"
            params["reason"] = key.reason
    else:
        table = "analytics_conversation"
        where, params = _where(filters, table)
        extra = CONVERSATION_METRICS[key.metric]
        if extra is not None:
            where += f" AND {extra}"
    if window is not None:
        where += f" AND {table}.started_ts >= :hour_lo AND {table}.started_ts < :hour_hi"
        params["hour_lo"], params["hour_hi"] = window
    sql, bound = _named(f"SELECT conversation_id FROM {table} WHERE {where}", params)
    ids = text(sql).bindparams(**bound).columns(conversation_id=String)
    return col(Conversation.id).in_(ids)
