"""Data access: the small interfaces the API and the worker use, and their AWS implementation.

``chalicelib.api`` depends on the Protocols below only; ``get_store()`` / ``get_queue()`` hand out
the process-wide DynamoDB / SQS implementations (``chalicelib.dal.aws``), created lazily.
Tests swap them with ``use(store=..., queue=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

JsonDict = dict[str, Any]


class DependencyUnavailable(Exception):
    """DynamoDB or SQS could not be reached or refused the call (never raised for bad input)."""

    def __init__(self, dependency: str, cause: str) -> None:
        super().__init__(f"{dependency} unavailable: {cause}")
        self.dependency = dependency
        self.cause = cause


@dataclass(frozen=True)
class DependencyCheck:
    name: str  # e.g. "dynamodb:loan-decisions-dev-applications" or "sqs:loan-decisions-dev-applications"
    ok: bool
    latency_ms: float
    problem: str | None = None


class LoanStore(Protocol):
    """DynamoDB: decision cache, decision log, asynchronous applications."""

    def get_cached_decision(self, cache_key: str, now: int) -> JsonDict | None:
        """The cached decision, or None when absent or expired at ``now`` (epoch seconds)."""

    def put_cached_decision(self, cache_key: str, decision: JsonDict, expires_at: int) -> None: ...

    def put_decision(self, record: JsonDict) -> None:
        """Store one decision record (personal data already masked by the caller)."""

    def create_pending_application(self, application_id: str, applicant: JsonDict, submitted_at: str) -> None:
        """Write a PENDING application; fails if the id already exists."""

    def delete_application(self, application_id: str) -> None: ...

    def get_application(self, application_id: str) -> JsonDict | None: ...

    def record_application_decision(self, application_id: str, decided: JsonDict) -> bool:
        """Record the decision of a queued application: ``decided`` holds decision_id, created_at,
        decision, applicant (masked) and submitted_at.

        The decision-log record is written first (if absent) and the application then goes
        PENDING -> DECIDED with the decision of THAT record. Returns True only for the call that
        made the application DECIDED; False when it was not PENDING any more (already DECIDED,
        FAILED or unknown), so a redelivered message never produces a second decision.
        """

    def mark_application_failed(self, application_id: str, problem: str, failed_at: str) -> bool:
        """PENDING -> FAILED; False when the application was not PENDING."""

    def check(self) -> list[DependencyCheck]: ...


class ApplicationQueue(Protocol):
    """SQS: the burst queue between POST /v1/applications and the worker."""

    def send(self, message: JsonDict) -> str:
        """Send one message; returns the SQS message id."""

    def depth(self) -> dict[str, int]:
        """Approximate visible / in-flight message counts."""

    def check(self) -> list[DependencyCheck]: ...


_store: LoanStore | None = None
_queue: ApplicationQueue | None = None


def get_store() -> LoanStore:
    global _store
    if _store is None:
        from chalicelib.dal.aws import DynamoDBLoanStore

        _store = DynamoDBLoanStore.from_settings()
    return _store


def get_queue() -> ApplicationQueue:
    global _queue
    if _queue is None:
        from chalicelib.dal.aws import SQSApplicationQueue

        _queue = SQSApplicationQueue.from_settings()
    return _queue


def use(store: LoanStore | None = None, queue: ApplicationQueue | None = None) -> None:
    """Replace the process-wide implementations (None = build the AWS one again on next use)."""
    global _store, _queue
    _store, _queue = store, queue
