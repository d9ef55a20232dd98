"""Data access: the small interfaces the service layer uses. Implementations: DynamoDB and SQS
(``chalicelib.dal.aws``), and an in-memory twin for tests and benchmarks (``devstack.in_memory``).

The service layer depends on these Protocols only and receives an implementation through
``chalicelib.service.dependencies``.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from chalicelib.engine.types import Decision
from chalicelib.records import (
    ApplicationRecord,
    ApplicationSummary,
    AsyncDecision,
    AuditEntry,
    AuditStep,
    DecisionEvent,
    DecisionRecord,
    DecisionSummary,
    FinalRecord,
    PageKey,
    QueueDepth,
    ReviewCase,
)


class DependencyUnavailable(Exception):
    """DynamoDB or SQS could not be reached or refused the call (never raised for bad input)."""

    def __init__(self, dependency: str, cause: str) -> None:
        super().__init__(f"{dependency} unavailable: {cause}")
        self.dependency = dependency
        self.cause = cause


class DependencyCheck(NamedTuple):
    name: str  # e.g. "dynamodb:loan-decisions-dev-applications" or "sqs:loan-decisions-dev-applications"
    ok: bool
    latency_ms: float
    problem: str | None = None


class CacheEntry(NamedTuple):
    cache_key: str
    decision: Decision
    expires_at: int  # epoch seconds


class NewTrail(NamedTuple):
    """A new decision's audit entries, and its review case when it goes to manual review: written
    with the decision record (nothing of a fresh decision can exist yet)."""

    entries: list[AuditEntry]
    case: ReviewCase | None = None


class LoanStore(Protocol):
    """DynamoDB: decision cache, decision log, asynchronous applications."""

    def get_cached_decision(self, cache_key: str, now: int) -> Decision | None:
        """The cached decision, or None when absent or expired at ``now`` (epoch seconds)."""

    def put_decision(
        self, record: DecisionRecord, cache_entry: CacheEntry | None = None, trail: NewTrail | None = None
    ) -> None:
        """Store one decision record (personal data already masked by the caller), with the cache
        entry of a miss and the new decision's audit trail and review case (one request)."""

    def get_decision(self, decision_id: str) -> DecisionRecord | None: ...

    def query_decisions(
        self,
        client_id: str,
        outcome: str | None,
        created_range: tuple[str, str],
        limit: int,
        start: PageKey | None,
    ) -> tuple[list[DecisionSummary], PageKey | None]:
        """One client's decisions, newest first (a Query on an index, never a Scan)."""

    def create_pending_application(self, record: ApplicationRecord) -> None:
        """Write a PENDING application; fails if the id already exists."""

    def delete_application(self, application_id: str) -> None: ...

    def get_application(self, application_id: str) -> ApplicationRecord | None: ...

    def query_applications(
        self, client_id: str, status: str | None, limit: int, start: PageKey | None
    ) -> tuple[list[ApplicationSummary], PageKey | None]:
        """One client's applications, newest first (a Query on an index, never a Scan)."""

    def pending_applications(self, submitted_before: str, limit: int) -> list[ApplicationRecord]:
        """PENDING applications submitted before the given ISO time, oldest first."""

    def mark_requeued(self, application_id: str, requeued_at: str) -> bool:
        """Note a re-queue, once, while PENDING; False when already re-queued or not PENDING."""

    def record_application_decision(self, decided: AsyncDecision) -> bool:
        """Record the decision of a queued application.

        The decision-log record is written first (if absent) and the application then goes
        PENDING -> DECIDED with the decision of THAT record. Returns True only for the call that
        made the application DECIDED; False when it was not PENDING any more (already DECIDED,
        FAILED or unknown), so a redelivered message never produces a second decision.
        """

    def mark_application_failed(self, application_id: str, problem: str, failed_at: str) -> bool:
        """PENDING -> FAILED; False when the application was not PENDING."""

    def check(self) -> list[DependencyCheck]: ...

    def set_final_outcome(self, decision_id: str, application_id: str | None, final: FinalRecord) -> None:
        """Record a reviewer's final outcome, and the notice of it, beside the engine's decision
        (never over it)."""


class ReviewStore(Protocol):
    """DynamoDB: review cases (versioned: every change is conditional on the version read) and the
    append-only audit trail."""

    def open_case(self, case: ReviewCase, audit: list[AuditEntry]) -> bool:
        """Write the case if it does not exist (False when it does), and the trail's entries."""

    def get_case(self, review_id: str) -> tuple[ReviewCase, int] | None:
        """The case and its version."""

    def replace_case(self, case: ReviewCase, version: int) -> bool:
        """Write ``case`` as version + 1 if the stored version is still ``version``."""

    def query_cases(
        self, status: str, limit: int, start: PageKey | None
    ) -> tuple[list[ReviewCase], PageKey | None]:
        """Cases in one status, oldest due first (a Query on an index)."""

    def put_audit_entries(self, entries: list[AuditEntry], expires_at: int) -> None:
        """Entries computed from known facts, each written only where its place is free."""

    def append_audit(
        self,
        subject_id: str,
        steps: list[AuditStep],
        expires_at: int,
    ) -> None:
        """Append entries (action, actor, time, details) to the subject's chain."""

    def audit_entries(self, subject_id: str) -> list[AuditEntry]: ...


class EventPublisher(Protocol):
    """EventBridge: ``decision.made`` on the decision-events bus."""

    def publish(self, events: list[DecisionEvent]) -> int:
        """Publish the events; returns how many were not accepted. Raises DependencyUnavailable."""


class ApplicationQueue(Protocol):
    """SQS: the burst queue between POST /v1/applications and the worker."""

    def send(self, message: dict[str, object]) -> str:
        """Send one message; returns the SQS message id."""

    def depth(self) -> QueueDepth:
        """Approximate visible / in-flight message counts."""

    def check(self) -> list[DependencyCheck]: ...
