"""Time arithmetic for reports: business seconds between two instants, and local-day or
local-hour buckets in a time zone, with daylight-saving days 23 or 25 hours long."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from relaydesk.sites.hours import BusinessHours

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def site_hours(raw: dict[str, object]) -> BusinessHours | None:
    """`Site.business_hours` parsed; None means always open (empty or invalid, as the
    widget treats it: sites/hours.within_business_hours)."""
    if not raw:
        return None
    try:
        return BusinessHours.model_validate(raw)
    except ValidationError:
        return None


def site_timezone(raw: dict[str, object]) -> str:
    hours = site_hours(raw)
    if hours is None:
        tz = raw.get("timezone") if isinstance(raw, dict) else None
        return tz if isinstance(tz, str) and valid_timezone(tz) else "UTC"
    return hours.timezone if valid_timezone(hours.timezone) else "UTC"


def valid_timezone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _local(day: date, hhmm: str, tz: ZoneInfo) -> datetime:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    if hours == 24:
        return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=tz)
    return datetime.combine(day, time(hours, minutes), tzinfo=tz)


def business_seconds(start: datetime, end: datetime, hours: BusinessHours | None) -> float:
    """Seconds of [start, end) that fall within the business hours (all of them when the
    site has none)."""
    if end <= start:
        return 0.0
    if hours is None:
        return (end - start).total_seconds()
    try:
        tz = ZoneInfo(hours.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    closed = set(hours.closed_dates)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    total = 0.0
    while day <= last:
        if day not in closed:
            for open_at, close_at in hours.weekly.get(_DAYS[day.weekday()], []):  # type: ignore[call-overload]
                lo = max(start, _local(day, open_at, tz).astimezone(UTC))
                hi = min(end, _local(day, close_at, tz).astimezone(UTC))
                if hi > lo:
                    total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return total


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The instant (UTC) the local day begins."""
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def bucket_edges(first: date, last: date, tz: ZoneInfo, interval: str) -> list[datetime]:
    """UTC instants that bound local days (or local hours) from `first` to `last`
    inclusive: n buckets have n + 1 edges. Hours are real elapsed hours, so a DST change
    gives its day 23 or 25 of them."""
    end = day_start(last + timedelta(days=1), tz)
    if interval == "day":
        edges = []
        day = first
        while day <= last + timedelta(days=1):
            edges.append(day_start(day, tz))
            day += timedelta(days=1)
        return edges
    edges = []
    at = day_start(first, tz)
    while at <= end:
        edges.append(at)
        at += timedelta(hours=1)
    return edges
