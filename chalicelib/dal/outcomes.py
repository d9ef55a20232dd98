"""Loan outcomes on the decision record, and the read path of monitoring runs (issue 20).

Interface (``OutcomeStore``) and the pieces both implementations share: what a new decision writes
for the monitoring index (``monitoring_document``, ``day_partition``), and how a stored decision
becomes an ``engine.monitoring.MonitoredDecision``. Implementations: DynamoDB
(``chalicelib.dal.outcomes_aws``) and the in-memory twin (``devstack.in_memory_outcomes``).

Where outcomes live: on the decision item itself, the latest (``loan_status``, ``loan_as_of``) and
the history (a string set of ``<as_of>#<status>``). One conditional UpdateItem records an outcome:
the latest moves only forward in ``as_of`` (concurrent outcomes settle on the latest ``as_of``,
whatever order they arrive in), and adding an element already in the set is a replay. A monitoring
run reads the latest without a join.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, cast

from chalicelib import resources
from chalicelib.engine.features import model_features
from chalicelib.engine.types import Application
from chalicelib.records import LOAN_STATUSES, DecisionRecord, LoanOutcome, LoanStatus

if TYPE_CHECKING:
    # Only the monitoring run builds them: the API's cold start (which imports this module for
    # the decision item's index attributes) does not import the monitoring figures.
    from chalicelib.engine.monitoring import MonitoredDecision

HISTORY_SEPARATOR = "#"


class Recorded(NamedTuple):
    """What recording one outcome did: ``created`` False for a replay (already in the history);
    ``latest`` the decision's latest outcome afterwards (None: the decision does not exist)."""

    created: bool
    latest: LoanOutcome | None


class OutcomeStore(Protocol):
    def record_outcome(self, decision_id: str, outcome: LoanOutcome) -> Recorded:
        """Add ``outcome`` to the decision's history and make it the latest unless a later
        ``as_of`` is already recorded (a tie: the one recorded last). Raises DependencyUnavailable."""

    def outcome_history(self, decision_id: str) -> list[LoanOutcome]:
        """Every outcome recorded for the decision, by ``as_of`` (then status)."""

    def iter_monitored(self, start: str, end: str) -> Iterator[MonitoredDecision]:
        """Every client's decisions created in [start, end) (ISO 8601 UTC instants), by Queries
        per day partition of the monitoring index: never a Scan. Decisions written before the index
        existed are not in it."""

    def iter_partition(self, partition: str, start: str, end: str) -> Iterator[MonitoredDecision]:
        """The decisions of one (day, shard) partition (``day_partitions``) created in [start, end):
        one part of a fanned-out run; Queries only."""


def history_element(outcome: LoanOutcome) -> str:
    return f"{outcome['as_of']}{HISTORY_SEPARATOR}{outcome['status']}"


def loan_status(value: str) -> LoanStatus:
    """A stored status as its literal (ValueError for anything else)."""
    for status in LOAN_STATUSES:
        if status == value:
            return status
    raise ValueError(f"unexpected stored loan status {value!r}")


def history_of(elements: Iterable[str]) -> list[LoanOutcome]:
    """The history's elements as outcomes, by ``as_of`` then status."""
    history: list[LoanOutcome] = []
    for element in sorted(elements):
        as_of, _, status = element.partition(HISTORY_SEPARATOR)
        history.append({"status": loan_status(status), "as_of": as_of})
    return history


def day_partition(decision_id: str, created_at: str) -> str:
    """The decision's monitoring-index partition: its day and a stable shard of its id."""
    shard = zlib.crc32(decision_id.encode()) % resources.MONITORING_DAY_SHARDS
    return f"{created_at[:10]}{HISTORY_SEPARATOR}{shard}"


def day_partitions(start: str, end: str) -> list[str]:
    """Every partition a window [start, end) may have decisions in (each day, each shard)."""
    first = datetime.fromisoformat(start[:10]).date()
    last = datetime.fromisoformat(end[:10]).date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [
        f"{day.isoformat()}{HISTORY_SEPARATOR}{shard}"
        for day in days
        for shard in range(resources.MONITORING_DAY_SHARDS)
    ]


def monitoring_document(record: DecisionRecord) -> dict[str, Any]:
    """What a monitoring run needs of a decision besides its plain attributes: the principal
    reasons' codes, the fairness fields (gender, age), the model's own probability and the model's
    characteristics (the factors the scorecard scored, by name; no personal identifier)."""
    decision = record["decision"]
    applicant = record["applicant"]
    factors = [contribution["factor"] for contribution in decision["contributions"]]
    try:
        # The stored applicant is the validated application with only its personal fields masked, so
        # every scored field is as validated; a record without one is caught here.
        features = model_features(cast(Application, applicant))
    except (KeyError, TypeError, ValueError):  # a record without every input: no characteristics
        features = {}
    gender = applicant.get("gender")
    age = applicant.get("age")
    return {
        "reason_codes": [reason["code"] for reason in decision["reasons"]],
        "gender": gender if isinstance(gender, str) else None,
        "age": age if isinstance(age, int) and not isinstance(age, bool) else None,
        "model_probability": decision["model_probability"],
        "characteristics": {name: features[name] for name in factors if name in features},
    }


def business_days_after(opened_at: str, business_days: int) -> datetime:
    """``business_days`` working days (Mon-Fri) after ``opened_at``: the review desk's due time
    (the rule of ``chalicelib.service.reviews.due_at``; tests/unit/dal/test_outcomes_store.py keeps
    the two equal)."""
    moment = datetime.fromisoformat(opened_at.replace("Z", "+00:00"))
    remaining = business_days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return moment


def sla_breached(
    outcome: str, created_at: str, final_decided_at: str | None, sla_business_days: int, now: datetime
) -> bool:
    """A referred decision whose review closed after its due time, or is still open past it."""
    if outcome != "manual_review":
        return False
    due = business_days_after(created_at, sla_business_days)
    if final_decided_at is not None:
        return datetime.fromisoformat(final_decided_at.replace("Z", "+00:00")) > due
    return now > due


def monitored(
    fields: Mapping[str, Any], document: Mapping[str, Any], sla_business_days: int, now: datetime
) -> MonitoredDecision:
    """One decision as monitoring sees it (``fields``: the plain attributes; ``document``: the
    ``monitoring_document`` written with it)."""
    from chalicelib.engine.monitoring import MonitoredDecision

    characteristics = document.get("characteristics") or {}
    age = document.get("age")
    return MonitoredDecision(
        decision_id=str(fields["decision_id"]),
        client_id=str(fields["client_id"]),
        decision_version=str(fields["decision_version"]),
        arm=str(fields["arm"]),
        created_at=str(fields["created_at"]),
        outcome=str(fields["outcome"]),
        decided_by=str(fields["decided_by"]),
        probability=float(document["model_probability"]),
        reason_codes=tuple(str(code) for code in document.get("reason_codes") or ()),
        gender=document.get("gender"),
        age=int(age) if age is not None else None,
        characteristics={str(name): value for name, value in characteristics.items()},
        final_outcome=fields.get("final_outcome"),
        review_sla_breached=sla_breached(
            str(fields["outcome"]),
            str(fields["created_at"]),
            fields.get("final_decided_at"),
            sla_business_days,
            now,
        ),
        loan_status=fields.get("loan_status"),
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
