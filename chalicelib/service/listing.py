"""Query parameters of the list routes: every bad one named in one 400."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from chalicelib import resources
from chalicelib.errors import ErrorDetail, ServiceError

# Stored times are ISO 8601 UTC with milliseconds and a Z ("2026-12-01T09:30:00.000Z"), so a
# string range on them is a time range.
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST, LATEST = "0000", "9999"


class Problems:
    def __init__(self) -> None:
        self.details: list[ErrorDetail] = []

    def add(self, parameter: str, problem: str) -> None:
        self.details.append({"field": parameter, "problem": problem})

    def raise_if_any(self) -> None:
        if self.details:
            names = ", ".join(detail["field"] for detail in self.details)
            raise ServiceError(400, "invalid_parameter", f"invalid query parameter(s): {names}", self.details)


def is_uuid(value: str) -> bool:
    # Ids are UUIDs; anything else cannot exist and is not sent to DynamoDB, which would reject an
    # over-long key with an error that must not become a 5xx.
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def page_size(limit: str | None, problems: Problems) -> int:
    if limit is None:
        return resources.LIST_DEFAULT_LIMIT
    if not limit.isdigit() or not 1 <= int(limit) <= resources.LIST_MAX_LIMIT:
        problems.add("limit", f"an integer from 1 to {resources.LIST_MAX_LIMIT}")
        return resources.LIST_DEFAULT_LIMIT
    return int(limit)


def _instant(value: str, parameter: str, problems: Problems, *, end_of_day: bool) -> str | None:
    """``2026-12-01`` (the whole day) or an ISO 8601 date-time with a zone, as a stored-time string."""
    if _DATE.match(value):
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            problems.add(parameter, "a real date, YYYY-MM-DD")
            return None
        return day.strftime("%Y-%m-%dT") + ("23:59:59.999Z" if end_of_day else "00:00:00.000Z")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        problems.add(parameter, "a date (YYYY-MM-DD) or an ISO 8601 date-time with a time zone")
        return None
    if moment.tzinfo is None:
        problems.add(parameter, "a date-time needs a time zone (e.g. Z)")
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_range(start: str | None, end: str | None, problems: Problems) -> tuple[str, str]:
    low = _instant(start, "from", problems, end_of_day=False) if start is not None else EARLIEST
    high = _instant(end, "to", problems, end_of_day=True) if end is not None else LATEST
    if low is not None and high is not None and low > high:
        problems.add("to", "must not be before from")
    return low or EARLIEST, high or LATEST
