"""The single source of truth for the service's AWS resources and operating numbers.

Everything that must agree between the local stack (``devstack/``), the tests, the LocalStack
init hooks (``localstack/``) and the CloudFormation template (``infra/``) is defined here once:
table and queue definitions, Lambda sizing and concurrency, API throttles, usage plans, the WAF
per-IP rule and alarm thresholds. Pure data: importing this module costs nothing and touches no
AWS API, so the request path can use it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

SERVICE = "loan-decisions"
STAGES = ("local", "dev", "prod")
# The stages deployed to AWS with ``make package`` / ``make deploy`` (``local`` runs on this machine).
DEPLOYED_STAGES = tuple(stage for stage in STAGES if stage != "local")
# Powertools Metrics namespace of the app's own EMF metrics (POWERTOOLS_METRICS_NAMESPACE).
METRICS_NAMESPACE = "LoanDecisions"
# Level of the Powertools Logger in every stage (LOG_LEVEL).
LOG_LEVEL = "INFO"
# The API Gateway stage name Chalice deploys (the first path segment of the endpoint URL).
API_GATEWAY_STAGE = "api"
# X-Ray active tracing per stage. ``local`` has no X-Ray daemon: tracing is off there (the Tracer
# would otherwise try to send segments nowhere and the X-Ray SDK import would slow every start).
XRAY_TRACING: dict[str, bool] = {"local": False, "dev": True, "prod": True}
# Region of the local stage (fake credentials, moto or LocalStack endpoint): never a real account.
# The one region constant: the service's default when neither AWS_REGION nor AWS_DEFAULT_REGION is
# set, the local stack's, the placeholder ARNs'. (That CloudFront's WAF lives in us-east-1 is an AWS
# fact of its own: infra.console_hosting.CLOUDFRONT_WAF_REGION.)
LOCAL_REGION = "us-east-1"
# The AWS SDK's read timeout (chalicelib.dal.clients): short, so that an outage is a fast 503.
SDK_READ_TIMEOUT_SECONDS = 2.0
# TESTS ONLY: overrides it; unset in every deployed stage. The integration suite's shared stack runs
# on moto, which serves DynamoDB one request at a time (devstack/moto_server.py): behind a burst of
# 50 decisions on a loaded 2-core machine a call waits seconds there, as it never does on DynamoDB.
SDK_READ_TIMEOUT_ENV = "SDK_READ_TIMEOUT_SECONDS"
# Powertools EMF metrics per stage: off in ``local`` (no CloudWatch; the EMF lines would only
# clutter the terminal), on where CloudWatch ingests them from the function's logs.
EMF_METRICS: dict[str, bool] = {"local": False, "dev": True, "prod": True}
# The local stage loads the gateway emulation (API keys, usage-plan throttles) from this module,
# named in its environment; the deployed stages have API Gateway and never set the variable, so
# the emulation is not in the Lambda package.
LOCAL_EDGE_MODULE_ENV = "LOCAL_EDGE_MODULE"
LOCAL_EDGE_MODULE = "devstack.gateway"


def resource_name(stage: str, suffix: str) -> str:
    """Physical name of a table or queue for a stage, e.g. ``loan-decisions-prod-applications``."""
    return f"{SERVICE}-{stage}-{suffix}"


# --------------------------------------------------------------------------------------------
# DynamoDB
# --------------------------------------------------------------------------------------------
class IndexSpec(NamedTuple):
    """A global secondary index. Keys are string attributes. ``projected``: the non-key attributes
    the index carries (INCLUDE), or None for all of them (ALL). A list reads what its index holds,
    and a Query is charged by the size of the index items it reads: the list indexes carry a
    summary (about 0.3 KB), not the whole decision (about 10 KB)."""

    name: str
    partition_key: str
    sort_key: str
    purpose: str = ""
    projected: tuple[str, ...] | None = None

    def projection(self) -> dict[str, object]:
        """The ``Projection`` of CreateTable and of the template's GlobalSecondaryIndexes."""
        if self.projected is None:
            return {"ProjectionType": "ALL"}
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.projected)}

    def definition(self) -> dict[str, object]:
        """The index as CreateTable and CloudFormation's GlobalSecondaryIndexes both declare it (on
        demand: no ProvisionedThroughput)."""
        return {
            "IndexName": self.name,
            "KeySchema": [
                {"AttributeName": self.partition_key, "KeyType": "HASH"},
                {"AttributeName": self.sort_key, "KeyType": "RANGE"},
            ],
            "Projection": self.projection(),
        }


class TableSpec(NamedTuple):
    logical_id: str  # CloudFormation logical id
    suffix: str  # physical name = resource_name(stage, suffix)
    env_var: str  # environment variable the Lambda functions read the name from
    partition_key: str  # always a string attribute
    ttl_attribute: str | None = None  # epoch seconds; DynamoDB deletes lazily, code checks too
    purpose: str = ""
    indexes: tuple[IndexSpec, ...] = ()
    sort_key: str | None = None  # a string attribute; None: the partition key alone is the key

    def key_schema(self) -> list[dict[str, str]]:
        """The table's KeySchema (CreateTable and CloudFormation alike)."""
        schema = [{"AttributeName": self.partition_key, "KeyType": "HASH"}]
        if self.sort_key:
            schema.append({"AttributeName": self.sort_key, "KeyType": "RANGE"})
        return schema

    @property
    def key_attributes(self) -> tuple[str, ...]:
        """Every attribute a key schema names (table and indexes), each once, in order."""
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        for index in self.indexes:
            names += [index.partition_key, index.sort_key]
        return tuple(dict.fromkeys(names))


# Lists are Queries on these indexes, newest first: never a Scan. A record's owner is the API key
# that created it (API Gateway's requestContext.identity.apiKeyId).
DECISION_SUMMARY_ATTRIBUTES = (
    "source",
    "outcome",
    "decided_by",
    "probability",
    "model_version",
    "application_id",
)
APPLICATION_SUMMARY_ATTRIBUTES = ("status", "decided_at", "decision_id", "outcome", "failure")
DECISIONS_BY_CLIENT = IndexSpec(
    "by-client",
    "client_id",
    "created_at",
    "GET /v1/decisions: one client's decisions by time",
    projected=DECISION_SUMMARY_ATTRIBUTES,
)
DECISIONS_BY_CLIENT_OUTCOME = IndexSpec(
    "by-client-outcome",
    "client_outcome",  # "<client id>#<outcome>"
    "created_at",
    "GET /v1/decisions?outcome=: one client's decisions with one outcome, by time",
    projected=DECISION_SUMMARY_ATTRIBUTES,
)
APPLICATIONS_BY_CLIENT = IndexSpec(
    "by-client",
    "client_id",
    "submitted_at",
    "GET /v1/applications: one client's applications by time",
    projected=APPLICATION_SUMMARY_ATTRIBUTES,
)
APPLICATIONS_BY_CLIENT_STATUS = IndexSpec(
    "by-client-status",
    "client_status",  # "<client id>#<status>", rewritten with every status change
    "submitted_at",
    "GET /v1/applications?status=: one client's applications in one status, by time",
    projected=APPLICATION_SUMMARY_ATTRIBUTES,
)
APPLICATIONS_PENDING = IndexSpec(
    "pending",
    "pending",  # present (value "PENDING") only while the application is PENDING: a sparse index
    "submitted_at",
    "the reconciler: PENDING applications, oldest first",
)


DECISION_CACHE_TABLE = TableSpec(
    logical_id="DecisionCacheTable",
    suffix="decision-cache",
    env_var="DECISION_CACHE_TABLE",
    partition_key="cache_key",
    ttl_attribute="expires_at",
    purpose="Decision cache: sha256 of canonical scoring inputs + model version -> decision.",
)
DECISIONS_TABLE = TableSpec(
    logical_id="DecisionsTable",
    suffix="decisions",
    env_var="DECISIONS_TABLE",
    partition_key="decision_id",
    ttl_attribute="expires_at",
    purpose="Every decision made (sync and async), personal data masked or hashed.",
    indexes=(DECISIONS_BY_CLIENT, DECISIONS_BY_CLIENT_OUTCOME),
)
APPLICATIONS_TABLE = TableSpec(
    logical_id="ApplicationsTable",
    suffix="applications",
    env_var="APPLICATIONS_TABLE",
    partition_key="application_id",
    ttl_attribute="expires_at",
    purpose="Asynchronous applications: PENDING -> DECIDED | FAILED.",
    indexes=(APPLICATIONS_BY_CLIENT, APPLICATIONS_BY_CLIENT_STATUS, APPLICATIONS_PENDING),
)
IDEMPOTENCY_TABLE = TableSpec(
    logical_id="IdempotencyTable",
    suffix="idempotency",
    env_var="IDEMPOTENCY_TABLE",
    partition_key="id",  # Powertools' DynamoDBPersistenceLayer defaults
    ttl_attribute="expiration",
    purpose="Powertools Idempotency records for Idempotency-Key requests.",
)
# The review desk: one case per manual_review decision, worked by staff (Cognito), oldest due first.
REVIEWS_BY_STATUS_DUE = IndexSpec(
    "by-status-due",
    "status",  # open | claimed | closed
    "due_at",
    "GET /v1/reviews?status=: cases in one status, oldest due first",
)
REVIEWS_TABLE = TableSpec(
    logical_id="ReviewsTable",
    suffix="reviews",
    env_var="REVIEWS_TABLE",
    partition_key="review_id",  # derived from the decision id: one case per decision, exactly once
    ttl_attribute="expires_at",
    purpose="Manual-review cases: open -> claimed -> closed, with the reviewer's final outcome.",
    indexes=(REVIEWS_BY_STATUS_DUE,),
)
# Append-only, hash-chained audit trail per decision subject (the async application, or the sync
# decision): partition = subject id, sort = zero-padded sequence number.
AUDIT_TABLE = TableSpec(
    logical_id="AuditTable",
    suffix="audit",
    env_var="AUDIT_TABLE",
    partition_key="subject_id",
    sort_key="seq",
    ttl_attribute="expires_at",
    purpose="Tamper-evident audit trail: each entry's sha256 chains over the previous entry.",
)
TABLES: tuple[TableSpec, ...] = (
    DECISION_CACHE_TABLE,
    DECISIONS_TABLE,
    APPLICATIONS_TABLE,
    IDEMPOTENCY_TABLE,
    REVIEWS_TABLE,
    AUDIT_TABLE,
)

DECISION_CACHE_TTL_SECONDS = 3600
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


# --------------------------------------------------------------------------------------------
# The review desk: staff sign-in (Cognito), SLA, maker-checker
# --------------------------------------------------------------------------------------------
class UserPoolSpec(NamedTuple):
    logical_id: str
    suffix: str  # pool name = resource_name(stage, suffix)
    client_logical_id: str
    client_suffix: str
    groups: tuple[str, ...]
    minimum_password_length: int
    id_token_validity_minutes: int
    authorizer_name: str  # the Chalice CognitoUserPoolAuthorizer's name (API Gateway authorizer)


STAFF_POOL = UserPoolSpec(
    logical_id="StaffUserPool",
    suffix="staff",
    client_logical_id="StaffUserPoolClient",
    client_suffix="staff-console",
    groups=("reviewer", "manager", "model_risk"),
    minimum_password_length=14,
    id_token_validity_minutes=60,
    authorizer_name="StaffPool",
)
REVIEWER_GROUP, MANAGER_GROUP, MODEL_RISK_GROUP = STAFF_POOL.groups
# Environment of the API function: the pool's ARN (for Chalice's authorizer definition), its id
# and the app client's id (what a local token verifier checks the issuer and audience against).
STAFF_POOL_ARN_ENV = "STAFF_USER_POOL_ARN"
STAFF_POOL_ID_ENV = "STAFF_USER_POOL_ID"
STAFF_POOL_CLIENT_ID_ENV = "STAFF_USER_POOL_CLIENT_ID"
# Whether the staff app client allows USER_PASSWORD_AUTH (password sent to Cognito over TLS, what
# ``aws cognito-idp initiate-auth`` and scripts can do) beside SRP (the console: the password never
# leaves the browser). Local and dev: scripts and curl walkthroughs; prod: SRP and refresh only.
STAFF_PASSWORD_AUTH: dict[str, bool] = {"local": True, "dev": True, "prod": False}
# What app.py's Cognito authorizer names when no pool ARN is in the environment (``chalice
# package``): infra/package.py replaces it with the stack's own pool.
STAFF_POOL_ARN_PLACEHOLDER = f"arn:aws:cognito-idp:{LOCAL_REGION}:000000000000:userpool/PLACEHOLDER"
# A review case is due this many business days (Mon-Fri) after it opens; REVIEW_SLA_BUSINESS_DAYS
# overrides it.
REVIEW_SLA_BUSINESS_DAYS = 2
REVIEW_SLA_BUSINESS_DAYS_ENV = "REVIEW_SLA_BUSINESS_DAYS"
# Maker-checker: a reviewer's approval above the decision's version's loan amount (its policy
# document's review_desk.second_approval_above_amount), or against a failed blocking rule, needs a
# manager's second approval. This environment variable, unset in every deployed stage, overrides
# every version's amount for a whole deployment (tests and demos only: a lender changes the amount
# by registering a policy version, which the registry's gates and audit trail record).
SECOND_APPROVAL_ABOVE_AMOUNT_ENV = "SECOND_APPROVAL_ABOVE_AMOUNT"
REVIEW_COMPLETED = "review.completed"
# Decisions and applications are kept this long (through TTL), the usual record-keeping period for
# credit decisions (25 months; US Reg B 12 CFR 1002.12). RECORD_RETENTION_DAYS overrides it.
RECORD_RETENTION_DAYS = 762  # 25 months of 30.44 days, rounded up
RECORD_RETENTION_DAYS_ENV = "RECORD_RETENTION_DAYS"
# GET lists: ?limit= default and maximum.
LIST_DEFAULT_LIMIT = 20
LIST_MAX_LIMIT = 100


# --------------------------------------------------------------------------------------------
# Lambda functions
# --------------------------------------------------------------------------------------------
# The specs here are NamedTuples (cheap to define on every cold start) except FunctionSpec and
# QueueSpec: a per-instance default dict and a check at construction need a dataclass.
@dataclass(frozen=True)
class FunctionSpec:
    chalice_name: str  # the Python function name in app.py ("api_handler" for the REST API)
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: dict[str, int]  # per stage
    provisioned_concurrency: dict[str, int] = field(default_factory=dict)  # per stage, via alias


API_FUNCTION = FunctionSpec(
    chalice_name="api_handler",
    memory_mb=512,
    timeout_seconds=10,
    reserved_concurrency={"dev": 20, "prod": 200},
    provisioned_concurrency={"prod": 2},
)
WORKER_FUNCTION = FunctionSpec(
    chalice_name="process_application_queue",
    memory_mb=512,
    timeout_seconds=30,
    reserved_concurrency={"dev": 5, "prod": 20},
)
RECONCILER_FUNCTION = FunctionSpec(
    chalice_name="reconcile_pending_applications",
    memory_mb=256,
    timeout_seconds=60,
    reserved_concurrency={"dev": 1, "prod": 1},  # one run at a time: runs are idempotent, not parallel
)
FUNCTIONS: tuple[FunctionSpec, ...] = (API_FUNCTION, WORKER_FUNCTION, RECONCILER_FUNCTION)
# How often the reconciler runs (Chalice @app.schedule; the local stack runs it on a timer).
RECONCILE_EVERY_MINUTES = 5


# --------------------------------------------------------------------------------------------
# SQS
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    suffix: str
    env_var: str
    dlq_logical_id: str
    dlq_suffix: str
    dlq_env_var: str
    max_receive_count: int
    visibility_timeout_seconds: int
    retention_seconds: int
    dlq_retention_seconds: int
    batch_size: int
    batching_window_seconds: int
    consumer: FunctionSpec  # the function the SQS event source mapping invokes

    # Lambda's floor for an SQS mapping's ScalingConfig.MaximumConcurrency (AWS quota: 2-1000).
    MINIMUM_MAXIMUM_CONCURRENCY = 2

    def __post_init__(self) -> None:
        for stage, reserved in self.consumer.reserved_concurrency.items():
            if reserved < self.MINIMUM_MAXIMUM_CONCURRENCY:
                raise ValueError(
                    f"{self.logical_id}: {self.consumer.chalice_name} reserved concurrency {reserved} in "
                    f"{stage} is below the mapping's minimum MaximumConcurrency "
                    f"({self.MINIMUM_MAXIMUM_CONCURRENCY})"
                )

    @property
    def maximum_concurrency(self) -> dict[str, int]:
        """Per stage: the mapping's MaximumConcurrency, equal to the consumer's reserved concurrency.

        SQS pollers ignore reserved concurrency; a mapping allowed more concurrent invocations than
        the function may run gets throttled, and throttled messages come back until they reach the
        DLQ. So the cap is the reserved concurrency itself (derived here, never copied).
        """
        return dict(self.consumer.reserved_concurrency)


APPLICATIONS_QUEUE = QueueSpec(
    logical_id="ApplicationsQueue",
    suffix="applications",
    env_var="APPLICATIONS_QUEUE",
    dlq_logical_id="ApplicationsDeadLetterQueue",
    dlq_suffix="applications-dlq",
    dlq_env_var="APPLICATIONS_DLQ",
    max_receive_count=5,
    # AWS guidance: at least 6x the consuming function's timeout.
    visibility_timeout_seconds=6 * WORKER_FUNCTION.timeout_seconds,
    retention_seconds=4 * 24 * 3600,
    dlq_retention_seconds=14 * 24 * 3600,
    batch_size=10,
    batching_window_seconds=1,
    consumer=WORKER_FUNCTION,
)
QUEUES: tuple[QueueSpec, ...] = (APPLICATIONS_QUEUE,)

# An application still PENDING this long after it was submitted will not be decided by the queue
# any more: every receive (visibility timeout x maxReceiveCount) is used up, plus a run of slack.
PENDING_MAX_AGE_SECONDS = (
    APPLICATIONS_QUEUE.visibility_timeout_seconds * APPLICATIONS_QUEUE.max_receive_count
    + RECONCILE_EVERY_MINUTES * 60
)


# --------------------------------------------------------------------------------------------
# EventBridge: one event per decision
# --------------------------------------------------------------------------------------------
class EventBusSpec(NamedTuple):
    logical_id: str
    suffix: str
    env_var: str
    source: str  # the events' Source
    detail_types: tuple[str, ...]
    local_queue_suffix: str  # the local stack's rule delivers every event to this SQS queue
    purpose: str = ""


DECISION_EVENTS_BUS = EventBusSpec(
    logical_id="DecisionEventsBus",
    suffix="decision-events",
    env_var="DECISION_EVENTS_BUS",
    source=SERVICE,
    detail_types=("decision.made", "review.completed"),
    local_queue_suffix="decision-events-local",
    purpose="decision.made per decision (ids, outcome, model version, client; no personal data)",
)
DECISION_MADE = "decision.made"


# --------------------------------------------------------------------------------------------
# API Gateway throttling, usage plans and the WAF per-IP rule
# --------------------------------------------------------------------------------------------
class Throttle(NamedTuple):
    rate_per_second: float  # token-bucket refill rate
    burst: int  # token-bucket size


class UsagePlanSpec(NamedTuple):
    name: str
    throttle: Throttle
    daily_quota: int


# The original's API limit (nginx, per client IP): 100 r/s, burst 200.
STAGE_THROTTLE = Throttle(rate_per_second=100, burst=200)
# Stricter limits on the cheap/public routes ("/health..." like the original's auth limit).
# Keys are "<resource path>/<HTTP METHOD>" as API Gateway's MethodSettings expects them.
METHOD_THROTTLES: dict[str, Throttle] = {
    "/health/GET": Throttle(rate_per_second=10, burst=20),
    "/health/live/GET": Throttle(rate_per_second=10, burst=20),
    "/health/ready/GET": Throttle(rate_per_second=10, burst=20),
    "/health/detailed/GET": Throttle(rate_per_second=5, burst=10),
    "/v1/eligibility/POST": Throttle(rate_per_second=20, burst=50),
    # Operational and documentation routes: cheap, but they must not eat the API's concurrency.
    "/metrics/GET": Throttle(rate_per_second=5, burst=10),
    "/openapi.json/GET": Throttle(rate_per_second=5, burst=10),
    "/docs/GET": Throttle(rate_per_second=5, burst=10),
    # A page load fetches its few static files at once (docs: 4, console: 4).
    "/docs/{name}/GET": Throttle(rate_per_second=10, burst=20),
    "/console/GET": Throttle(rate_per_second=5, burst=10),
    "/console/{name}/GET": Throttle(rate_per_second=10, burst=20),
}
USAGE_PLANS: tuple[UsagePlanSpec, ...] = (
    UsagePlanSpec(name="standard", throttle=Throttle(rate_per_second=50, burst=100), daily_quota=50_000),
    UsagePlanSpec(name="partner", throttle=Throttle(rate_per_second=1000, burst=500), daily_quota=5_000_000),
)
# WAF rate-based rule per client IP. WAF counts requests over an evaluation window, so the
# original's 100 r/s per IP becomes 100 * window requests.
WAF_PER_IP_RATE_PER_SECOND = 100
WAF_EVALUATION_WINDOW_SECONDS = 300
WAF_PER_IP_LIMIT = WAF_PER_IP_RATE_PER_SECOND * WAF_EVALUATION_WINDOW_SECONDS
# The header CloudFront adds to every request it forwards to the API (the console's distribution);
# its value is a generated secret. The API's per-IP rule skips requests carrying it: the console's
# CLOUDFRONT web ACL already limited them per viewer, and the API would only see edge addresses.
CLOUDFRONT_ORIGIN_HEADER = "X-Origin-Verify"
# Routes that need no API key (everything else requires one), as route templates. The API
# documentation is public so that a browser can open /docs (it cannot send an x-api-key header on
# navigation). The detailed health is not: it names tables, queues and dependency errors.
PUBLIC_ROUTES = (
    "/health",
    "/health/live",
    "/health/ready",
    "/openapi.json",
    "/docs",
    "/docs/{name}",
    "/console",
    "/console/{name}",
)
# Seconds a throttled client is told to wait.
THROTTLED_RETRY_AFTER_SECONDS = 1
# Seconds a client is told to wait when DynamoDB or SQS is unavailable.
DEPENDENCY_RETRY_AFTER_SECONDS = 5

# Largest request body accepted (413 above).
MAX_BODY_BYTES = 16 * 1024


# --------------------------------------------------------------------------------------------
# Alarms: the original's 14 Prometheus alerts and the queue/throttle additions.
# --------------------------------------------------------------------------------------------
class AlarmThresholds(NamedTuple):
    error_ratio_warning: float = 0.05  # 5xx ratio > 5% for 5 minutes
    error_ratio_critical: float = 0.10  # 5xx ratio > 10% for 2 minutes
    p95_latency_ms: int = 1000
    p99_latency_ms: int = 5000
    request_rate_per_second: int = 1000
    concurrency_warning_ratio: float = 0.80  # of reserved concurrency ("CPU > 80%")
    concurrency_critical_ratio: float = 0.95  # ("CPU > 95%")
    memory_warning_ratio: float = 0.80  # max memory used / configured ("memory > 80%")
    memory_critical_ratio: float = 0.95
    function_errors_per_15_minutes: int = 3  # "restarts > 3 in 15 m"
    dynamodb_latency_ms: int = 500  # "database latency > 0.5 s"
    oldest_message_age_seconds: int = 300
    dlq_visible_messages: int = 0  # alarm when > 0
    # The review desk (gauges the reconciler emits every RECONCILE_EVERY_MINUTES).
    review_sla_breached_cases: int = 0  # open/claimed cases past due: alarm when > 0 for 15 minutes
    review_oldest_open_age_seconds: int = 86_400  # one business day of backlog on the oldest case


ALARM_THRESHOLDS = AlarmThresholds()

# CloudWatch Logs retention per stage (Lambda and API Gateway access logs); must be a value
# CloudWatch accepts (1, 3, 5, 7, 14, 30, 60, 90, ...).
LOG_RETENTION_DAYS: dict[str, int] = {"local": 7, "dev": 14, "prod": 90}


# --------------------------------------------------------------------------------------------
# Fraud and velocity signals (issue 21): counters per client, keyed by keyed hashes, with TTL.
# --------------------------------------------------------------------------------------------
FRAUD_COUNTERS_TABLE = TableSpec(
    logical_id="FraudCountersTable",
    suffix="fraud-counters",
    env_var="FRAUD_COUNTERS_TABLE",
    # "<client id>#<signal>#<keyed hash of the value>#<time bucket>": one item per value per bucket.
    partition_key="counter_key",
    ttl_attribute="expires_at",
    purpose="Velocity counters: string sets of '<epoch>:<submission>' per client, signal and time bucket.",
)
TABLES = (*TABLES, FRAUD_COUNTERS_TABLE)
# The metrics the fraud signals emit (EMF, METRICS_NAMESPACE) and alarm on (infra/alarms.py).
FRAUD_CRITICAL_METRIC = "FraudCriticalFlags"
FRAUD_UNCHECKED_METRIC = "FraudUnchecked"
FRAUD_FLAGGED_EVENT = "fraud.flagged"
DECISION_EVENTS_BUS = DECISION_EVENTS_BUS._replace(
    detail_types=(*DECISION_EVENTS_BUS.detail_types, FRAUD_FLAGGED_EVENT)
)


class FraudAlarmThresholds(NamedTuple):
    critical_flags_per_5_minutes: int = 0  # any critical flag (a device or IP burst): alarm when > 0
    unchecked_per_5_minutes: int = 0  # counters unreadable: every such application goes to review
    # The original's rejection-rate spike: declined / all decisions over 15 minutes.
    rejection_rate: float = 0.6
    rejection_rate_min_decisions: int = 20  # below this many decisions a rate says nothing


FRAUD_ALARM_THRESHOLDS = FraudAlarmThresholds()
# Decision versions: the registry (issue 18)
# --------------------------------------------------------------------------------------------
# One table for the registry's records: kind = "version" | "routing" | "change", item_id = the
# version id, "current" (the routing document) or the change id. Listing versions is one Query.
VERSIONS_TABLE = TableSpec(
    logical_id="DecisionVersionsTable",
    suffix="decision-versions",
    env_var="VERSIONS_TABLE",
    partition_key="kind",
    sort_key="item_id",
    purpose="Decision versions, the routing document (champion/challenger/shadows) and routing changes.",
)
TABLES = (*TABLES, VERSIONS_TABLE)


class BucketSpec(NamedTuple):
    logical_id: str
    suffix: str  # bucket name = resource_name(stage, suffix) (+ the account id in the template)
    env_var: str
    purpose: str = ""
    versioned: bool = True  # batch results (issue 19) are not: an overwritten part is never wanted back
    expire_after_days: int | None = None  # an S3 lifecycle rule deletes objects this old (None: never)
    # A CORS rule lets the console's page PUT objects with a presigned URL from the browser (batch
    # uploads, issue 19): AllowedMethods PUT, AllowedHeaders content-type, the console's origins.
    cors_put_from_console: bool = False


# Model artifacts and policy documents, content-addressed (blobs/<sha256>.json), versioned,
# encrypted (SSE-S3), public access blocked.
VERSIONS_BUCKET = BucketSpec(
    logical_id="DecisionVersionsBucket",
    suffix="decision-versions",
    env_var="VERSIONS_BUCKET",
    purpose="Model artifacts and lending-policy documents by sha256.",
)
BUCKETS: tuple[BucketSpec, ...] = (VERSIONS_BUCKET,)
# Every Lambda instance reads the routing document at most this long after it changed.
ROUTING_CACHE_SECONDS = 30
# A challenger serves this share of applications (percent, inclusive).
CHALLENGER_SHARE_MIN, CHALLENGER_SHARE_MAX = 1, 50
# Largest model artifact accepted at registration (bytes of JSON; a scorecard is about 10 KB).
MAX_ARTIFACT_BYTES = 512 * 1024


class PromotionGates(NamedTuple):
    """What a decision version must show on the labelled holdout before it may serve (configuration
    of the model-risk function, not lending policy: no policy document can loosen it)."""

    max_auc_drop: float = 0.005  # AUC not more than this below the champion's
    max_brier_rise: float = 0.005  # Brier score not more than this above the champion's
    affordability_ceiling_foir: float = 0.65  # no approval whose FOIR exceeds it
    four_fifths_min_ratio: float = 0.8  # approval-rate ratio to the most approved group
    four_fifths_min_group: int = 100  # groups smaller than this are reported, not gated


PROMOTION_GATES = PromotionGates()


# --------------------------------------------------------------------------------------------
# Webhooks (issue 22): per-client endpoints, signed deliveries, a delivery log
# --------------------------------------------------------------------------------------------
# The events a lender may subscribe to (batch.completed and monitoring.alert join once they exist).
APPLICATION_DECIDED = "application.decided"
WEBHOOK_EVENT_TYPES: tuple[str, ...] = (DECISION_MADE, APPLICATION_DECIDED, REVIEW_COMPLETED)
WEBHOOK_PING = "webhook.test"  # POST /v1/webhooks/{id}/test: delivered whatever the subscription
WEBHOOKS_BY_CLIENT = IndexSpec(
    "by-client",
    "client_id",
    "created_at",
    "GET /v1/webhooks and the fan-out: one client's endpoints",
)
WEBHOOK_ENDPOINTS_TABLE = TableSpec(
    logical_id="WebhookEndpointsTable",
    suffix="webhook-endpoints",
    env_var="WEBHOOK_ENDPOINTS_TABLE",
    partition_key="webhook_id",
    purpose="Lenders' webhook endpoints: URL, events, state; signing secrets encrypted with KMS.",
    indexes=(WEBHOOKS_BY_CLIENT,),
)
DELIVERIES_BY_ENDPOINT = IndexSpec(
    "by-endpoint",
    "webhook_id",
    "created_at",
    "GET /v1/webhooks/{id}/deliveries: one endpoint's deliveries, newest first",
)
DELIVERIES_BY_ENDPOINT_STATUS = IndexSpec(
    "by-endpoint-status",
    "webhook_status",  # "<webhook id>#<status>", rewritten with every status change
    "created_at",
    "GET /v1/webhooks/{id}/deliveries?status=",
)
WEBHOOK_DELIVERIES_TABLE = TableSpec(
    logical_id="WebhookDeliveriesTable",
    suffix="webhook-deliveries",
    env_var="WEBHOOK_DELIVERIES_TABLE",
    partition_key="delivery_id",  # derived from (event id, webhook id): one delivery per pair
    ttl_attribute="expires_at",
    purpose="Webhook deliveries and their attempts (time, status code, latency, error), kept "
    "WEBHOOK_DELIVERY_RETENTION_DAYS; the body is dropped once delivered or failed.",
    indexes=(DELIVERIES_BY_ENDPOINT, DELIVERIES_BY_ENDPOINT_STATUS),
)
TABLES += (WEBHOOK_ENDPOINTS_TABLE, WEBHOOK_DELIVERIES_TABLE)
WEBHOOK_DELIVERY_RETENTION_DAYS = 30
WEBHOOK_FUNCTION = FunctionSpec(
    chalice_name="deliver_webhooks",
    memory_mb=256,
    # Up to a batch of deliveries run in parallel, each at most WEBHOOK_TIMEOUT_SECONDS.
    timeout_seconds=30,
    reserved_concurrency={"dev": 5, "prod": 50},
)
FUNCTIONS += (WEBHOOK_FUNCTION,)
WEBHOOK_QUEUE = QueueSpec(
    logical_id="WebhookDeliveriesQueue",
    suffix="webhook-deliveries",
    env_var="WEBHOOK_QUEUE",
    dlq_logical_id="WebhookDeliveriesDeadLetterQueue",
    dlq_suffix="webhook-deliveries-dlq",
    dlq_env_var="WEBHOOK_DLQ",
    # Failed attempts are re-enqueued by the function itself (with their backoff); SQS's own
    # redelivery only covers a function that crashed or could not reach DynamoDB.
    max_receive_count=5,
    visibility_timeout_seconds=6 * WEBHOOK_FUNCTION.timeout_seconds,
    retention_seconds=4 * 24 * 3600,
    dlq_retention_seconds=14 * 24 * 3600,
    batch_size=10,
    batching_window_seconds=0,  # deliver as soon as an event arrives (p50 target: 2 s)
    consumer=WEBHOOK_FUNCTION,
)
QUEUES += (WEBHOOK_QUEUE,)
WEBHOOK_TIMEOUT_SECONDS = 10
# Old and new secret both sign this long after a rotation.
WEBHOOK_ROTATION_OVERLAP_SECONDS = 24 * 3600
# Multiplies the retry schedule (chalicelib.webhook_signing.RETRY_DELAYS_SECONDS): tests shorten it.
WEBHOOK_RETRY_SCALE_ENV = "WEBHOOK_RETRY_SCALE"
# The KMS key the signing secrets are encrypted under (an alias; the template creates key and alias).
WEBHOOK_SECRETS_KEY_ALIAS_SUFFIX = "webhook-secrets"
WEBHOOK_SECRETS_KEY_ENV = "WEBHOOK_SECRETS_KEY"
WEBHOOK_MAX_ENDPOINTS_PER_CLIENT = 20
# Each process knows which clients have webhooks for at most this long (chalicelib.service.webhooks
# .SubscriptionCache): a decision for a client without any queues nothing. Shortened by configuration.
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS = 30
WEBHOOK_SUBSCRIPTION_CACHE_SECONDS_ENV = "WEBHOOK_SUBSCRIPTION_CACHE_SECONDS"


# --------------------------------------------------------------------------------------------
# Decision versions: alarms on routing (issue 18's gaps)
# --------------------------------------------------------------------------------------------
# The EMF counts routing emits (chalicelib.service.routing and .decisions, METRICS_NAMESPACE).
ROUTING_READ_FAILED_METRIC = "RoutingReadFailed"  # a refresh of the routing document failed
ROUTING_FALLBACKS_METRIC = "RoutingFallbacks"  # a decision by the packaged version, unstored
CHALLENGER_UNAVAILABLE_METRIC = "ChallengerUnavailable"  # the challenger's share went to the champion
SHADOW_FAILED_METRIC = "ShadowFailed"  # a shadow left out of a decision's record


class RoutingAlarmSpec(NamedTuple):
    """One alarm on a routing count: ``metric`` summed over the service > ``threshold`` in each of
    ``evaluation_periods`` periods of ``period_minutes`` in a row (infra/alarms.py builds it;
    docs/OPERATIONS.md says what it means and what to do)."""

    logical_id: str
    metric: str
    threshold: int
    period_minutes: int
    evaluation_periods: int
    description: str


ROUTING_ALARMS: tuple[RoutingAlarmSpec, ...] = (
    # A refresh is retried every few seconds per process while it fails, and the last document read
    # keeps serving: one blip is nothing; ten minutes of it is a registry table out of reach, and a
    # promotion or rollback made meanwhile has not reached the instances.
    RoutingAlarmSpec(
        "RoutingReadFailedAlarm",
        ROUTING_READ_FAILED_METRIC,
        threshold=0,
        period_minutes=5,
        evaluation_periods=2,
        description="The routing document could not be read for 10 minutes (RoutingReadFailed): "
        "instances serve the last routing they read, so a promotion or rollback may not have reached them",
    ),
    # Every one is a decision not made by the champion and not stored: page at once.
    RoutingAlarmSpec(
        "RoutingFallbacksAlarm",
        ROUTING_FALLBACKS_METRIC,
        threshold=0,
        period_minutes=5,
        evaluation_periods=1,
        description="Decisions made by the packaged version v1 and not stored, because the routing "
        "document or the champion could not be loaded (RoutingFallbacks)",
    ),
    RoutingAlarmSpec(
        "ChallengerUnavailableAlarm",
        CHALLENGER_UNAVAILABLE_METRIC,
        threshold=0,
        period_minutes=5,
        evaluation_periods=1,
        description="The challenger could not be loaded and the champion decided its share "
        "(ChallengerUnavailable): the champion/challenger comparison is skewed",
    ),
    # Shadows never affect a served decision: a slower, quieter alarm.
    RoutingAlarmSpec(
        "ShadowFailedAlarm",
        SHADOW_FAILED_METRIC,
        threshold=0,
        period_minutes=15,
        evaluation_periods=1,
        description="Shadow versions failed to load or to decide and were left out of decisions' "
        "records (ShadowFailed): the shadow comparison is missing rows",
    ),
)


# --------------------------------------------------------------------------------------------
# Monitoring (issue 20): when a monitoring report's figures raise an alert
# --------------------------------------------------------------------------------------------
class MonitoringAlertThresholds(NamedTuple):
    """chalicelib.engine.monitoring.MonitoringThresholds' values (the same fields, in order)."""

    psi_alert: float = 0.25  # score PSI / characteristic CSI: shifted (Siddiqi's rule of thumb)
    psi_watch: float = 0.10  # watch: shown, not alerted on
    # PSI is biased upward in small samples (about (bins - 1) * (1/n + 1/N) with no change at all):
    # below this many decisions the 0.10 / 0.25 rule says nothing, so no PSI or CSI alert.
    psi_min_n: int = 1000
    approval_rate_move: float = 0.10  # approval rate more than 10 points from the validation baseline
    approval_rate_min_n: int = 100
    override_rate: float = 0.20  # reviews whose outcome differs from the model's leaning
    override_min_reviews: int = 20
    disparate_impact: float = 0.8  # four-fifths rule, 29 CFR 1607.4(D)
    fairness_min_n: int = 100  # groups smaller than this are reported, never alerted on
    # The original's rejection-rate spike (as FRAUD_ALARM_THRESHOLDS): declined / all over 15 minutes.
    rejection_rate: float = FRAUD_ALARM_THRESHOLDS.rejection_rate
    rejection_rate_min_decisions: int = FRAUD_ALARM_THRESHOLDS.rejection_rate_min_decisions


MONITORING_THRESHOLDS = MonitoringAlertThresholds()


# --------------------------------------------------------------------------------------------
# Monitoring runs and reports (issue 20, monitor-run)
# --------------------------------------------------------------------------------------------
# One index item per report: kind = "report", report_id = "mr-<UTC time>-<suffix>" (sorts by time,
# so the list's from/to is a key range of one Query). The report itself is JSON in the bucket.
MONITORING_REPORTS_TABLE = TableSpec(
    logical_id="MonitoringReportsTable",
    suffix="monitoring-reports",
    env_var="MONITORING_REPORTS_TABLE",
    partition_key="kind",
    sort_key="report_id",
    purpose="Monitoring reports' index: window, versions, counts and alert codes of each run.",
)
TABLES = (*TABLES, MONITORING_REPORTS_TABLE)
MONITORING_REPORTS_BUCKET = BucketSpec(
    logical_id="MonitoringReportsBucket",
    suffix="monitoring-reports",
    env_var="MONITORING_REPORTS_BUCKET",
    purpose="Monitoring reports as JSON (reports/<report_id>.json).",
)
BUCKETS = (*BUCKETS, MONITORING_REPORTS_BUCKET)
# The scheduled run reads every decision of its window through the decisions' day partitions and
# keeps only counts (engine.monitoring.Accumulator): memory does not grow with the decisions, time
# does (bench/bench_monitoring.py: docs/BENCHMARKS.md). 15 minutes is Lambda's most.
MONITOR_FUNCTION = FunctionSpec(
    chalice_name="run_monitoring",
    memory_mb=1024,
    timeout_seconds=900,
    reserved_concurrency={"dev": 1, "prod": 1},  # one run at a time
)
FUNCTIONS = (*FUNCTIONS, MONITOR_FUNCTION)
# The scheduled run: daily at this UTC time, over the last MONITORING_DEFAULT_WINDOW_DAYS days.
MONITORING_SCHEDULE_UTC = (2, 0)  # (hour, minute): an EventBridge cron(0 2 * * ? *)


def monitoring_schedule_cron() -> tuple[int, int, str, str, str, str]:
    """Chalice's ``Cron`` fields of the daily run (minute, hour, day of month, month, day of week,
    year): EventBridge's cron(M H * * ? *)."""
    hour, minute = MONITORING_SCHEDULE_UTC
    return (minute, hour, "*", "*", "?", "*")


MONITORING_WINDOW_DAYS = (1, 7, 30)  # what POST /v1/monitoring/runs accepts
MONITORING_DEFAULT_WINDOW_DAYS = 1
MONITORING_WINDOW_DAYS_ENV = "MONITORING_WINDOW_DAYS"  # the scheduled run's window, overriding it
MONITORING_ALERT = "monitoring.alert"
DECISION_EVENTS_BUS = DECISION_EVENTS_BUS._replace(
    detail_types=(*DECISION_EVENTS_BUS.detail_types, MONITORING_ALERT)
)
# EMF metrics of every run (METRICS_NAMESPACE, no dimension beyond the run): the worst value over
# the run's sections that had enough decisions to say anything (engine.monitoring's minimum n);
# infra/alarms.py alarms on them at MONITORING_THRESHOLDS, the dashboard plots them.
MONITORING_METRICS = {
    "score_psi": "MonitoringScorePSI",
    "approval_rate_shift": "MonitoringApprovalRateShift",  # points against the validation baseline
    "override_rate": "MonitoringOverrideRate",
    "disparate_impact": "MonitoringDisparateImpact",  # the lowest ratio
    "rejection_rate_spike": "MonitoringRejectionRateSpike",  # 1 when a section's rejection rate spiked
    "alerts": "MonitoringAlerts",
    "decisions": "MonitoringDecisions",
}


# --------------------------------------------------------------------------------------------
# Loan outcomes and the decisions' monitoring index (issue 20, monitor-data)
# --------------------------------------------------------------------------------------------
# Every new decision carries the day partition "<YYYY-MM-DD>#<shard>" (its created_at day, and a
# shard from the decision id): a monitoring run Queries each (day, shard) of its window, never a
# Scan. Why shards: one index partition key takes at most 1,000 write units a second; a day's
# decisions all share the day, and the partner usage plan alone allows 1,000 requests a second, so
# one key per day would throttle the index (and with it the table's writes) at peak. Four keys per
# day give 4,000 WCU/s of headroom and cost a run 4 Queries per day (120 for 30 days).
MONITORING_DAY_SHARDS = 4
# What the index carries: a run reads nothing else (about 0.5 KB an item, against ~3 KB for the
# whole decision). "monitoring" is a compressed document: reason codes, gender, age, the model's
# probability and characteristics (no personal identifier). Items written before this index have
# no day partition and are not in it (a sparse index): monitoring starts with the decisions made
# after it was deployed.
DECISIONS_BY_DAY = IndexSpec(
    "by-day",
    "monitor_day",  # "<YYYY-MM-DD>#<shard>"
    "created_at",
    "monitoring runs: every client's decisions of one day (one shard of it), by time",
    projected=(
        "client_id",
        "outcome",
        "decided_by",
        "decision_version",
        "arm",
        "monitoring",
        "final_outcome",
        "final_decided_at",
        "loan_status",
        "loan_as_of",
    ),
)
DECISIONS_TABLE = DECISIONS_TABLE._replace(indexes=(*DECISIONS_TABLE.indexes, DECISIONS_BY_DAY))
TABLES = tuple(DECISIONS_TABLE if spec.logical_id == DECISIONS_TABLE.logical_id else spec for spec in TABLES)
# Loan outcomes are kept on the decision item: the latest (loan_status, loan_as_of: what the index
# carries) and the history, a string set of "<as_of>#<status>" (adding one twice changes nothing:
# replays are idempotent by construction).
# POST /v1/outcomes: the most outcomes one request carries (about 90 bytes each: well inside
# MAX_BODY_BYTES; each costs a read and one or two conditional writes).
MAX_OUTCOMES_PER_BATCH = 100


# --------------------------------------------------------------------------------------------
# Batches and backtests (issue 19): a file of applications scored with decision versions
# --------------------------------------------------------------------------------------------
# One item per batch; lists are a Query on the owner index (a client's id, or "staff" for backtests).
BATCHES_BY_OWNER = IndexSpec(
    "by-owner",
    "owner",
    "created_at",
    "GET /v1/batches and /v1/backtests: one owner's batches, newest first",
)
BATCHES_TABLE = TableSpec(
    logical_id="BatchesTable",
    suffix="batches",
    env_var="BATCHES_TABLE",
    partition_key="batch_id",
    ttl_attribute="expires_at",
    purpose="Batches and backtests: status, chunk sets done/failed, row counts (no personal data).",
    indexes=(BATCHES_BY_OWNER,),
)
TABLES += (BATCHES_TABLE,)
STAFF_BATCH_OWNER = "staff"  # the owner of a staff backtest: visible to every model_risk/manager member
# Inputs, result parts, aggregates and summaries expire through the bucket's lifecycle rule; the
# batch's item expires (TTL) with them. BATCH_RESULT_RETENTION_DAYS overrides neither: it is the
# template's rule (one number, here).
BATCH_RESULT_RETENTION_DAYS = 30
BATCHES_BUCKET = BucketSpec(
    logical_id="BatchesBucket",
    suffix="batches",
    env_var="BATCHES_BUCKET",
    purpose="Batch inputs, result parts and summaries under batches/<id>/, expired by a lifecycle rule.",
    versioned=False,
    expire_after_days=BATCH_RESULT_RETENTION_DAYS,
    cors_put_from_console=True,
)
BUCKETS += (BATCHES_BUCKET,)
# How long a browser may cache the answer to a CORS preflight of such a bucket.
BUCKET_CORS_MAX_AGE_SECONDS = 3600
# The scorer: one chunk (or the plan of a file) per invocation. 1,769 MB is one full vCPU.
BATCH_FUNCTION = FunctionSpec(
    chalice_name="score_batch_chunks",
    memory_mb=1769,
    timeout_seconds=120,
    # The batch's concurrency cap (configuration): the SQS mapping's MaximumConcurrency equals it
    # (QueueSpec.maximum_concurrency), and the API's own reserved concurrency is untouched by it.
    reserved_concurrency={"dev": 5, "prod": 50},
)
# A chunk that failed BATCH_CHUNKS_QUEUE.max_receive_count times lands in the DLQ; this function
# records it as failed (with its row range) so that the batch completes WITH_ERRORS, never hangs.
BATCH_DLQ_FUNCTION = FunctionSpec(
    chalice_name="settle_failed_batch_chunks",
    memory_mb=256,
    timeout_seconds=30,
    reserved_concurrency={"dev": 2, "prod": 2},
)
FUNCTIONS += (BATCH_FUNCTION, BATCH_DLQ_FUNCTION)
BATCH_CHUNKS_QUEUE = QueueSpec(
    logical_id="BatchChunksQueue",
    suffix="batch-chunks",
    env_var="BATCH_CHUNKS_QUEUE",
    dlq_logical_id="BatchChunksDeadLetterQueue",
    dlq_suffix="batch-chunks-dlq",
    dlq_env_var="BATCH_CHUNKS_DLQ",
    max_receive_count=3,
    visibility_timeout_seconds=6 * BATCH_FUNCTION.timeout_seconds,
    retention_seconds=4 * 24 * 3600,
    dlq_retention_seconds=14 * 24 * 3600,
    batch_size=1,  # a chunk is seconds of work: one per invocation spreads a batch over instances
    batching_window_seconds=0,
    consumer=BATCH_FUNCTION,
)
QUEUES += (BATCH_CHUNKS_QUEUE,)
# Rows per chunk (BATCH_ROWS_PER_CHUNK overrides it: tests cut 5,000 rows into several chunks).
BATCH_ROWS_PER_CHUNK = 10_000
BATCH_ROWS_PER_CHUNK_ENV = "BATCH_ROWS_PER_CHUNK"
# Largest input file (bytes; BATCH_MAX_BYTES overrides it): a larger upload fails the start (413).
# A presigned PUT uploads at most 5 GB in one request.
BATCH_MAX_BYTES = 2 * 1024**3
BATCH_MAX_BYTES_ENV = "BATCH_MAX_BYTES"
BATCH_MAX_VERSIONS = 5  # decision versions per batch
BATCH_UPLOAD_URL_SECONDS = 3600  # the presigned PUT's life
BATCH_RESULT_URL_SECONDS = 3600  # the presigned GETs of the results
BATCH_HEAD_BYTES = 64 * 1024  # what the start reads to refuse a bad file fast
BATCH_COMPLETED = "batch.completed"
WEBHOOK_EVENT_TYPES = (*WEBHOOK_EVENT_TYPES, BATCH_COMPLETED)
DECISION_EVENTS_BUS = DECISION_EVENTS_BUS._replace(
    detail_types=(*DECISION_EVENTS_BUS.detail_types, BATCH_COMPLETED)
)


# --------------------------------------------------------------------------------------------
# An uploaded holdout at version registration (issue 18): a staff backtest's uploaded file
# --------------------------------------------------------------------------------------------
# The report is computed inside the registration request, with the candidate AND the champion on
# every row (two engine passes): about 0.36 s per 1,000 rows per version on one full core, and the
# API function's 512 MB is about 0.29 of a vCPU (Lambda gives 1 vCPU at 1,769 MB). 2,000 rows is
# then about 5 s on Lambda, inside API_FUNCTION.timeout_seconds (10 s) and API Gateway's 29 s.
HOLDOUT_MAX_ROWS = 2_000
# Bytes read in one GET: room for 2,000 rows of JSON Lines with every value a string (about 660
# bytes a row) plus extra columns; the rows cap is what bounds the time.
HOLDOUT_MAX_BYTES = 4 * 1024**2
# Fewer rows do not measure a model (AUC, KS, Brier) or a four-fifths ratio worth gating on.
HOLDOUT_MIN_ROWS = 200


# --------------------------------------------------------------------------------------------
# Monitoring runs fanned out (issue 20, monfan): one part per (day, shard) partition of the window
# --------------------------------------------------------------------------------------------
# One pass over 1 million decisions takes about 2 minutes at one vCPU (bench/bench_monitoring.py);
# the parts keep a staff run off the API's 29 s and a run's wall time in seconds. A run is a
# record (RUNNING, parts total) and one message per partition on this queue; each part counts its
# partition into S3, the last one merges (chalicelib/service/monitoring.py). 1,769 MB is one vCPU.
MONITOR_PART_FUNCTION = FunctionSpec(
    chalice_name="run_monitoring_parts",
    memory_mb=1769,
    timeout_seconds=300,  # a partition of a 1 M-decision week (~36,000) counts in well under a minute
    # The run's concurrency cap (configuration): the mapping's MaximumConcurrency equals it.
    reserved_concurrency={"dev": 4, "prod": 16},
)
# A part that failed MONITORING_PARTS_QUEUE.max_receive_count times: the run is marked FAILED
# naming the partition (a report that silently lacks a partition would mislead).
MONITOR_PARTS_DLQ_FUNCTION = FunctionSpec(
    chalice_name="settle_failed_monitoring_parts",
    memory_mb=256,
    timeout_seconds=30,
    reserved_concurrency={"dev": 2, "prod": 2},
)
FUNCTIONS += (MONITOR_PART_FUNCTION, MONITOR_PARTS_DLQ_FUNCTION)
MONITORING_PARTS_QUEUE = QueueSpec(
    logical_id="MonitoringPartsQueue",
    suffix="monitoring-parts",
    env_var="MONITORING_PARTS_QUEUE",
    dlq_logical_id="MonitoringPartsDeadLetterQueue",
    dlq_suffix="monitoring-parts-dlq",
    dlq_env_var="MONITORING_PARTS_DLQ",
    max_receive_count=3,
    visibility_timeout_seconds=6 * MONITOR_PART_FUNCTION.timeout_seconds,
    retention_seconds=4 * 24 * 3600,
    dlq_retention_seconds=14 * 24 * 3600,
    batch_size=1,  # a part is seconds to a minute of work: one per invocation spreads a run out
    batching_window_seconds=0,
    consumer=MONITOR_PART_FUNCTION,
)
QUEUES += (MONITORING_PARTS_QUEUE,)


# --------------------------------------------------------------------------------------------
# Batches: multipart upload of large files (issue 19, "multipart for large files")
# --------------------------------------------------------------------------------------------
# One presigned PUT stores at most 5 GB. A batch created with a declared size_bytes over
# BATCH_MULTIPART_ABOVE_BYTES (env overrides it) gets a multipart upload instead: one presigned
# UploadPart URL per part, completed by the start with the parts' ETags. The file's limit stays
# BATCH_MAX_BYTES (a declared size over it is a 413 at once).
BATCH_MULTIPART_ABOVE_BYTES = 100 * 1024**2
BATCH_MULTIPART_ABOVE_BYTES_ENV = "BATCH_MULTIPART_ABOVE_BYTES"
# The preferred part size (env overrides it), raised so that a file has at most BATCH_MAX_PARTS parts
# and never below S3's least part (every part but the last, https://docs.aws.amazon.com/AmazonS3/
# latest/userguide/qfacts.html: 5 MiB to 5 GiB, at most 10,000 parts).
BATCH_PART_BYTES = 64 * 1024**2
BATCH_PART_BYTES_ENV = "BATCH_PART_BYTES"
S3_MIN_PART_BYTES = 5 * 1024**2
S3_MAX_PARTS = 10_000
# Fewer parts than S3 allows: the start's body lists every part's ETag (about 70 bytes each) and a
# request body is at most MAX_BODY_BYTES; the create's answer lists a presigned URL per part.
BATCH_MAX_PARTS = 100


# --------------------------------------------------------------------------------------------
# Batches: alarms (issue 19's gaps)
# --------------------------------------------------------------------------------------------
class BatchAlarmSpec(NamedTuple):
    """One alarm on the batch path: ``metric`` (``namespace``, ``statistic``) of the chunk queue, its
    DLQ or the scorer function (``on``) > ``threshold`` in each of ``evaluation_periods`` periods of
    ``period_minutes`` in a row (infra/batches.py builds it and its dashboard graph; docs/
    OPERATIONS.md says what it means and what to do)."""

    logical_id: str
    on: Literal["queue", "dlq", "scorer"]
    namespace: str
    metric: str
    statistic: str
    threshold: float
    period_minutes: int
    evaluation_periods: int
    description: str


# A batch's chunks wait in the queue while the scorers work at the capped concurrency: 10 million
# rows are 1,000 chunks at 50 scorers of a few seconds each, minutes, never half an hour.
BATCH_OLDEST_CHUNK_AGE_SECONDS = 1800
BATCH_ALARMS: tuple[BatchAlarmSpec, ...] = (
    # The DLQ's own function settles each message within seconds: one still visible after ten
    # minutes is a settler failing (or throttled), and its batch is RUNNING until it is settled.
    BatchAlarmSpec(
        "BatchChunksDeadLetterQueueNotEmptyAlarm",
        "dlq",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Minimum",
        threshold=0,
        period_minutes=5,
        evaluation_periods=2,
        description="Batch chunks that failed "
        f"{BATCH_CHUNKS_QUEUE.max_receive_count} times wait in batch-chunks-dlq for 10 minutes: "
        "settle_failed_batch_chunks is not settling them, and their batches stay RUNNING",
    ),
    # A chunk's exception is a retry (partial batch response), not a function error: an error here is
    # a crash, a timeout or an out-of-memory kill of a scorer.
    BatchAlarmSpec(
        "BatchScorerErrorsAlarm",
        "scorer",
        "AWS/Lambda",
        "Errors",
        "Sum",
        threshold=3,
        period_minutes=15,
        evaluation_periods=1,
        description="The batch scorer (score_batch_chunks) crashed, timed out or ran out of memory "
        "more than 3 times in 15 minutes: its chunks are retried, then land in the DLQ",
    ),
    # The mapping's MaximumConcurrency equals the reserved concurrency: a throttle means they differ.
    BatchAlarmSpec(
        "BatchScorerThrottlesAlarm",
        "scorer",
        "AWS/Lambda",
        "Throttles",
        "Sum",
        threshold=0,
        period_minutes=5,
        evaluation_periods=1,
        description="Lambda throttled the batch scorer: its SQS mapping's MaximumConcurrency is above "
        "the function's reserved concurrency (they are meant to be equal)",
    ),
    BatchAlarmSpec(
        "BatchChunksOldestMessageAgeAlarm",
        "queue",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
        threshold=BATCH_OLDEST_CHUNK_AGE_SECONDS,
        period_minutes=5,
        evaluation_periods=1,
        description=f"A batch chunk has waited more than {BATCH_OLDEST_CHUNK_AGE_SECONDS} s in "
        "batch-chunks: the scorers are not keeping up (or not running)",
    ),
)


# --------------------------------------------------------------------------------------------
# Batches: completion at scale (issue 19's gaps)
# --------------------------------------------------------------------------------------------
# The completer reads every chunk's aggregates (one GET each: 1,000 at 1,000 chunks) with this many
# threads on the one S3 client (botocore clients are thread-safe; its pool holds 10 connections by
# default, more wait for one), merged in chunk order so the summary is the same bytes.
BATCH_COMPLETION_READERS = 16
# A finished batch's view lists at most this many presigned result-part URLs (each ~1 KB of JSON,
# and a signature's work); the next are GET ...?parts_from=<next_parts_from>.
BATCH_RESULT_PARTS_PER_VIEW = 100
BATCH_RESULT_PARTS_FROM_MAX = 1_000_000
