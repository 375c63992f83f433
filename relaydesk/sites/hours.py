"""A site's business hours (`Site.business_hours`): when people are there to take a
conversation. The widget, the queue and the analytics' business-time figures read them."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

log = logging.getLogger(__name__)

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]


class BusinessHours(BaseModel):
    """`Site.business_hours`. An empty object means always open.

    {"timezone": "Asia/Shanghai",
     "weekly": {"mon": [["09:00", "18:00"]], "sat": [["10:00", "14:00"]]},
     "closed_dates": ["2026-12-25"]}

    Days missing from `weekly` are closed; a day may have several ranges; "24:00" ends a
    day. Times are local to `timezone` (an IANA name, default UTC).
    """

    model_config = ConfigDict(extra="forbid")

    timezone: str = "UTC"
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], list[tuple[HHMM, HHMM]]]
    closed_dates: list[date] = Field(default_factory=list)

    def is_open(self, now: datetime) -> bool:
        try:
            local = now.astimezone(ZoneInfo(self.timezone))
        except (ZoneInfoNotFoundError, ValueError):
            local = now
        if local.date() in self.closed_dates:
            return False
        minutes = local.hour * 60 + local.minute
        for start, end in self.weekly.get(_DAYS[local.weekday()], []):  # type: ignore[call-overload]
            if _minutes(start) <= minutes < _minutes(end):
                return True
        return False


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def within_business_hours(raw: dict[str, object], now: datetime) -> bool:
    """Whether `Site.business_hours` says the site is open at `now`; an empty or invalid
    value means always open, so a typo never hides the queue from visitors."""
    if not raw:
        return True
    try:
        hours = BusinessHours.model_validate(raw)
    except ValidationError:
        log.warning("invalid business_hours ignored: %s", raw)
        return True
    return hours.is_open(now)
