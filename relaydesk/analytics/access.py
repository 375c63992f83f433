"""Who may see which figures, and a report's filters from its parameters: shared by the
REST reports (routes.py) and the inbox's drill-down filter (drill.py), so a drill-down
is scoped exactly as the figure it came from.

Admins see every site; supervisors the sites of their teams (and, with a team filter,
only their own teams); agents only their own figures (the agent filter is set to them,
and naming another agent is refused); editors nothing."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fastapi.exceptions import RequestValidationError

from relaydesk.analytics.frame import MAX_DAYS, Filters
from relaydesk.analytics.hours import site_timezone, valid_timezone
from relaydesk.conversations.policy import StaffScope
from relaydesk.core.db import Database
from relaydesk.core.errors import Forbidden, NotFound
from relaydesk.core.models import Role, utcnow
from relaydesk.sites import service as sites

# Day arithmetic (a day's end, the bucket edges) must stay inside datetime's range in every
# time zone.
FIRST_DAY = date(1970, 1, 2)
LAST_DAY = date(9999, 12, 1)


def invalid(loc: tuple[str, ...], message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])


def authorize(scope: StaffScope, site: int, *, team: int | None, agent: int | None) -> int | None:
    """The agent filter the caller gets (agents: themselves), or a refusal."""
    if scope.is_admin:
        return agent
    if not scope.handles_conversations:
        raise Forbidden("analytics are for agents, supervisors and admins", code="forbidden")
    if site not in scope.site_ids:
        raise NotFound("no such site", code="site_not_found")
    if team is not None and team not in scope.team_ids:
        raise Forbidden("that team is not one of yours", code="forbidden")
    if scope.user.has_role(Role.SUPERVISOR):
        return agent
    if agent is not None and agent != scope.user_id:
        raise Forbidden("agents see their own figures only", code="forbidden")
    return scope.user_id


async def report_filters(
    db: Database,
    scope: StaffScope,
    *,
    site: int,
    date_from: date | None = None,
    date_to: date | None = None,
    tz: str | None = None,
    team: int | None = None,
    agent: int | None = None,
    label: int | None = None,
    channel: str | None = None,
    loc: tuple[str, ...] = ("query",),
) -> Filters:
    """The caller's filters for a report; an invalid one is a 422 naming the field
    (under `loc`)."""
    agent = authorize(scope, site, team=team, agent=agent)
    row = await sites.get_site(db, site)
    zone = tz or site_timezone(row.business_hours)
    if not valid_timezone(zone):
        raise invalid((*loc, "tz"), "not a known IANA time zone")
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    last = date_to or today
    first = date_from or last - timedelta(days=6)
    for name, day in (("from", first), ("to", last)):
        if not FIRST_DAY <= day <= LAST_DAY:
            raise invalid((*loc, name), f"must be between {FIRST_DAY} and {LAST_DAY}")
    if first > last:
        raise invalid((*loc, "from"), "must not be after `to`")
    if (last - first).days + 1 > MAX_DAYS:
        raise invalid((*loc, "to"), f"the range may span at most {MAX_DAYS} days")
    return Filters(
        site_id=site,
        date_from=first,
        date_to=last,
        tz=zone,
        team_id=team,
        agent_id=agent,
        label_id=label,
        channel=channel,
    )
