"""Query parameters of the list routes: every bad one named in one 400.

The HTTP layer checks every declared parameter first (``chalicelib.http.query``, from the route's
declaration in ``chalicelib.http.routes``); these functions are what it and the services share.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from chalicelib import resources
from chalicelib.errors import ErrorDetail, ServiceError

# Stored times are ISO 8601 UTC with milliseconds and a Z ("2026-12-01T09:30:00.000Z"), so a
# string range on them is a time range. The bounds sort before and after every stored time.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# RFC 3339 date-time (what the document's "format: date-time" promises), any case for T and Z.
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
EARLIEST, LATEST = "0000", "9999-12-31T23:59:59.999Z~"
# A range that matches nothing and that DynamoDB's BETWEEN still accepts (it rejects low > high):
# no stored time equals it.
EMPTY_RANGE = ("~", "~")
# An integer in ASCII digits only: str.isdigit() and int() also take "²", "①", "٥" and "５".
_DIGITS = re.compile(r"0*([0-9]{1,9})")
INSTANT_PROBLEM = "a date (YYYY-MM-DD) or an RFC 3339 date-time with a time zone (e.g. 2026-12-01T09:30:00Z)"


class Problems:
    def __init__(self) -> None:
        self.details: list[ErrorDetail] = []

    def add(self, parameter: str, problem: str) -> None:
        self.details.append({"field": parameter, "problem": problem})

    def raise_if_any(self) -> None:
        if self.details:
            names = ", ".join(detail["field"] for detail in self.details)
            # The review desk checks its request bodies with this too: "parameter" covers both.
            raise ServiceError(400, "invalid_parameter", f"invalid parameter(s): {names}", self.details)


def is_uuid(value: str) -> bool:
    # Ids are UUIDs; anything else cannot exist and is not sent to DynamoDB, which would reject an
    # over-long key with an error that must not become a 5xx.
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def ascii_integer(text: str, minimum: int, maximum: int) -> int | None:
    """``text`` as an integer within the bounds when it is ASCII digits only, else None."""
    match = _DIGITS.fullmatch(text)
    if match is None:
        return None
    value = int(match.group(1))
    return value if minimum <= value <= maximum else None


def page_size(limit: str | None, problems: Problems) -> int:
    if limit is None:
        return resources.LIST_DEFAULT_LIMIT
    size = ascii_integer(limit, 1, resources.LIST_MAX_LIMIT)
    if size is None:
        problems.add("limit", f"an integer from 1 to {resources.LIST_MAX_LIMIT} in ASCII digits")
        return resources.LIST_DEFAULT_LIMIT
    return size


def instant(value: str, *, end_of_day: bool) -> str | None:
    """``2026-12-01`` (the whole day) or an RFC 3339 date-time, as a stored-time string; None if neither."""
    if _DATE.fullmatch(value):
        try:
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError:
            return None
        return day.strftime("%Y-%m-%dT") + ("23:59:59.999Z" if end_of_day else "00:00:00.000Z")
    if not _DATE_TIME.fullmatch(value):
        return None
    try:
        moment = datetime.fromisoformat(value[:10] + "T" + value[11:].upper().replace("Z", "+00:00"))
    except ValueError:
        return None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        # A valid time whose UTC falls outside years 1-9999: before or after every stored time.
        return EARLIEST if moment.year == 1 else LATEST
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def time_range(start: str | None, end: str | None, problems: Problems) -> tuple[str, str]:
    """The stored-time range [from, to]; a range that ends before it starts simply matches nothing."""
    low = instant(start, end_of_day=False) if start is not None else EARLIEST
    high = instant(end, end_of_day=True) if end is not None else LATEST
    if low is None:
        problems.add("from", INSTANT_PROBLEM)
    if high is None:
        problems.add("to", INSTANT_PROBLEM)
    if low is not None and high is not None and low > high:
        return EMPTY_RANGE
    return low or EARLIEST, high or LATEST
