"""Loan outcomes (issue 20): ``POST /v1/decisions/{id}/outcome``.

A lender reports how a decided loan performs: a status on a day (``as_of``). Each is kept (the
decision's history); the decision on record shows the latest by ``as_of``, so an outcome that
arrives late, out of order, never hides a later one; the same outcome again is a replay (200, no
change). Only the decision's own client may report on it: another client's decision is answered
exactly as an unknown one (404).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.outcomes import OutcomeStore
from chalicelib.errors import dependency_unavailable, not_found, validation_failed
from chalicelib.observability import count
from chalicelib.records import LOAN_STATUSES, LoanOutcome, OutcomeRecorded
from chalicelib.service import clock, listing
from chalicelib.service.dependencies import Dependencies

FIELDS = ("status", "as_of")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _date(value: object) -> date | None:
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def validated_outcome(payload: Any, today: str) -> LoanOutcome:
    """The body as an outcome; ServiceError 400 naming every field at fault. ``today``: the UTC date
    (an ``as_of`` after it has not happened yet)."""
    if not isinstance(payload, dict):
        raise validation_failed([{"field": "(body)", "problem": "must be a JSON object"}])
    problems: list[dict[str, str]] = []
    status = payload.get("status")
    if status not in LOAN_STATUSES:
        problems.append({"field": "status", "problem": "is required: one of " + ", ".join(LOAN_STATUSES)})
    as_of = payload.get("as_of")
    day = _date(as_of)
    if day is None:
        problems.append({"field": "as_of", "problem": "is required: a date, YYYY-MM-DD"})
    elif day.isoformat() > today:
        problems.append({"field": "as_of", "problem": f"is in the future (today is {today} UTC)"})
    problems += [
        {"field": str(name), "problem": "is not a known field"} for name in payload if name not in FIELDS
    ]
    if problems:
        raise validation_failed(problems)
    return {"status": LOAN_STATUSES[LOAN_STATUSES.index(status)], "as_of": str(as_of)}


def _store(dependencies: Dependencies) -> OutcomeStore:
    if dependencies.outcomes is None:
        raise RuntimeError("these dependencies have no outcome store")
    return dependencies.outcomes


def record_outcome(
    decision_id: str, payload: Any, dependencies: Dependencies, client_id: str
) -> tuple[OutcomeRecorded, bool]:
    """Record the outcome; returns the answer and whether it was new (False: a replay)."""
    outcome = validated_outcome(payload, clock.now_iso()[:10])
    if not listing.is_uuid(decision_id):
        raise not_found("decision")
    try:
        record = dependencies.store.get_decision(decision_id)
        if record is None or not record["client_id"] or record["client_id"] != client_id:
            raise not_found("decision")
        decided_on = record["created_at"][:10]
        if outcome["as_of"] < decided_on:
            raise validation_failed(
                [{"field": "as_of", "problem": f"is before the decision was made ({decided_on})"}]
            )
        recorded = _store(dependencies).record_outcome(decision_id, outcome)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if recorded.latest is None:  # deleted (retention) between the read and the write
        raise not_found("decision")
    if recorded.created:
        count("LoanOutcomesRecorded")
    body: OutcomeRecorded = {
        "decision_id": decision_id,
        "status": outcome["status"],
        "as_of": outcome["as_of"],
        "latest": recorded.latest,
    }
    return body, recorded.created
