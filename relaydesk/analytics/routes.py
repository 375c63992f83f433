"""REST: the analytics reports (docs/analytics.md defines every figure).

Who sees what: access.py (admins every site, supervisors their teams' sites, agents their
own figures)."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.exceptions import RequestValidationError

from relaydesk.analytics import service, utilisation
from relaydesk.analytics.access import invalid, report_filters
from relaydesk.analytics.frame import Filters
from relaydesk.analytics.models import (
    LivePublic,
    OverviewPublic,
    TimeseriesPublic,
    UtilisationPublic,
)
from relaydesk.conversations.policy import load_scope
from relaydesk.core.db import Database
from relaydesk.core.deps import CurrentUser, DbDep

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

MAX_HOURLY_DAYS = 31

Metric = Literal[
    "conversations",
    "bot_involved",
    "bot_resolved",
    "bot_resolution_rate",
    "handoffs",
    "resolved",
    "csat_responses",
    "csat_average",
    "feedback_up",
    "feedback_down",
    "first_response_s",
    "resolution_s",
    "queue_wait_s",
]


def _invalid(field: str, message: str) -> RequestValidationError:
    return invalid(("query", field), message)


async def _filters(
    db: DbDep,
    user: CurrentUser,
    site: Annotated[int, Query(ge=1, description="the site to report on")],
    date_from: Annotated[
        date | None, Query(alias="from", description="first local day (default: 6 days ago)")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="last local day, inclusive (default: today)")
    ] = None,
    tz: Annotated[
        str | None,
        Query(max_length=64, description="IANA zone for day boundaries (default: the site's)"),
    ] = None,
    team: Annotated[int | None, Query(ge=1)] = None,
    agent: Annotated[int | None, Query(ge=1)] = None,
    label: Annotated[int | None, Query(ge=1)] = None,
    channel: Annotated[Literal["widget"] | None, Query()] = None,
) -> Filters:
    return await report_filters(
        db,
        await load_scope(db, user),
        site=site,
        date_from=date_from,
        date_to=date_to,
        tz=tz,
        team=team,
        agent=agent,
        label=label,
        channel=channel,
    )


FiltersDep = Annotated[Filters, Depends(_filters)]


@router.get("/overview", response_model=OverviewPublic)
async def overview(db: DbDep, filters: FiltersDep) -> OverviewPublic:
    """Every headline figure of the range (conversations that started in it)."""
    return await service.overview(db, filters)


@router.get("/timeseries", response_model=TimeseriesPublic)
async def timeseries(
    db: DbDep,
    filters: FiltersDep,
    metric: Annotated[Metric, Query()] = "conversations",
    interval: Annotated[Literal["day", "hour"], Query()] = "day",
    stat: Annotated[
        Literal["median", "p90", "mean"], Query(description="for time metrics")
    ] = "median",
    business_hours: Annotated[
        bool, Query(description="time metrics within the site's hours")
    ] = False,
) -> TimeseriesPublic:
    """One point per local day or hour; counts sum to the overview's figure."""
    if interval == "hour" and (filters.date_to - filters.date_from).days + 1 > MAX_HOURLY_DAYS:
        raise _invalid("interval", f"hourly series span at most {MAX_HOURLY_DAYS} days")
    return await service.timeseries(
        db, filters, metric=metric, interval=interval, stat=stat, business_hours=business_hours
    )


@router.get("/drilldown")
async def drilldown(
    db: DbDep,
    filters: FiltersDep,
    metric: Annotated[Metric, Query()] = "conversations",
) -> dict[str, Any]:
    """The conversations behind a figure (or a timeseries point: pass its day as both
    `from` and `to`), at most 500, for the inbox's list view."""
    return {"conversation_ids": await service.drill_down(db, filters, metric=metric)}


@router.get("/live", response_model=LivePublic)
async def live(db: DbDep, filters: FiltersDep) -> LivePublic:
    """Open, unassigned and waiting conversations now, and the longest current wait."""
    return await service.live(db, site_id=filters.site_id, agent_id=filters.agent_id)


@router.get("/agents")
async def agents(db: DbDep, filters: FiltersDep) -> list[dict[str, Any]]:
    return await service.agents(db, filters)


@router.get("/utilisation", response_model=list[UtilisationPublic])
async def agent_utilisation(
    db: DbDep,
    filters: FiltersDep,
    interval: Annotated[Literal["day", "hour"], Query()] = "day",
) -> list[UtilisationPublic]:
    """Per agent: online time, concurrent conversations against their capacity, and
    utilisation, over the range and per local day or hour (docs/analytics.md). The label
    and channel filters do not apply: load is every conversation the agent owns."""
    if interval == "hour" and (filters.date_to - filters.date_from).days + 1 > MAX_HOURLY_DAYS:
        raise _invalid("interval", f"hourly series span at most {MAX_HOURLY_DAYS} days")
    rows = await utilisation.utilisation(db, filters, interval=interval)
    return [UtilisationPublic.model_validate(row) for row in rows]


@router.get("/handoff-reasons")
async def handoff_reasons(db: DbDep, filters: FiltersDep) -> list[dict[str, Any]]:
    return await service.handoff_reasons(db, filters)


@router.get("/hours")
async def hours(db: DbDep, filters: FiltersDep) -> list[dict[str, Any]]:
    """Conversations by local weekday (0 = Monday) and hour."""
    return await service.by_hour_weekday(db, filters)


@router.get("/entries")
async def entries(db: DbDep, filters: FiltersDep) -> list[dict[str, Any]]:
    """Most cited knowledge entries and how often their answers got a thumbs-down."""
    return await service.cited_entries(db, filters)


def _csv(rows: list[dict[str, Any]], name: str) -> Response:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _cell(value: Any) -> Any:
    # A cell starting with = + - @ is a formula to a spreadsheet: quote it.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


async def _utilisation_rows(db: Database, filters: Filters) -> list[dict[str, Any]]:
    rows = await utilisation.utilisation(db, filters, interval="day")
    return [{k: v for k, v in row.items() if k != "points"} for row in rows]


_TABLES = {
    "conversations": service.conversation_rows,
    "utilisation": _utilisation_rows,
    "agents": service.agents,
    "handoff-reasons": service.handoff_reasons,
    "hours": service.by_hour_weekday,
    "entries": service.cited_entries,
}


def _csv_route(table: str) -> None:
    async def table_csv(db: DbDep, filters: FiltersDep) -> Response:
        rows = await _TABLES[table](db, filters)
        return _csv(rows, f"{table}-{filters.date_from}-{filters.date_to}")

    summary = (
        "One row per conversation started in the range, with all its figures (CSV)"
        if table == "conversations"
        else f"The {table} table (CSV)"
    )
    router.add_api_route(
        f"/{table}.csv",
        table_csv,
        methods=["GET"],
        response_class=Response,
        summary=summary,
        name=f"analytics_{table.replace('-', '_')}_csv",
        responses={200: {"content": {"text/csv": {}}}},
    )


for _table in _TABLES:
    _csv_route(_table)
