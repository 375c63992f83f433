"""The analytics rollups (a cache of facts.py's output, rebuilt from the event log at
will) and the REST schemas.

Instants are stored twice: as timestamps for people and exports, and as epoch seconds
(`*_ts`) that the reports bucket with numpy without parsing a datetime per row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from relaydesk.core.models import UTCDateTime


def _at(**kwargs: Any) -> Any:
    return Field(default=None, sa_type=UTCDateTime, **kwargs)


class AnalyticsConversation(SQLModel, table=True):
    __tablename__ = "analytics_conversation"
    __table_args__ = (Index("ix_analytics_conversation_site_started", "site_id", "started_ts"),)

    conversation_id: str = Field(primary_key=True, max_length=32)
    site_id: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    started_ts: float
    team_id: int | None = None
    channel: str = Field(default="widget", max_length=16)
    bot_involved: bool = False
    bot_outcome: str | None = Field(default=None, max_length=16)
    bot_settles_ts: float | None = Field(default=None, index=True)
    handoffs: int = 0
    handoff_reason: str | None = Field(default=None, max_length=64)
    reopens: int = 0
    transfers: int = 0
    visitor_messages: int = 0
    bot_messages: int = 0
    agent_messages: int = 0
    csat: int | None = None
    feedback_up: int = 0
    feedback_down: int = 0
    agent_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    resolved: bool = False
    cycles: int = 1
    # The conversation's first human cycle, for the one-row-per-conversation export.
    first_response_s: float | None = None
    first_response_bh_s: float | None = None
    resolution_s: float | None = None
    resolution_bh_s: float | None = None
    queue_wait_s: float | None = None
    queue_wait_bh_s: float | None = None


class AnalyticsCycle(SQLModel, table=True):
    __tablename__ = "analytics_cycle"
    __table_args__ = (
        Index("ix_analytics_cycle_site_started", "site_id", "started_ts"),
        # Covering indexes: the percentiles read only the time columns and the handoff
        # counts only the reason, so both are index-only scans of the range.
        Index(
            "ix_analytics_cycle_times",
            "site_id",
            "started_ts",
            "frt_s",
            "frt_bh_s",
            "queue_wait_s",
            "queue_wait_bh_s",
            "resolution_s",
            "resolution_bh_s",
        ),
        Index("ix_analytics_cycle_reasons", "site_id", "started_ts", "handoff_reason"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=32, index=True)
    site_id: int
    number: int
    started_at: datetime = Field(sa_type=UTCDateTime)
    started_ts: float
    agent_id: int | None = Field(default=None, index=True)
    bot_replied: bool = False
    human: bool = False
    handoff_at: datetime | None = _at()
    handoff_reason: str | None = Field(default=None, max_length=64)
    assigned_at: datetime | None = _at()
    first_human_at: datetime | None = _at()
    resolved_at: datetime | None = _at()
    transfers: int = 0
    frt_s: float | None = None
    frt_bh_s: float | None = None
    queue_wait_s: float | None = None
    queue_wait_bh_s: float | None = None
    resolution_s: float | None = None
    resolution_bh_s: float | None = None


class AnalyticsSlot(SQLModel, table=True):
    """Conversation counts per site, 15-minute slot (by start), team and channel: the
    sums `aggregate.CONVERSATION_AGGREGATES` would take over analytics_conversation,
    pre-added, so an overview or a count timeseries reads ~100 rows a day however many
    conversations there were. Every time zone's day and hour boundaries fall on a
    15-minute boundary, so any local day is a whole number of slots. Rebuilt from
    analytics_conversation for the slots a refresh touched (rollup.py)."""

    __tablename__ = "analytics_slot"

    site_id: int = Field(primary_key=True)
    started_ts: float = Field(primary_key=True)
    # 0: no team (the filter only ever asks for a real team).
    team_id: int = Field(default=0, primary_key=True)
    channel: str = Field(default="widget", primary_key=True, max_length=16)
    conversations: int = 0
    resolved: int = 0
    reopened: int = 0
    transferred: int = 0
    bot_involved: int = 0
    bot_resolved: int = 0
    bot_handed_off: int = 0
    bot_human: int = 0
    bot_unanswered: int = 0
    bot_pending: int = 0
    handoff_conversations: int = 0
    csat_responses: int = 0
    csat_sum: int = 0
    csat_1: int = 0
    csat_2: int = 0
    csat_3: int = 0
    csat_4: int = 0
    csat_5: int = 0
    feedback_up: int = 0
    feedback_down: int = 0


class AnalyticsCycleSlot(SQLModel, table=True):
    """The cycles' time figures per site, 15-minute slot (by cycle start), team and
    channel (the conversation's): each column holds the slot's values that are present,
    as float64 bytes (`rollup.pack`). An overview reads ~100 rows a day and takes the
    exact percentiles of their joined values in numpy, instead of the database sorting
    every cycle of the range once per figure. Re-made from analytics_cycle for the slots a refresh
    touched (rollup.py), so its values are exactly the cycle rows'."""

    __tablename__ = "analytics_cycle_slot"

    site_id: int = Field(primary_key=True)
    started_ts: float = Field(primary_key=True)
    team_id: int = Field(default=0, primary_key=True)
    channel: str = Field(default="widget", primary_key=True, max_length=16)
    frt_s: bytes = Field(default=b"", sa_type=LargeBinary)
    frt_bh_s: bytes = Field(default=b"", sa_type=LargeBinary)
    queue_wait_s: bytes = Field(default=b"", sa_type=LargeBinary)
    queue_wait_bh_s: bytes = Field(default=b"", sa_type=LargeBinary)
    resolution_s: bytes = Field(default=b"", sa_type=LargeBinary)
    resolution_bh_s: bytes = Field(default=b"", sa_type=LargeBinary)


class AnalyticsHandoffSlot(SQLModel, table=True):
    """Handoff requests per site, 15-minute slot (by cycle start), team, channel and
    reason: `handoffs.by_reason` is a SUM over ~300 rows a day. Re-made with
    analytics_cycle_slot."""

    __tablename__ = "analytics_handoff_slot"

    site_id: int = Field(primary_key=True)
    started_ts: float = Field(primary_key=True)
    team_id: int = Field(default=0, primary_key=True)
    channel: str = Field(default="widget", primary_key=True, max_length=16)
    reason: str = Field(primary_key=True, max_length=64)
    handoffs: int = 0


class AnalyticsState(SQLModel, table=True):
    """The id of the last event folded into the rollups."""

    __tablename__ = "analytics_state"

    key: str = Field(primary_key=True, max_length=32)
    value: int = 0


# REST


class Percentiles(BaseModel):
    count: int
    median: float | None
    p90: float | None
    mean: float | None


class TimeFigure(Percentiles):
    business_hours: Percentiles


class BotFigures(BaseModel):
    involved: int
    resolved: int
    handed_off: int
    human: int
    unanswered: int
    pending: int
    resolution_rate: float | None
    handoff_rate: float | None
    deflection_rate: float | None
    automation_rate: float | None


class HandoffFigures(BaseModel):
    total: int
    conversations: int
    rate: float | None
    by_reason: dict[str, int]


class CsatFigures(BaseModel):
    responses: int
    average: float | None
    distribution: dict[str, int]
    response_rate: float | None


class FeedbackFigures(BaseModel):
    up: int
    down: int
    ratio: float | None


class OverviewPublic(BaseModel):
    site_id: int
    timezone: str
    date_from: str
    date_to: str
    conversations: int
    resolved: int
    reopened: int
    transferred: int
    bot: BotFigures
    handoffs: HandoffFigures
    first_response_s: TimeFigure
    resolution_s: TimeFigure
    queue_wait_s: TimeFigure
    csat: CsatFigures
    feedback: FeedbackFigures


class TimeseriesPoint(BaseModel):
    start: str
    value: float | None
    # Conversations (or cycles, for time figures) behind the point: the drill-down size.
    count: int


class TimeseriesPublic(BaseModel):
    site_id: int
    timezone: str
    metric: str
    interval: str
    points: list[TimeseriesPoint]
    total: float | None


class LivePublic(BaseModel):
    open: int
    bot: int
    unassigned: int
    waiting: int
    longest_wait_s: float | None


class UtilisationFigures(BaseModel):
    online_s: float
    away_s: float
    # Averaged over the online time; None when the agent was never online.
    concurrent_avg: float | None
    concurrent_peak: int
    # concurrent_avg / capacity.
    utilisation: float | None
    at_capacity_s: float


class UtilisationPoint(UtilisationFigures):
    start: str


class UtilisationPublic(UtilisationFigures):
    agent_id: int
    name: str | None
    capacity: int
    points: list[UtilisationPoint]
