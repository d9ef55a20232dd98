"""Every route of the API, declared once: the router (app.py), the query validator
(``chalicelib.http.query``) and the OpenAPI document (``chalicelib.http.openapi``) all read these.

A declaration says who may call the route (public, an API key, or a staff group), its query
parameters with their types and limits, its JSON body, and its responses with the record type each
one carries. Adding a route means one declaration here, its handler (``chalicelib/http``) and its
service function; the document and the validation follow.

Only data and cheap constants at import (Lambda's init phase imports this): JSON schemas that need
the engine are functions, called when the OpenAPI document is first built.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from chalicelib import engine, resources
from chalicelib.engine.fraud import FRAUD_CODES
from chalicelib.engine.types import Decision, Notice, QuickEligibility
from chalicelib.errors import ErrorBody
from chalicelib.records import (
    ApplicationList,
    ApplicationStatus,
    AuditTrail,
    DecisionList,
    DecisionOnRecord,
    DecisionRerun,
    DecisionResponse,
    DeliveryList,
    DetailedHealth,
    HealthSummary,
    Liveness,
    NotReady,
    Readiness,
    RedeliveryAccepted,
    ReviewCase,
    ReviewDetail,
    ReviewList,
    SubmitResponse,
    WebhookCreated,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookList,
)
from chalicelib.service.decision_versions import PACKAGED

JsonSchema = dict[str, Any]
JSON = "application/json"
TEXT = "text/plain"
HTML = "text/html"
STATIC_MEDIA_TYPES = ("text/javascript", "text/css", HTML, TEXT)


class Access(enum.Enum):
    PUBLIC = "public"  # no credentials (resources.PUBLIC_ROUTES)
    API_KEY = "api key"  # a client: API Gateway checks the key, the client owns what it creates
    STAFF = "staff"  # a Cognito ID token of a member of one of the route's staff groups


REVIEW_GROUPS = frozenset({resources.REVIEWER_GROUP, resources.MANAGER_GROUP})
MANAGER_GROUPS = frozenset({resources.MANAGER_GROUP})


class Parameter(NamedTuple):
    """A query parameter: ``schema`` is what the validator accepts and what the document says."""

    name: str
    description: str
    schema: JsonSchema


class Reply(NamedTuple):
    """One documented response: its status, its record type (``None``: a text body) and media types."""

    status: int
    description: str
    record: type | None = None
    media_types: tuple[str, ...] = (JSON,)
    headers: tuple[str, ...] = ()  # besides X-Request-ID (and Retry-After on 503s)


class Body(NamedTuple):
    """A JSON request body: its component name in the document and its JSON schema."""

    component: str
    schema: Callable[[], JsonSchema]
    null_is_absent: bool = False  # the engine takes null for an optional field as leaving it out
    required: bool = True  # False: the request may have no body at all (a batch's start)


# NamedTuples, not dataclasses: this module is imported in every cold start, where each dataclass
# costs about a millisecond to create (bench/bench_cold_start.py).
class Route(NamedTuple):
    method: str
    path: str
    operation_id: str
    summary: str
    replies: tuple[Reply, ...]
    errors: tuple[int, ...] = ()  # shared error responses (400, 404, 409, ...): the one error shape
    access: Access = Access.API_KEY
    staff_groups: frozenset[str] = frozenset()
    query: tuple[Parameter, ...] = ()
    body: Body | None = None
    idempotent: bool = False  # takes an Idempotency-Key header
    path_choices: Callable[[], list[str]] | None = None  # the only values the path parameter takes

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


# ---------------------------------------------------------------------------- query parameters
def _limit() -> Parameter:
    return Parameter(
        "limit",
        f"page size, 1-{resources.LIST_MAX_LIMIT} (default {resources.LIST_DEFAULT_LIMIT}); ASCII digits",
        {"type": "integer", "minimum": 1, "maximum": resources.LIST_MAX_LIMIT},
    )


# A cursor is what the previous page returned: base64url(JSON) "." base64url(HMAC-SHA256).
CURSOR = Parameter(
    "cursor",
    "next_cursor of the previous page (opaque and signed: any other value is a 400)",
    {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$"},
)
PAGE = (_limit(), CURSOR)


def _choice(name: str, values: tuple[str, ...], default: str | None = None) -> Parameter:
    described = ", ".join(values) + (f" (default {default})" if default else "")
    return Parameter(name, described, {"type": "string", "enum": list(values)})


# A date (the whole day) or an RFC 3339 date-time: what chalicelib.service.listing.time_range reads.
_INSTANT: JsonSchema = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
DECISION_OUTCOMES = ("approved", "manual_review", "declined")
APPLICATION_STATES = ("PENDING", "DECIDED", "FAILED")
REVIEW_STATUSES = ("open", "claimed", "closed")


# ---------------------------------------------------------------------------- bodies
def _review_decision_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["outcome"],
        "properties": {
            "outcome": {"type": "string", "enum": ["approved", "declined", "counteroffer"]},
            "reason_codes": {
                "type": "array",
                "maxItems": 4,
                "items": {"type": "string", "enum": sorted(engine.reason_catalogue(PACKAGED.policy))},
            },
            "note": {"type": "string", "maxLength": 2000},
        },
        # A decline gives at least one principal reason (chalicelib.service.reviews).
        "anyOf": [
            {"properties": {"outcome": {"enum": ["approved", "counteroffer"]}}},
            {"required": ["reason_codes"], "properties": {"reason_codes": {"minItems": 1}}},
        ],
    }


def _second_approval_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["approve"],
        "properties": {"approve": {"type": "boolean"}, "note": {"type": "string", "maxLength": 2000}},
    }


APPLICATION_BODY = Body("Application", engine.application_json_schema, null_is_absent=True)
ELIGIBILITY_BODY = Body("EligibilityRequest", engine.quick_eligibility_json_schema, null_is_absent=True)
REVIEW_DECISION_BODY = Body("ReviewDecision", _review_decision_schema)
SECOND_APPROVAL_BODY = Body("SecondApproval", _second_approval_schema)
BODY_ERRORS = (400, 413, 415)


def _static_names(page_name: str) -> Callable[[], list[str]]:
    def names() -> list[str]:
        from chalicelib.http import static_files

        page = static_files.DOCS if page_name == "docs" else static_files.CONSOLE
        return sorted(static_files.served_names(page))

    return names


# ---------------------------------------------------------------------------- the routes
CREATE_DECISION = Route(
    "POST",
    "/v1/decisions",
    "createDecision",
    "Synchronous credit decision (served from the decision cache when the inputs repeat)",
    (Reply(200, "The decision.", DecisionResponse),),
    (*BODY_ERRORS, 409, 422),
    body=APPLICATION_BODY,
    idempotent=True,
)
LIST_DECISIONS = Route(
    "GET",
    "/v1/decisions",
    "listDecisions",
    "The caller's decisions, newest first (cursor-paginated)",
    (Reply(200, "One page.", DecisionList),),
    (400, 503),
    query=(
        _choice("outcome", DECISION_OUTCOMES),
        Parameter("from", "decided on or after: a date (YYYY-MM-DD) or an RFC 3339 date-time", _INSTANT),
        Parameter(
            "to",
            "decided on or before: a date (the whole day) or an RFC 3339 date-time; "
            "a range that ends before it starts matches nothing",
            _INSTANT,
        ),
        *PAGE,
    ),
)
GET_DECISION = Route(
    "GET",
    "/v1/decisions/{decision_id}",
    "getDecision",
    "A decision on record (the POST's body without the transient cache fields)",
    (Reply(200, "The decision.", DecisionOnRecord),),
    (404, 503),
)
GET_NOTICE = Route(
    "GET",
    "/v1/decisions/{decision_id}/notice",
    "getDecisionNotice",
    "The lender's notice of a declined, counter-offered or referred decision "
    "(JSON, or plain text with Accept: text/plain)",
    (Reply(200, "The notice.", Notice, (JSON, TEXT)),),
    (404, 503),
)
CHECK_ELIGIBILITY = Route(
    "POST",
    "/v1/eligibility",
    "checkEligibility",
    "Quick eligibility check (no personal data)",
    (Reply(200, "The verdict.", QuickEligibility),),
    BODY_ERRORS,
    body=ELIGIBILITY_BODY,
)
SUBMIT_APPLICATION = Route(
    "POST",
    "/v1/applications",
    "submitApplication",
    "Submit an application for asynchronous decision",
    (Reply(202, "Accepted and queued.", SubmitResponse, headers=("Location",)),),
    (*BODY_ERRORS, 409, 422, 503),
    body=APPLICATION_BODY,
    idempotent=True,
)
LIST_APPLICATIONS = Route(
    "GET",
    "/v1/applications",
    "listApplications",
    "The caller's applications, newest first (cursor-paginated)",
    (Reply(200, "One page.", ApplicationList),),
    (400, 503),
    query=(_choice("status", APPLICATION_STATES), *PAGE),
)
GET_APPLICATION = Route(
    "GET",
    "/v1/applications/{application_id}",
    "getApplication",
    "Status of an application, with its decision once DECIDED",
    (Reply(200, "The application.", ApplicationStatus),),
    (404, 503),
)
HEALTH = Route(
    "GET", "/health", "health", "Service status", (Reply(200, "Up.", HealthSummary),), access=Access.PUBLIC
)
HEALTH_LIVE = Route(
    "GET", "/health/live", "healthLive", "Liveness", (Reply(200, "Alive.", Liveness),), access=Access.PUBLIC
)
HEALTH_READY = Route(
    "GET",
    "/health/ready",
    "healthReady",
    "Readiness: DynamoDB tables and SQS queues reachable",
    (
        Reply(200, "Ready.", Readiness),
        Reply(503, "Not ready (which dependency failed is in the detailed health).", NotReady),
    ),
    access=Access.PUBLIC,
)
HEALTH_DETAILED = Route(
    "GET",
    "/health/detailed",
    "healthDetailed",
    "Model, dependency latency, queue depth, cold start, memory, uptime",
    (Reply(200, "Details.", DetailedHealth),),
)
METRICS = Route(
    "GET",
    "/metrics",
    "metrics",
    "This instance's request counters in Prometheus text format (per instance)",
    (Reply(200, "Prometheus text.", None, (TEXT,)),),
)
OPENAPI_DOCUMENT = Route(
    "GET",
    "/openapi.json",
    "openapi",
    "This document",
    (Reply(200, "OpenAPI 3 document.", dict),),
    access=Access.PUBLIC,
)
DOCS = Route(
    "GET",
    "/docs",
    "docs",
    "Interactive documentation: Swagger UI on this document",
    (Reply(200, "HTML page.", None, (HTML,)),),
    access=Access.PUBLIC,
)
DOCS_FILE = Route(
    "GET",
    "/docs/{name}",
    "docsFile",
    "A file of the documentation page (Swagger UI)",
    (Reply(200, "The file.", None, STATIC_MEDIA_TYPES),),
    (404,),
    access=Access.PUBLIC,
    path_choices=_static_names("docs"),
)
CONSOLE = Route(
    "GET",
    "/console",
    "console",
    "The loan-officer console (asks for an API key or a staff token; holds no data)",
    (Reply(200, "HTML page.", None, (HTML,)),),
    access=Access.PUBLIC,
)
CONSOLE_FILE = Route(
    "GET",
    "/console/{name}",
    "consoleFile",
    "A file of the console (script, stylesheet)",
    (Reply(200, "The file.", None, STATIC_MEDIA_TYPES),),
    (404,),
    access=Access.PUBLIC,
    path_choices=_static_names("console"),
)


def _staff(
    method: str,
    path: str,
    operation_id: str,
    summary: str,
    reply: Reply,
    errors: tuple[int, ...],
    groups: frozenset[str] = REVIEW_GROUPS,
    **declaration: Any,
) -> Route:
    return Route(
        method,
        path,
        operation_id,
        summary,
        (reply,),
        errors,
        access=Access.STAFF,
        staff_groups=groups,
        **declaration,
    )


_CASE = Reply(200, "The case.", ReviewCase)
LIST_REVIEWS = _staff(
    "GET",
    "/v1/reviews",
    "listReviews",
    "Review cases in one status, oldest due first (staff); flag: only those with that fraud flag",
    Reply(200, "One page.", ReviewList),
    (400, 503),
    query=(_choice("status", REVIEW_STATUSES, default="open"), *PAGE, _choice("flag", FRAUD_CODES)),
)
GET_REVIEW = _staff(
    "GET",
    "/v1/reviews/{review_id}",
    "getReview",
    "A case with its decision, the masked applicant and the verified audit trail (staff)",
    Reply(200, "The case.", ReviewDetail),
    (404, 503),
)
CLAIM_REVIEW = _staff(
    "POST",
    "/v1/reviews/{review_id}/claim",
    "claimReview",
    "Claim an open case (one reviewer at a time)",
    _CASE,
    (404, 409, 503),
)
RELEASE_REVIEW = _staff(
    "POST",
    "/v1/reviews/{review_id}/release",
    "releaseReview",
    "Release a case you claimed",
    _CASE,
    (404, 409, 503),
)
DECIDE_REVIEW = _staff(
    "POST",
    "/v1/reviews/{review_id}/decision",
    "decideReview",
    "Decide a case you claimed; approvals above the limit or against a blocking rule wait for a "
    "manager's second approval",
    _CASE,
    (*BODY_ERRORS, 404, 409, 503),
    body=REVIEW_DECISION_BODY,
)
SECOND_APPROVAL = _staff(
    "POST",
    "/v1/reviews/{review_id}/second-approval",
    "secondApproval",
    "A manager's second approval (or refusal) of another reviewer's proposal",
    _CASE,
    (*BODY_ERRORS, 404, 409, 503),
    groups=MANAGER_GROUPS,
    body=SECOND_APPROVAL_BODY,
)
APPLICATION_AUDIT = _staff(
    "GET",
    "/v1/applications/{application_id}/audit",
    "getApplicationAudit",
    "An application's audit trail, verified on every read (staff)",
    Reply(200, "The trail.", AuditTrail),
    (404, 503),
)

ROUTES: tuple[Route, ...] = (
    CREATE_DECISION,
    LIST_DECISIONS,
    GET_DECISION,
    GET_NOTICE,
    CHECK_ELIGIBILITY,
    SUBMIT_APPLICATION,
    LIST_APPLICATIONS,
    GET_APPLICATION,
    HEALTH,
    HEALTH_LIVE,
    HEALTH_READY,
    HEALTH_DETAILED,
    METRICS,
    OPENAPI_DOCUMENT,
    DOCS,
    DOCS_FILE,
    CONSOLE,
    CONSOLE_FILE,
    LIST_REVIEWS,
    GET_REVIEW,
    CLAIM_REVIEW,
    RELEASE_REVIEW,
    DECIDE_REVIEW,
    SECOND_APPROVAL,
    APPLICATION_AUDIT,
)
# Records the document describes besides the replies: the one error shape, and the decision (its
# limits are stated on it: chalicelib.http.openapi).
ERROR_RECORD = ErrorBody
EXTRA_RECORDS: tuple[type, ...] = (Decision,)


# ---------------------------------------------------------------------------- re-deciding a decision
# Issue 18: a client re-decides one of its stored decisions with another registered version.
def _rerun_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["version"],
        "properties": {
            "version": {
                "type": "string",
                "pattern": r"^v[1-9][0-9]{0,8}$",
                "description": "A registered decision version (v1: the packaged one).",
            }
        },
    }


RERUN_BODY = Body("RerunDecision", _rerun_schema)
RERUN_DECISION = Route(
    "POST",
    "/v1/decisions/{decision_id}/rerun",
    "rerunDecision",
    "The decision on record beside its stored inputs decided by another registered version "
    "(not a decision of record: nothing is stored)",
    (Reply(200, "Both decisions, side by side.", DecisionRerun),),
    (*BODY_ERRORS, 404, 409, 503),
    body=RERUN_BODY,
)
ROUTES = (*ROUTES, RERUN_DECISION)


# ---------------------------------------------------------------------------- decision versions
# The registry (issue 18): model risk registers and proposes, a manager other than the maker
# approves; a manager alone may roll back (flagged). Reviewers do not see the registry.
VERSION_GROUPS = frozenset({resources.MODEL_RISK_GROUP, resources.MANAGER_GROUP})


def _openapi_30(schema: Any, definitions: dict[str, Any] | None = None) -> Any:
    """A JSON Schema (2020-12) as OpenAPI 3.0 can state it: local ``$defs`` inlined, ``const`` as a
    one-value ``enum``, no ``$schema``."""
    if isinstance(schema, list):
        return [_openapi_30(item, definitions) for item in schema]
    if not isinstance(schema, dict):
        return schema
    definitions = {**(definitions or {}), **schema.get("$defs", {})}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _openapi_30(definitions[ref.removeprefix("#/$defs/")], definitions)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("$schema", "$defs", "$id"):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "properties":
            out[key] = {name: _openapi_30(field, definitions) for name, field in value.items()}
        else:
            out[key] = _openapi_30(value, definitions)
    return out


def _register_version_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["label"],
        # A policy or a model, not null (left out, null is the champion's: both null is nothing new).
        "anyOf": [
            {"required": ["policy"], "properties": {"policy": {"type": "object"}}},
            {"required": ["model"], "properties": {"model": {"type": "object"}}},
        ],
        "properties": {
            "label": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"\S"},
            "notes": {"type": "string", "maxLength": 2000},
            "policy": {
                **_openapi_30(dict(engine.policy_schema())),
                "description": "A lending-policy document (its JSON Schema; review band at most the "
                "approve band, each band rule at most its harder rule's limit). Left out: the champion's.",
            },
            "model": {
                "type": "object",
                "description": "A model artifact (make train) whose sha256 is its content's. Left out: "
                "the champion's.",
            },
            "holdout": {
                "type": "object",
                "additionalProperties": False,
                "required": ["backtest_id"],
                "properties": {"backtest_id": {"type": "string", "format": "uuid"}},
                "description": "The labelled holdout to report on: the CSV or JSON Lines file uploaded to "
                "this staff backtest (POST /v1/backtests, then PUT to its upload_url; labels loan_approved "
                f"or defaulted; {resources.HOLDOUT_MIN_ROWS}-{resources.HOLDOUT_MAX_ROWS} rows, at most "
                f"{resources.HOLDOUT_MAX_BYTES} bytes). Left out: the packaged holdout.",
            },
        },
    }


def _promote_schema() -> JsonSchema:
    reason = {"type": "string", "maxLength": 2000}
    return {
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["role", "share"],
                "properties": {
                    "role": {"type": "string", "enum": ["challenger"]},
                    "share": {
                        "type": "integer",
                        "minimum": resources.CHALLENGER_SHARE_MIN,
                        "maximum": resources.CHALLENGER_SHARE_MAX,
                    },
                    "reason": reason,
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["role"],
                "properties": {
                    "role": {"type": "string", "enum": ["shadow"]},
                    "share": {"type": "integer", "minimum": 1, "maximum": 100},
                    "reason": reason,
                },
            },
            {
                "type": "object",
                "additionalProperties": False,
                "required": ["role"],
                "properties": {"role": {"type": "string", "enum": ["champion", "retire"]}, "reason": reason},
            },
        ]
    }


def _rollback_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": r"\S"}},
    }


def _version_records() -> tuple[type, type, type]:
    from chalicelib.records import ChangeAnswer, VersionDetail, VersionList

    return VersionList, VersionDetail, ChangeAnswer


_VERSION_LIST, _VERSION_DETAIL, _CHANGE = _version_records()
# The service takes null for notes, policy or model as leaving it out (the champion's): the document
# says so (nullable), so a policy with "model": null is a request the document allows.
REGISTER_VERSION_BODY = Body("RegisterVersion", _register_version_schema, null_is_absent=True)
PROMOTE_VERSION_BODY = Body("PromoteVersion", _promote_schema)
ROLLBACK_BODY = Body("RollbackVersions", _rollback_schema)
LIST_VERSIONS = _staff(
    "GET",
    "/v1/versions",
    "listVersions",
    "Decision versions, each with its place in today's routing (model risk, managers)",
    Reply(200, "The versions and the routing document.", _VERSION_LIST),
    (503,),
    groups=VERSION_GROUPS,
)
GET_VERSION = _staff(
    "GET",
    "/v1/versions/{version_id}",
    "getVersion",
    "A version with its policy document and its validation report beside the champion's",
    Reply(200, "The version.", _VERSION_DETAIL),
    (404, 503),
    groups=VERSION_GROUPS,
)
REGISTER_VERSION = _staff(
    "POST",
    "/v1/versions",
    "registerVersion",
    "Register a decision version (a policy document and/or a model artifact); its report is computed "
    "on the labelled holdout",
    Reply(201, "The registered version with its report.", _VERSION_DETAIL),
    (*BODY_ERRORS, 409, 503),
    groups=VERSION_GROUPS,
    body=REGISTER_VERSION_BODY,
)
PROMOTE_VERSION = _staff(
    "POST",
    "/v1/versions/{version_id}/promote",
    "promoteVersion",
    "Propose a routing change (champion, challenger with a share of 1-50%, shadow, retire); a manager "
    "other than the maker approves it. Refused (409) when the version fails a promotion gate",
    Reply(202, "The proposed change.", _CHANGE),
    (*BODY_ERRORS, 404, 409, 503),
    groups=VERSION_GROUPS,
    body=PROMOTE_VERSION_BODY,
)
APPROVE_VERSION_CHANGE = _staff(
    "POST",
    "/v1/versions/changes/{change_id}/approve",
    "approveVersionChange",
    "A manager other than the maker applies a proposed routing change",
    Reply(200, "The applied change.", _CHANGE),
    (404, 409, 503),
    groups=MANAGER_GROUPS,
)
ROLLBACK_VERSIONS = _staff(
    "POST",
    "/v1/versions/rollback",
    "rollbackVersions",
    "Back to the previous champion: a manager's applies at once (flagged emergency), anyone else's is "
    "a proposal",
    Reply(200, "The change (applied, or proposed).", _CHANGE),
    (*BODY_ERRORS, 409, 503),
    groups=VERSION_GROUPS,
    body=ROLLBACK_BODY,
)
VERSION_ROUTES: tuple[Route, ...] = (
    LIST_VERSIONS,
    GET_VERSION,
    REGISTER_VERSION,
    PROMOTE_VERSION,
    APPROVE_VERSION_CHANGE,
    ROLLBACK_VERSIONS,
)
ROUTES = ROUTES + VERSION_ROUTES
# ---------------------------------------------------------------------------- webhooks (issue 22)
# The receiver URLs a stage accepts, as a pattern the document states (so that what the document
# allows is what the API accepts): https in AWS; the local stage delivers only to loopback
# receivers, over http or https. Printable ASCII only (what an HTTP request line carries), no
# fragment, no credentials. Addresses that resolve to private ranges are refused beyond this (400).
_PORT = r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
_URL_PATH = r"(/[!\"$-~]*)?"
_URL_PATTERNS = {
    "local": r"^https?://(localhost|127\.0\.0\.1)" + _PORT + _URL_PATH + "$",
    "deployed": r"^https://[A-Za-z0-9.-]+" + _PORT + _URL_PATH + "$",
}


def _webhook_url_schema() -> JsonSchema:
    import os

    from chalicelib.service.webhooks import MAX_URL_LENGTH

    local = os.environ.get("STAGE") == "local"
    return {
        "type": "string",
        "maxLength": MAX_URL_LENGTH,
        "pattern": _URL_PATTERNS["local" if local else "deployed"],
        "description": "the receiver: https, never a private, loopback or link-local address"
        + (" (this local stage: loopback receivers only)" if local else ""),
    }


def _webhook_schema(*, partial: bool) -> JsonSchema:
    from chalicelib.service.webhooks import MAX_DESCRIPTION_LENGTH

    properties: JsonSchema = {
        "url": _webhook_url_schema(),
        "events": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "enum": list(resources.WEBHOOK_EVENT_TYPES)},
        },
        "description": {"type": "string", "maxLength": MAX_DESCRIPTION_LENGTH},
    }
    if partial:
        properties["enabled"] = {"type": "boolean", "description": "false disables; true re-enables"}
    schema: JsonSchema = {"type": "object", "additionalProperties": False, "properties": properties}
    if not partial:
        schema["required"] = ["url", "events"]
    return schema


WEBHOOK_BODY = Body("Webhook", lambda: _webhook_schema(partial=False))
WEBHOOK_CHANGE_BODY = Body("WebhookChange", lambda: _webhook_schema(partial=True))
DELIVERY_STATES = ("pending", "delivered", "failed")

CREATE_WEBHOOK = Route(
    "POST",
    "/v1/webhooks",
    "createWebhook",
    "Register a webhook endpoint; its signing secret (whsec_...) is shown in this answer only",
    (Reply(201, "The endpoint with its secret.", WebhookCreated),),
    (*BODY_ERRORS, 409, 503),
    body=WEBHOOK_BODY,
)
LIST_WEBHOOKS = Route(
    "GET",
    "/v1/webhooks",
    "listWebhooks",
    "The caller's webhook endpoints",
    (Reply(200, "All.", WebhookList),),
    (503,),
)
GET_WEBHOOK = Route(
    "GET",
    "/v1/webhooks/{webhook_id}",
    "getWebhook",
    "A webhook endpoint (state: enabled, failing or disabled)",
    (Reply(200, "The endpoint.", WebhookEndpoint),),
    (404, 503),
)
UPDATE_WEBHOOK = Route(
    "PATCH",
    "/v1/webhooks/{webhook_id}",
    "updateWebhook",
    "Change a webhook's URL, events or description; disable or re-enable it",
    (Reply(200, "The endpoint.", WebhookEndpoint),),
    (*BODY_ERRORS, 404, 503),
    body=WEBHOOK_CHANGE_BODY,
)
DELETE_WEBHOOK = Route(
    "DELETE",
    "/v1/webhooks/{webhook_id}",
    "deleteWebhook",
    "Delete a webhook endpoint (its pending deliveries fail)",
    (Reply(204, "Deleted.", None, ()),),
    (404, 503),
)
ROTATE_WEBHOOK_SECRET = Route(
    "POST",
    "/v1/webhooks/{webhook_id}/rotate-secret",
    "rotateWebhookSecret",
    "A new signing secret; the old one signs beside it for 24 hours",
    (Reply(200, "The endpoint with its new secret.", WebhookCreated),),
    (404, 503),
)
TEST_WEBHOOK = Route(
    "POST",
    "/v1/webhooks/{webhook_id}/test",
    "testWebhook",
    "Send a webhook.test ping to the endpoint",
    (Reply(202, "Queued.", WebhookDelivery),),
    (404, 503),
)
LIST_WEBHOOK_DELIVERIES = Route(
    "GET",
    "/v1/webhooks/{webhook_id}/deliveries",
    "listWebhookDeliveries",
    "The endpoint's deliveries with every attempt (time, status code, latency, error), newest first",
    (Reply(200, "One page.", DeliveryList),),
    (400, 404, 503),
    query=(_choice("status", DELIVERY_STATES), *PAGE),
)
REDELIVER_WEBHOOK = Route(
    "POST",
    "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    "redeliverWebhook",
    "Deliver again (same webhook-id, a new signature), with its retries",
    (Reply(202, "Queued.", RedeliveryAccepted),),
    (404, 503),
)
WEBHOOK_ROUTES = (
    CREATE_WEBHOOK,
    LIST_WEBHOOKS,
    GET_WEBHOOK,
    UPDATE_WEBHOOK,
    DELETE_WEBHOOK,
    ROTATE_WEBHOOK_SECRET,
    TEST_WEBHOOK,
    LIST_WEBHOOK_DELIVERIES,
    REDELIVER_WEBHOOK,
)
ROUTES += WEBHOOK_ROUTES


# ---------------------------------------------------------------------------- the registry's audit trail
# Issue 18's gaps: the registry's hash-chained trail (registrations, proposals, approvals, rollbacks)
# as a staff list, for the same groups as the registry.
def _version_audit_record() -> type:
    from chalicelib.records import VersionAuditPage

    return VersionAuditPage


VERSION_AUDIT = _staff(
    "GET",
    "/v1/versions/audit",
    "getVersionAudit",
    "The registry's audit trail (registrations and routing changes: actor, routing before and after, "
    "reason), newest first; verified over the whole trail on every read (model risk, managers)",
    Reply(200, "One page.", _version_audit_record()),
    (400, 503),
    groups=VERSION_GROUPS,
    query=PAGE,
)
ROUTES += (VERSION_AUDIT,)


# ---------------------------------------------------------------------------- loan outcomes
# Issue 20: a client reports how one of its decided loans performs (monitoring's outcomes).
from chalicelib.records import LOAN_STATUSES, OutcomeBatch, OutcomeRecorded  # noqa: E402 (this block's own import)


def _outcome_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["status", "as_of"],
        "properties": {
            "status": {"type": "string", "enum": list(LOAN_STATUSES)},
            "as_of": {
                "type": "string",
                "format": "date",
                "description": "The day the status held (YYYY-MM-DD): not before the decision's day, "
                "not after today (UTC).",
            },
        },
    }


OUTCOME_BODY = Body("LoanOutcomeReport", _outcome_schema)
RECORD_OUTCOME = Route(
    "POST",
    "/v1/decisions/{decision_id}/outcome",
    "recordLoanOutcome",
    "Report a decided loan's outcome on a day; every outcome is kept, the decision shows the latest "
    "by as_of (an earlier one reported later never replaces it)",
    (
        Reply(201, "Recorded.", OutcomeRecorded),
        Reply(200, "Already recorded (the same status and as_of): nothing changed.", OutcomeRecorded),
    ),
    (*BODY_ERRORS, 404, 503),
    body=OUTCOME_BODY,
)
ROUTES = (*ROUTES, RECORD_OUTCOME)


def _outcome_batch_schema() -> JsonSchema:
    item = _outcome_schema()
    item["required"] = ["decision_id", *item["required"]]
    item["properties"] = {"decision_id": {"type": "string"}, **item["properties"]}
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["outcomes"],
        "properties": {
            "outcomes": {
                "type": "array",
                "minItems": 1,
                "maxItems": resources.MAX_OUTCOMES_PER_BATCH,
                "items": item,
            }
        },
    }


OUTCOME_BATCH_BODY = Body("LoanOutcomeBatch", _outcome_batch_schema)
RECORD_OUTCOMES = Route(
    "POST",
    "/v1/outcomes",
    "recordLoanOutcomes",
    f"Report up to {resources.MAX_OUTCOMES_PER_BATCH} loan outcomes at once: each is recorded as "
    "POST /v1/decisions/{decision_id}/outcome would, and answered with its own status code",
    (Reply(200, "Every outcome's result, in order.", OutcomeBatch),),
    (*BODY_ERRORS, 503),
    body=OUTCOME_BATCH_BODY,
)
ROUTES = (*ROUTES, RECORD_OUTCOMES)


# ---------------------------------------------------------------------------- monitoring (issue 20)
# Monitoring runs and reports (model risk and managers, as the registry): a run over the stored
# decisions of a window, and its reports by time and version.
MONITORING_GROUPS = VERSION_GROUPS


def _monitoring_run_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "window_days": {
                "type": "integer",
                "enum": list(resources.MONITORING_WINDOW_DAYS),
                "description": f"days before now (default {resources.MONITORING_DEFAULT_WINDOW_DAYS})",
            }
        },
    }


def _monitoring_records() -> tuple[type, type, type, type]:
    from typing import cast

    from chalicelib.records import MonitoringReport, MonitoringRunStatus, ReportList

    # GET of a report id answers the report, or its run while it has none: one reply, either record
    # (the document's anyOf of the two; the union is a type to the schema builder, not to mypy).
    either = cast(type, MonitoringReport | MonitoringRunStatus)
    return MonitoringReport, ReportList, MonitoringRunStatus, either


_MONITORING_REPORT, _MONITORING_REPORT_LIST, _MONITORING_RUN, _MONITORING_REPORT_OR_RUN = (
    _monitoring_records()
)
MONITORING_RUN_BODY = Body("MonitoringRun", _monitoring_run_schema)
START_MONITORING_RUN = _staff(
    "POST",
    "/v1/monitoring/runs",
    "startMonitoringRun",
    "Run monitoring now over the stored decisions of the last 1, 7 or 30 days: per client and decision "
    "version, volumes, approval rate against the validation baseline, score PSI and CSI, overrides, "
    "fairness and outcomes, with alerts; the report is stored. The run is fanned out over the window's "
    "day partitions and answered at once: GET /v1/monitoring/reports/{report_id} follows it",
    Reply(202, "The run started: its report id, status and parts.", _MONITORING_RUN),
    (*BODY_ERRORS, 503),
    groups=MONITORING_GROUPS,
    body=MONITORING_RUN_BODY,
)
LIST_MONITORING_REPORTS = _staff(
    "GET",
    "/v1/monitoring/reports",
    "listMonitoringReports",
    "Monitoring reports created in a time range, newest first; version: only those with a section for it",
    Reply(200, "The reports' summaries.", _MONITORING_REPORT_LIST),
    (400, 503),
    groups=MONITORING_GROUPS,
    query=(
        Parameter("from", "created on or after: a date (YYYY-MM-DD) or an RFC 3339 date-time", _INSTANT),
        Parameter("to", "created on or before: a date (the whole day) or an RFC 3339 date-time", _INSTANT),
        Parameter("version", "a decision version id", {"type": "string", "pattern": r"^v[0-9]{1,9}$"}),
        _limit(),
    ),
)
GET_MONITORING_REPORT = _staff(
    "GET",
    "/v1/monitoring/reports/{report_id}",
    "getMonitoringReport",
    "A monitoring report: its sections per client and decision version, and its alerts; while its run "
    "is going (or if it failed), the run: status running/failed and parts done/total",
    Reply(200, "The report, or its run while it has none.", _MONITORING_REPORT_OR_RUN),
    (404, 503),
    groups=MONITORING_GROUPS,
)
MONITORING_ROUTES = (START_MONITORING_RUN, LIST_MONITORING_REPORTS, GET_MONITORING_REPORT)
ROUTES += MONITORING_ROUTES


# ---------------------------------------------------------------------------- batches (issue 19)
# A client's portfolio runs under /v1/batches (its API key owns them); staff backtests under
# /v1/backtests (model risk and managers; owned by "staff", shared between them). Same handlers.
def _batch_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["format"],
        "properties": {
            "format": {"type": "string", "enum": ["csv", "jsonl"]},
            "versions": {
                "type": "array",
                "minItems": 1,
                "maxItems": resources.BATCH_MAX_VERSIONS,
                "uniqueItems": True,
                "items": {"type": "string", "minLength": 1, "maxLength": 64},
                "description": "decision version ids (default: the champion); an unknown one is a 400",
            },
            "counteroffers": {
                "type": "boolean",
                "description": "compute counteroffer amounts (off by default: a backtest does not need them)",
            },
            "size_bytes": {
                "type": "integer",
                "minimum": 1,
                "maximum": resources.BATCH_MAX_BYTES,
                "description": "the file's size: over "
                f"{resources.BATCH_MULTIPART_ABOVE_BYTES} bytes the answer is a multipart upload "
                "(`upload`: one presigned URL per part) instead of `upload_url`; over the limit a 413",
            },
        },
    }


def _client_batch_schema() -> JsonSchema:
    """A client's batch: a backtest's body and its ``kind`` (issue 20: a file of loan outcomes)."""
    schema = _batch_schema()
    schema["properties"] = {
        **schema["properties"],
        "kind": {
            "type": "string",
            "enum": ["decisions", "outcomes"],
            "description": "decisions (default): a file of applications to score; outcomes: a file of "
            "loan outcomes to record on the client's decisions, one `decision_id,status,as_of` a row "
            "(as the items of POST /v1/outcomes); an outcomes batch takes no `versions` or "
            "`counteroffers` (a 400 naming them)",
        },
    }
    return schema


def _batch_start_schema() -> JsonSchema:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "parts": {
                "type": "array",
                "minItems": 1,
                "maxItems": resources.BATCH_MAX_PARTS,
                "description": "a multipart upload's parts (each part's ETag, as S3 answered its PUT); "
                "a missing part or an ETag that is not its part's is a 400 naming `parts`",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["part_number", "etag"],
                    "properties": {
                        "part_number": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": resources.BATCH_MAX_PARTS,
                        },
                        "etag": {"type": "string", "minLength": 1, "maxLength": 128},
                    },
                },
            }
        },
    }


def _batch_records() -> tuple[type, type, type, type]:
    from chalicelib.records import BatchCreated, BatchList, BatchStarted, BatchView

    return BatchCreated, BatchStarted, BatchView, BatchList


_BATCH_CREATED, _BATCH_STARTED, _BATCH_VIEW, _BATCH_LIST = _batch_records()
BATCH_BODY = Body("Batch", _batch_schema)
CLIENT_BATCH_BODY = Body("ClientBatch", _client_batch_schema)
BATCH_START_BODY = Body("BatchStart", _batch_start_schema, required=False)
PARTS_FROM = Parameter(
    "parts_from",
    "a finished batch's result parts from this one (0-based; at most "
    f"{resources.BATCH_RESULT_PARTS_PER_VIEW} per answer: `results.next_parts_from` is the next page's)",
    {"type": "integer", "minimum": 0, "maximum": resources.BATCH_RESULT_PARTS_FROM_MAX},
)
BATCH_GROUPS = frozenset({resources.MODEL_RISK_GROUP, resources.MANAGER_GROUP})


def _batch_routes(
    prefix: str, noun: str, operation: str, body: Body = BATCH_BODY, **access: Any
) -> tuple[Route, ...]:
    return (
        Route(
            "POST",
            prefix,
            f"create{operation}",
            f"Create a {noun}: answers a presigned PUT for the file (CSV or JSON Lines), then start it",
            (Reply(201, "The batch and where to upload its file.", _BATCH_CREATED),),
            (*BODY_ERRORS, 503),
            body=body,
            **access,
        ),
        Route(
            "POST",
            prefix + "/{batch_id}/start",
            f"start{operation}",
            f"Start a {noun} once its file is uploaded (a multipart upload's body lists its parts' "
            "ETags; none otherwise): 400 a part missing or not its ETag, 409 started twice or no "
            "upload, 413 over the size limit, 422 not a file of its format or lacking required "
            "columns (the batch FAILED with the reason)",
            (Reply(202, "Running: the file is cut into chunks and scored.", _BATCH_STARTED),),
            (400, 404, 409, 413, 415, 422, 503),
            body=BATCH_START_BODY,
            **access,
        ),
        Route(
            "GET",
            prefix + "/{batch_id}",
            f"get{operation}",
            f"A {noun}'s progress; once done its summary and presigned URLs of the result files",
            (Reply(200, "The batch.", _BATCH_VIEW),),
            (400, 404, 503),
            query=(PARTS_FROM,),
            **access,
        ),
        Route(
            "GET",
            prefix,
            f"list{operation}s",
            f"The caller's {noun}s, newest first (cursor-paginated)",
            (Reply(200, "One page.", _BATCH_LIST),),
            (400, 503),
            query=PAGE,
            **access,
        ),
    )


CREATE_BATCH, START_BATCH, GET_BATCH, LIST_BATCHES = _batch_routes(
    "/v1/batches", "batch", "Batch", CLIENT_BATCH_BODY
)
CREATE_BACKTEST, START_BACKTEST, GET_BACKTEST, LIST_BACKTESTS = _batch_routes(
    "/v1/backtests", "backtest", "Backtest", access=Access.STAFF, staff_groups=BATCH_GROUPS
)
BATCH_ROUTES = (
    CREATE_BATCH,
    START_BATCH,
    GET_BATCH,
    LIST_BATCHES,
    CREATE_BACKTEST,
    START_BACKTEST,
    GET_BACKTEST,
    LIST_BACKTESTS,
)
ROUTES += BATCH_ROUTES
