"""Typed records: what the service stores, queues and answers, built on the engine's types.

The engine's contract is ``chalicelib.engine.types`` (Application, Decision, ...); these are the
records around it: the decision-log record, the asynchronous application and its status, the queue
message, and the bodies the API answers with. The OpenAPI response schemas are generated from these
types (``chalicelib.http.openapi``), so a key the code returns and the document leaves out (or the
other way round) fails the response-schema tests. ``TypedDict`` costs nothing at run time (the values
stay plain dicts); the other records are ``NamedTuple``s, immutable and typed like frozen dataclasses
but about six times cheaper to define, which every cold start pays (bench/bench_cold_start.py).
"""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict, get_args

from chalicelib.engine.monitoring_types import Alert, VersionReport
from chalicelib.engine.types import Application, Counteroffer, Decision, Notice, Reason, RiskFlag
from chalicelib.engine.validation_types import ValidationReport
from chalicelib.errors import ErrorBody, ErrorInfo

# Personal fields masked (``A*** K****``), identity numbers hashed into ``applicant_ref``:
# chalicelib.privacy.mask_personal_fields. Never the raw application.
MaskedApplicant = dict[str, object]

DecisionSource = Literal["sync", "async"]
ApplicationState = Literal["PENDING", "DECIDED", "FAILED"]
PENDING: ApplicationState = "PENDING"
DECIDED: ApplicationState = "DECIDED"
FAILED: ApplicationState = "FAILED"
APPLICATION_STATES: tuple[ApplicationState, ...] = (PENDING, DECIDED, FAILED)
DECISION_SOURCES: tuple[DecisionSource, ...] = ("sync", "async")
CacheState = Literal["hit", "miss", "bypassed"]
# Which arm of the routing decided (chalicelib.service.routing): the champion, or the challenger
# serving its share. Shadows never decide: they are stored beside the decision (ShadowDecision).
Arm = Literal["champion", "challenger"]
ARMS: tuple[Arm, ...] = ("champion", "challenger")


class FinalOutcome(TypedDict):
    """A manual review's result as the client sees it: recorded beside the engine's decision."""

    final_outcome: Literal["approved", "declined", "counteroffer"]
    final_decided_by: Literal["reviewer"]
    final_reason_codes: list[str]
    final_decided_at: str


class FinalRecord(FinalOutcome):
    """What is stored beside the engine's decision after a review: the outcome the client sees, and
    the notice of that action exactly as issued (``GET /v1/decisions/{id}/notice`` serves it)."""

    notice: NotRequired[Notice]


class ShadowDecision(TypedDict):
    """A shadow version's decision of the same application, scored after the served one and stored
    beside it in the same write: for comparing versions, never returned, never in events or notices.
    The figures a comparison reads, not the whole decision (a decision is ~2 KB compressed)."""

    decision_version: str
    outcome: str
    decided_by: str
    probability: float
    model_probability: float
    risk_band: str
    score: int
    reason_codes: list[str]  # the principal reasons' codes, ranked
    failed_rules: list[str]  # the policy rules not passed
    annual_rate: float
    counteroffer: Counteroffer | None


# Issue 20: a loan's performance after the decision, as the lender reports it.
LoanStatus = Literal[
    "current", "dpd30", "dpd60", "dpd90", "default", "charged_off", "paid_off", "not_taken_up"
]
LOAN_STATUSES: tuple[LoanStatus, ...] = get_args(LoanStatus)


class LoanOutcome(TypedDict):
    """One reported loan outcome: its status on a day (``as_of``, an ISO date)."""

    status: LoanStatus
    as_of: str


class OutcomeRecorded(TypedDict):
    """``POST /v1/decisions/{id}/outcome``: the outcome as recorded, and the decision's latest one
    (the same, unless an outcome with a later ``as_of`` was recorded before)."""

    decision_id: str
    status: LoanStatus
    as_of: str
    latest: LoanOutcome


class OutcomeBatchItem(TypedDict):
    """One outcome of ``POST /v1/outcomes``, as the single route would have answered it: 201 recorded,
    200 already recorded, 404 unknown (or another client's) decision, 400 an ``as_of`` before the
    decision or in the future."""

    index: int  # its place in the request's ``outcomes``
    decision_id: str
    status_code: int
    latest: NotRequired[LoanOutcome]  # 201 and 200
    error: NotRequired[ErrorInfo]  # 400 and 404


class OutcomeBatch(TypedDict):
    """``POST /v1/outcomes``: every outcome's result, in the request's order, and the counts."""

    results: list[OutcomeBatchItem]
    created: int
    replayed: int
    rejected: int


class DecisionRecord(TypedDict):
    """One row of the decisions table: every decision made, sync and async."""

    decision_id: str
    client_id: str  # the API key that asked for it: only that client can read it
    created_at: str  # ISO 8601, UTC
    source: DecisionSource
    applicant: MaskedApplicant
    decision: Decision
    cached: bool
    expires_at: int  # epoch seconds: kept for the record-retention period, then deleted by TTL
    decision_version: str  # the decision version that decided (records from before versions: "v1")
    arm: Arm  # the routing arm that served it
    application_id: NotRequired[str]  # async decisions only
    final: NotRequired[FinalRecord]  # a reviewer's outcome, beside the engine's
    shadows: NotRequired[list[ShadowDecision]]  # staff-only: never in a response, event or notice
    loan_outcome: NotRequired[LoanOutcome]  # the latest reported loan outcome (by as_of)


class ApplicationRecord(TypedDict):
    """One row of the applications table (what ``GET /v1/applications/{id}`` shows is
    ``ApplicationStatus``, without the owner, the applicant and the scoring inputs)."""

    application_id: str
    client_id: str
    status: ApplicationState
    submitted_at: str
    expires_at: int
    applicant: MaskedApplicant
    # PENDING only: the scoring inputs (no personal fields), re-queued from here; dropped once decided.
    application: NotRequired[Application]
    decision_id: NotRequired[str]
    decided_at: NotRequired[str]
    decision: NotRequired[Decision]
    failure: NotRequired[str]
    failed_at: NotRequired[str]
    requeued_at: NotRequired[str]  # the reconciler sent it to the queue again, once
    final: NotRequired[FinalRecord]


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
    final_outcome: NotRequired[str]  # after a manual review
    final_decided_by: NotRequired[str]
    final_reason_codes: NotRequired[list[str]]
    final_decided_at: NotRequired[str]


def application_status(record: ApplicationRecord) -> ApplicationStatus:
    status: ApplicationStatus = {
        "application_id": record["application_id"],
        "status": record["status"],
        "submitted_at": record["submitted_at"],
    }
    for name in ("decision_id", "decided_at", "failure", "failed_at"):
        if name in record:
            status[name] = record[name]
    if "decision" in record:
        status["decision"] = record["decision"]
    if "final" in record:
        add_final_outcome(status, record["final"])
    return status


class QueuedApplication(NamedTuple):
    """The SQS message between ``POST /v1/applications`` (or the reconciler) and the worker."""

    application_id: str
    client_id: str
    application: Application  # validated, WITHOUT personal fields (the worker only scores)
    applicant: MaskedApplicant  # as stored in the PENDING record, so the worker writes it whole
    submitted_at: str

    def to_message(self) -> dict[str, object]:
        return {
            "application_id": self.application_id,
            "client_id": self.client_id,
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
            client_id = message["client_id"]
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"unreadable message: {type(error).__name__}") from None
        if not isinstance(application_id, str) or not application_id:
            raise ValueError("message has no application_id")
        if not isinstance(client_id, str) or not client_id:
            raise ValueError("message has no client_id")
        if not isinstance(applicant, dict) or not isinstance(submitted_at, str):
            raise ValueError("message has no applicant/submitted_at")
        return cls(application_id, client_id, payload, applicant, submitted_at), payload


class AsyncDecision(NamedTuple):
    """What the worker records for one queued application (decision id derived from its id)."""

    application_id: str
    client_id: str
    decision_id: str
    created_at: str
    decision: Decision
    applicant: MaskedApplicant
    submitted_at: str
    expires_at: int
    decision_version: str
    arm: Arm
    shadows: tuple[ShadowDecision, ...] = ()

    def record(self) -> DecisionRecord:
        """The decision-log record of this decision: the one builder of an async ``DecisionRecord``
        (the DynamoDB store, the in-memory twin and the worker's audit trail all use it)."""
        record: DecisionRecord = {
            "decision_id": self.decision_id,
            "client_id": self.client_id,
            "created_at": self.created_at,
            "source": "async",
            "applicant": self.applicant,
            "decision": self.decision,
            "cached": False,
            "expires_at": self.expires_at,
            "decision_version": self.decision_version,
            "arm": self.arm,
            "application_id": self.application_id,
        }
        if self.shadows:
            record["shadows"] = list(self.shadows)
        return record


def decided_application(record: DecisionRecord, submitted_at: str) -> ApplicationRecord:
    """The DECIDED application carrying the decision ``record`` (the first one written for it): the
    one builder of a DECIDED ``ApplicationRecord`` (no scoring inputs: only PENDING ones keep them)."""
    return {
        "application_id": record["application_id"],
        "client_id": record["client_id"],
        "status": DECIDED,
        "submitted_at": submitted_at,
        "expires_at": record["expires_at"],
        "applicant": record["applicant"],
        "decision_id": record["decision_id"],
        "decided_at": record["created_at"],
        "decision": record["decision"],
    }


class DecisionEvent(NamedTuple):
    """``decision.made`` on the decision-events bus: ids, outcome, model, client; no personal data."""

    decision_id: str
    client_id: str
    outcome: str
    decided_by: str
    model_version: str
    source: DecisionSource
    decided_at: str
    application_id: str | None = None
    detail_type: str = "decision.made"  # or "review.completed", "fraud.flagged" (resources)
    # fraud.flagged: the decision's flags, (code, severity) pairs; no evidence, no personal data.
    risk_flags: tuple[tuple[str, str], ...] = ()
    decision_version: str | None = None  # decision.made: the version that decided (never a shadow)
    arm: Arm | None = None  # decision.made: champion or challenger

    @classmethod
    def made(cls, record: DecisionRecord) -> DecisionEvent:
        """``decision.made`` for a decision record (sync or async): the one builder of it."""
        decision = record["decision"]
        return cls(
            decision_id=record["decision_id"],
            client_id=record["client_id"],
            outcome=decision["outcome"],
            decided_by=decision["decided_by"],
            model_version=decision["model"]["version"],
            source=record["source"],
            decided_at=record["created_at"],
            application_id=record.get("application_id"),
            decision_version=record["decision_version"],
            arm=record["arm"],
        )

    @classmethod
    def fraud_flagged(cls, record: DecisionRecord) -> DecisionEvent:
        """``fraud.flagged`` for a decision with risk flags (published beside ``decision.made``)."""
        flags = tuple((flag["code"], flag["severity"]) for flag in record["decision"].get("risk_flags", []))
        return cls.made(record)._replace(detail_type="fraud.flagged", risk_flags=flags)

    def detail(self) -> dict[str, object]:
        detail: dict[str, object] = {
            "decision_id": self.decision_id,
            "client_id": self.client_id,
            "outcome": self.outcome,
            "decided_by": self.decided_by,
            "model_version": self.model_version,
            "source": self.source,
            "decided_at": self.decided_at,
        }
        if self.application_id is not None:
            detail["application_id"] = self.application_id
        if self.risk_flags:
            detail["risk_flags"] = [
                {"code": code, "severity": severity} for code, severity in self.risk_flags
            ]
        if self.decision_version is not None and self.arm is not None:
            detail["decision_version"] = self.decision_version
            detail["arm"] = self.arm
        return detail


# One page of a list, and where the next starts: the last key DynamoDB evaluated (string
# attributes only), which the service signs into an opaque cursor.
PageKey = dict[str, str]


# --------------------------------------------------------------------------------------------
# Response bodies
# --------------------------------------------------------------------------------------------
class DecisionResponse(Decision):
    """``POST /v1/decisions``: the engine's decision plus what the service adds."""

    decision_id: str
    model_version: str
    decision_version: str  # the decision version that decided (model + lending policy)
    arm: Arm  # champion, or the challenger serving its share
    cached: bool  # served from the decision cache
    cache: CacheState
    stored: bool  # whether the decision record was written


class DecisionOnRecord(Decision):
    """``GET /v1/decisions/{id}``: the decision as the POST returned it, minus what was transient
    (cached, cache, stored)."""

    decision_id: str
    model_version: str
    decision_version: str
    arm: Arm
    created_at: str
    source: DecisionSource
    application_id: NotRequired[str]
    final_outcome: NotRequired[str]  # after a manual review: the reviewer's, beside ``outcome``
    final_decided_by: NotRequired[str]  # "reviewer"
    final_reason_codes: NotRequired[list[str]]
    final_decided_at: NotRequired[str]
    loan_outcome: NotRequired[LoanOutcome]  # the latest reported loan outcome (by as_of)


class VersionedDecision(TypedDict):
    """A decision beside the decision version that made it."""

    decision_version: str
    decision: Decision


class DecisionRerun(TypedDict):
    """``POST /v1/decisions/{id}/rerun``: the decision on record and the same stored inputs decided
    by another version, side by side. Not a decision of record: nothing is stored or published."""

    decision_id: str
    on_record: VersionedDecision
    arm: Arm  # the arm that served the decision on record
    rerun: VersionedDecision
    differences: list[str]  # the decision's top-level fields whose values differ (notice excluded)


def add_final_outcome(body: ApplicationStatus | DecisionOnRecord, final: FinalRecord) -> None:
    """A reviewer's outcome beside the engine's, as the client reads it (the notice of it has its own
    route: ``GET /v1/decisions/{id}/notice``)."""
    body["final_outcome"] = final["final_outcome"]
    body["final_decided_by"] = final["final_decided_by"]
    body["final_reason_codes"] = final["final_reason_codes"]
    body["final_decided_at"] = final["final_decided_at"]


class DecisionSummary(TypedDict):
    decision_id: str
    created_at: str
    source: DecisionSource
    outcome: str
    decided_by: str
    probability: float
    model_version: str
    application_id: NotRequired[str]


class DecisionList(TypedDict):
    """``GET /v1/decisions``: the caller's decisions, newest first."""

    items: list[DecisionSummary]
    next_cursor: str | None  # pass as ?cursor= for the next page; null on the last page


class ApplicationSummary(TypedDict):
    application_id: str
    status: ApplicationState
    submitted_at: str
    decided_at: NotRequired[str]
    decision_id: NotRequired[str]
    outcome: NotRequired[str]
    failure: NotRequired[str]


class ApplicationList(TypedDict):
    """``GET /v1/applications``: the caller's applications, newest first."""

    items: list[ApplicationSummary]
    next_cursor: str | None


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


# --------------------------------------------------------------------------------------------
# The review desk
# --------------------------------------------------------------------------------------------
ReviewStatus = Literal["open", "claimed", "closed"]
ReviewOutcome = Literal["approved", "declined", "counteroffer"]


class ModelView(TypedDict):
    """What the engine decided, kept beside the reviewer's outcome and never overwritten."""

    outcome: str
    decided_by: str
    probability: float
    model_probability: float
    model_risk_band: str


class PendingSecondApproval(TypedDict):
    """A reviewer's approval that a manager must confirm (maker-checker)."""

    maker: str  # the proposing reviewer's subject
    proposed: ReviewOutcome
    reason_codes: list[str]
    note: str
    proposed_at: str
    why: list[str]  # "amount above N", "against blocking rule POL-..."


class ReviewCase(TypedDict):
    """One manual-review case (the reviews table). Staff-only: clients see only the final outcome."""

    review_id: str
    decision_id: str
    subject_id: str  # the async application, or the sync decision: whose audit trail this is
    application_id: NotRequired[str]
    client_id: str
    status: ReviewStatus
    opened_at: str
    due_at: str  # the SLA: business days after opening
    loan_amount: int
    reasons: list[Reason]  # the engine's principal reasons
    failed_blocking_rules: list[str]
    model: ModelView
    counteroffer: Counteroffer | None
    risk_flags: NotRequired[list[RiskFlag]]  # the decision's fraud flags, with their evidence
    # The version that decided (its policy's second-approval amount applies); cases opened before
    # it was recorded here read it from the decision.
    decision_version: NotRequired[str]
    claimed_by: NotRequired[str]
    claimed_at: NotRequired[str]
    second_approval: NotRequired[PendingSecondApproval]
    final_outcome: NotRequired[ReviewOutcome]
    final_reason_codes: NotRequired[list[str]]
    final_note: NotRequired[str]
    reviewed_by: NotRequired[str]
    checked_by: NotRequired[str]
    closed_at: NotRequired[str]
    expires_at: int


AuditAction = Literal[
    "submitted",
    "decided",
    "case_opened",
    "claimed",
    "released",
    "reviewed",
    "second_approval_requested",
    "second_approval",
    "second_approval_refused",
    "notice_issued",
    # The decision-version registry (subject "decision-versions"): issue 18.
    "version_registered",
    "routing_proposed",
    "routing_changed",
]
AUDIT_ACTIONS: tuple[AuditAction, ...] = get_args(AuditAction)


# An audit detail's value: an id, an outcome, a count, reason codes (JSON, hashed canonically).
AuditDetail = str | int | float | bool | list[str] | None


# One step to chain onto a subject's trail: action, actor, time (ISO 8601), details.
AuditStep = tuple[AuditAction, str, str, dict[str, AuditDetail]]


class AuditEntry(TypedDict):
    """One link of a subject's audit trail: ``hash`` = sha256 over the previous entry's hash and this
    entry's canonical content, so editing or removing any entry breaks every link after it."""

    subject_id: str
    seq: int
    action: AuditAction
    actor: str  # a client id or a staff subject: never a name or an e-mail
    at: str
    details: dict[str, AuditDetail]  # ids, outcomes, reason codes; no personal data
    prev_hash: str
    hash: str


class AuditTrail(TypedDict):
    verified: bool  # recomputed on every read
    first_broken_seq: int | None  # the first entry whose link does not hold
    entries: list[AuditEntry]


class ReviewSummary(TypedDict):
    review_id: str
    decision_id: str
    status: ReviewStatus
    opened_at: str
    due_at: str
    age_seconds: int
    seconds_to_sla: int  # negative once the SLA is breached
    loan_amount: int
    model_outcome: str
    claimed_by: NotRequired[str]
    awaiting_second_approval: bool
    risk_flags: NotRequired[list[str]]  # the codes of the case's fraud flags (the case has evidence)


class ReviewList(TypedDict):
    """``GET /v1/reviews``: cases in one status, oldest due first."""

    items: list[ReviewSummary]
    next_cursor: str | None


class ReviewDetail(ReviewCase):
    """``GET /v1/reviews/{id}``: the case, the decision, the masked applicant and the audit trail."""

    decision: Decision
    applicant: MaskedApplicant
    audit: AuditTrail


# ---------------------------------------------------------------------------- webhooks (issue 22)
WebhookState = Literal["enabled", "disabled", "failing"]
DeliveryStatus = Literal["pending", "delivered", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "delivered", "failed")


class WebhookEndpoint(TypedDict):
    """A lender's endpoint as the API shows it (never its secret)."""

    webhook_id: str
    url: str
    events: list[str]
    description: str
    state: WebhookState  # failing: a delivery used up every attempt; disabled: 410 or the lender's PATCH
    state_reason: str | None
    created_at: str
    updated_at: str


class WebhookCreated(WebhookEndpoint):
    """``POST /v1/webhooks`` and ``rotate-secret``: the endpoint with its signing secret, shown once."""

    secret: str


class WebhookList(TypedDict):
    items: list[WebhookEndpoint]


class StoredWebhook(TypedDict):
    """The endpoints table's item: the public view, its owner and the KMS-encrypted secrets."""

    endpoint: WebhookEndpoint
    client_id: str
    secret_ciphertext: str  # base64 of KMS ciphertext
    previous_secret_ciphertext: NotRequired[str]  # signs too until previous_secret_expires_at
    previous_secret_expires_at: NotRequired[int]  # epoch seconds


class DeliveryAttempt(TypedDict):
    attempted_at: str
    status_code: int | None  # None: no HTTP answer (refused, timeout, address not allowed)
    latency_ms: int
    error: str | None


class WebhookDelivery(TypedDict):
    """One event for one endpoint and its attempts (``GET /v1/webhooks/{id}/deliveries``)."""

    delivery_id: str  # also the webhook-id header: the receiver's de-duplication key
    webhook_id: str
    event_type: str
    event_id: str
    status: DeliveryStatus
    created_at: str
    next_attempt_at: str | None
    attempts: list[DeliveryAttempt]


class DeliveryList(TypedDict):
    items: list[WebhookDelivery]
    next_cursor: str | None


class StoredDelivery(TypedDict):
    """The deliveries table's item: the delivery, its payload until settled, its owner."""

    delivery: WebhookDelivery
    client_id: str
    payload: NotRequired[str]  # the JSON body; dropped once delivered or failed
    expires_at: int


class RedeliveryAccepted(TypedDict):
    delivery_id: str
    status: DeliveryStatus


# ------------------------------------------------------------ decision versions, monitoring, batches
# The registry's, monitoring's and batches' answers. They live here (not beside the services that
# build them) so that the route declarations (chalicelib.http.routes, imported on every cold start)
# name them without importing those services and the engine code behind them.
class ChallengerArm(TypedDict):
    version_id: str
    share: int  # percent of applications, 1-50 (resources.CHALLENGER_SHARE_RANGE)


class Routing(TypedDict):
    """The routing document: THE contract between the registry and the request path."""

    revision: int  # 0: nothing stored yet (empty registry); every stored change adds 1
    champion: str  # version id; PACKAGED_VERSION_ID in an empty registry
    challenger: ChallengerArm | None
    shadows: list[str]  # version ids scored after the served decision, never returned
    shadow_share: int  # percent of applications the shadows score (100: every one)
    previous_champions: list[str]  # most recent last: what a rollback returns to
    updated_at: str | None  # ISO 8601 UTC; None in an empty registry
    updated_by: str | None  # staff subject; None in an empty registry


VersionStatus = Literal["champion", "challenger", "shadow", "retired", "registered"]


class VersionSummary(TypedDict):
    version_id: str
    label: str
    model_id: str
    model_version: str
    model_sha256: str
    policy_id: str
    policy_version: str
    policy_sha256: str
    registered_by: str
    registered_at: str
    status: VersionStatus  # its place in today's routing
    share: int | None  # the challenger's share, or the shadows' sampled share
    gates_passed: bool | None  # None: the packaged version (no report of its own)


class VersionDetail(VersionSummary):
    notes: str
    policy: dict[str, Any]  # the policy document
    report: ValidationReport | None


class ChangeAnswer(TypedDict):
    change_id: str
    state: Literal["proposed", "applied", "superseded"]
    action: Literal["promote", "rollback"]
    version_id: str
    role: str
    share: int | None
    proposed_by: str
    approved_by: str | None
    emergency: bool
    routing_before: Routing
    routing_after: Routing


class VersionList(TypedDict):
    versions: list[VersionSummary]
    routing: Routing
    pending_changes: list[ChangeAnswer]  # proposed on today's routing, waiting for a manager


class VersionAuditPage(TypedDict):
    """``GET /v1/versions/audit``: one page of the registry's trail, newest first. ``verified`` and
    ``first_broken_seq`` are of the whole trail, recomputed on every read."""

    verified: bool
    first_broken_seq: int | None
    entries: list[AuditEntry]
    next_cursor: str | None


ReportTrigger = Literal["schedule", "staff", "local"]
# "from" is a Python keyword: the functional form names the keys the JSON carries.
ReportWindow = TypedDict("ReportWindow", {"from": str, "to": str, "days": int})


class ReportSummary(TypedDict):
    """What the list of reports shows of one report (its index item)."""

    report_id: str
    created_at: str  # ISO 8601 UTC
    window: ReportWindow
    trigger: ReportTrigger
    requested_by: str | None  # the staff subject of a POST /v1/monitoring/runs; None when scheduled
    versions: list[str]  # decision versions with a section, sorted
    clients: int  # clients with a section
    decisions: int  # decisions in the window
    alerts: int
    alert_codes: list[str]  # distinct, sorted


class ReportSection(VersionReport):
    """One client's (or every client's: ``client_id`` "*") decisions of one decision version."""

    client_id: str
    decision_version: str


class RunAlert(Alert):
    """An alert of the run: which section raised it."""

    client_id: str
    decision_version: str


class MonitoringReport(TypedDict):
    """One monitoring run over a window of stored decisions."""

    report_id: str
    created_at: str
    window: ReportWindow
    trigger: ReportTrigger
    requested_by: str | None
    decisions: int
    sections: list[ReportSection]
    alerts: list[RunAlert]


class ReportList(TypedDict):
    """Reports in a time range, newest first."""

    reports: list[ReportSummary]


class RunParts(TypedDict):
    done: int
    total: int


class MonitoringRunStatus(TypedDict):
    """A run that has no report yet (running) or will have none (failed): ``POST
    /v1/monitoring/runs`` answers it, and ``GET /v1/monitoring/reports/{id}`` until the report is in."""

    report_id: str
    status: Literal["running", "completed", "failed"]
    created_at: str
    window: ReportWindow
    trigger: ReportTrigger
    requested_by: str | None
    parts: RunParts  # one per (day, shard) partition of the window
    error: str | None  # why a failed run failed


BatchStatus = Literal["PENDING", "RUNNING", "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"]
BatchFormat = Literal["csv", "jsonl"]
BatchKind = Literal["decisions", "outcomes"]  # a file of applications to score, or of loan outcomes


class UploadPartUrl(TypedDict):
    part_number: int
    url: str  # a presigned UploadPart: PUT the part's bytes, keep the ETag header of the answer


class MultipartUpload(TypedDict):
    """A large file's upload: PUT bytes [(n-1) * part_size, n * part_size) to part n's URL, then
    start the batch with every part's ``{"part_number", "etag"}``."""

    upload_id: str
    part_size: int
    parts: list[UploadPartUrl]


class BatchCreated(TypedDict):
    """A new batch: PUT the file to ``upload_url`` (or its parts to ``upload.parts``, for a file
    declared larger than the multipart threshold) before ``upload_expires_at``, then start it."""

    batch_id: str
    status: BatchStatus
    kind: BatchKind
    format: BatchFormat
    versions: list[str]
    counteroffers: bool
    upload_url: NotRequired[str]
    upload: NotRequired[MultipartUpload]
    upload_method: Literal["PUT"]
    max_bytes: int
    upload_expires_at: str


class BatchStarted(TypedDict):
    batch_id: str
    status: BatchStatus
    chunks_total: int | None  # null until the scorer has planned the file


class ChunkProgress(TypedDict):
    done: int
    failed: int
    total: int | None


class RowProgress(TypedDict):
    read: int
    scored: int
    invalid: int
    total: int | None


class BatchResults(TypedDict):
    """Presigned GETs: the summary and the result parts in row order (gzip JSON Lines), at most
    ``BATCH_RESULT_PARTS_PER_VIEW`` from ``parts_from``; ``next_parts_from`` names the next page."""

    summary_url: str
    parts: list[str]
    expires_at: str
    parts_total: int
    parts_from: int
    next_parts_from: int | None


class BatchView(TypedDict):
    """A batch's progress; once done, its summary and result files."""

    batch_id: str
    status: BatchStatus
    kind: BatchKind
    format: BatchFormat
    versions: list[str]
    counteroffers: bool
    created_at: str
    started_at: NotRequired[str]
    completed_at: NotRequired[str]
    chunks: ChunkProgress
    rows: RowProgress
    rows_per_second: float | None
    eta_seconds: float | None
    errors: list[str]
    error: NotRequired[str]
    summary: NotRequired[dict[str, Any]]
    results: NotRequired[BatchResults]


class BatchList(TypedDict):
    items: list[BatchView]
    next_cursor: str | None
