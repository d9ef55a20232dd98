"""Typed records: what the service stores, queues and answers, built on the engine's types.

The engine's contract is ``chalicelib.engine.types`` (Application, Decision, ...); these are the
records around it: the decision-log record, the asynchronous application and its status, the queue
message, and the bodies the API answers with. The OpenAPI response schemas are generated from these
types (``chalicelib.http.openapi``), so a key the code returns and the document leaves out (or the
other way round) fails the response-schema tests. ``TypedDict`` and frozen dataclasses cost nothing
at run time: the values stay plain dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from chalicelib.engine.types import Application, Decision
from chalicelib.errors import ErrorBody

# Personal fields masked (``A*** K****``), identity numbers hashed into ``applicant_ref``:
# chalicelib.privacy.mask_personal_fields. Never the raw application.
MaskedApplicant = dict[str, Any]

DecisionSource = Literal["sync", "async"]
ApplicationState = Literal["PENDING", "DECIDED", "FAILED"]
PENDING: ApplicationState = "PENDING"
DECIDED: ApplicationState = "DECIDED"
FAILED: ApplicationState = "FAILED"
CacheState = Literal["hit", "miss", "bypassed"]


class DecisionRecord(TypedDict):
    """One row of the decisions table: every decision made, sync and async."""

    decision_id: str
    created_at: str  # ISO 8601, UTC
    source: DecisionSource
    applicant: MaskedApplicant
    decision: Decision
    cached: bool
    application_id: NotRequired[str]  # async decisions only


class ApplicationStatus(TypedDict):
    """``GET /v1/applications/{id}``: an asynchronous application as stored."""

    application_id: str
    status: ApplicationState
    submitted_at: str
    decision_id: NotRequired[str]  # DECIDED
    decided_at: NotRequired[str]  # DECIDED
    decision: NotRequired[Decision]  # DECIDED
    failure: NotRequired[str]  # FAILED: why
    failed_at: NotRequired[str]  # FAILED


@dataclass(frozen=True)
class QueuedApplication:
    """The SQS message between ``POST /v1/applications`` and the worker."""

    application_id: str
    application: Application  # validated, WITHOUT personal fields (the worker only scores)
    applicant: MaskedApplicant  # as stored in the PENDING record, so the worker writes it whole
    submitted_at: str

    def to_message(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "application": self.application,
            "applicant": self.applicant,
            "submitted_at": self.submitted_at,
        }

    @classmethod
    def from_body(cls, body: str) -> tuple[QueuedApplication, Any]:
        """Parse a message body; returns the record and the raw ``application`` payload (not yet
        validated). Raises ValueError naming what is wrong."""
        try:
            message = json.loads(body)
            application_id, payload = message["application_id"], message["application"]
            applicant, submitted_at = message["applicant"], message["submitted_at"]
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"unreadable message: {type(error).__name__}") from None
        if not isinstance(application_id, str) or not application_id:
            raise ValueError("message has no application_id")
        if not isinstance(applicant, dict) or not isinstance(submitted_at, str):
            raise ValueError("message has no applicant/submitted_at")
        return cls(application_id, payload, applicant, submitted_at), payload


@dataclass(frozen=True)
class AsyncDecision:
    """What the worker records for one queued application (decision id derived from its id)."""

    application_id: str
    decision_id: str
    created_at: str
    decision: Decision
    applicant: MaskedApplicant
    submitted_at: str


# --------------------------------------------------------------------------------------------
# Response bodies
# --------------------------------------------------------------------------------------------
class DecisionResponse(Decision):
    """``POST /v1/decisions``: the engine's decision plus what the service adds."""

    decision_id: str
    model_version: str
    cached: bool  # served from the decision cache
    cache: CacheState
    stored: bool  # whether the decision record was written


class SubmitResponse(TypedDict):
    """``POST /v1/applications`` (202)."""

    application_id: str
    status: Literal["PENDING"]
    status_url: str


class DependencyCheckBody(TypedDict):
    name: str  # "dynamodb:<table>" or "sqs:<queue>"
    ok: bool
    latency_ms: float
    problem: str | None


class NotReady(ErrorBody):
    """``GET /health/ready`` (503): the error shape, naming every dependency that did not answer."""

    status: Literal["not_ready"]
    checks: list[DependencyCheckBody]


class HealthSummary(TypedDict):
    status: Literal["ok"]
    service: str
    version: str  # the deployed code version (the Lambda function version; "$LATEST" locally)
    stage: str
    model_version: str


class Liveness(TypedDict):
    status: Literal["alive"]
    time: str


class Readiness(TypedDict):
    status: Literal["ready"]
    checks: list[DependencyCheckBody]


class QueueDepth(TypedDict):
    visible: int
    in_flight: int


class MemoryUse(TypedDict):
    peak_used_mb: float
    limit_mb: int | None
    used_ratio: float | None


class ModelSummary(TypedDict):
    id: str
    version: str
    sha256: str


class DetailedHealth(TypedDict):
    status: Literal["ok", "degraded", "unhealthy"]
    version: str
    stage: str
    model: ModelSummary
    dependencies: list[DependencyCheckBody]
    queue_depth: QueueDepth | None
    cold_start: bool
    memory: MemoryUse
    uptime_seconds: float
