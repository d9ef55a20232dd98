"""OpenAPI 3 document of the whole API, and the self-contained ``/docs`` page that renders it.

The request schema of an application is built from the engine's machine-readable field schema, so
the document cannot drift from what validation accepts; the response schemas describe exactly what
the handlers in ``chalicelib/api`` return (a unit test validates real responses against them, and
schemathesis checks the running stack against the whole document).

``/docs`` is one HTML page with an inline script and style, allowed by their sha256 in its own
Content-Security-Policy: no CDN, no network beyond fetching ``openapi.json`` from the same origin.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from functools import lru_cache
from typing import Any

from chalice.app import Request, Response

from chalicelib import engine, resources
from chalicelib.engine.types import Decision, Notice, QuickEligibility
from chalicelib.errors import ErrorBody
from chalicelib.http.edge import API_KEY_HEADER, is_public_route
from chalicelib.http.gateway_responses import (
    INVALID_API_KEY,
    QUOTA_EXCEEDED,
    THROTTLED,
)
from chalicelib.http.type_schema import SchemaBuilder
from chalicelib.records import (
    ApplicationList,
    ApplicationStatus,
    AuditTrail,
    DecisionList,
    DecisionOnRecord,
    DecisionResponse,
    DetailedHealth,
    HealthSummary,
    Liveness,
    NotReady,
    Readiness,
    ReviewCase,
    ReviewDetail,
    ReviewList,
    SubmitResponse,
)

JsonSchema = dict[str, Any]

OPENAPI_VERSION = "3.0.3"
API_TITLE = "Loan decisions API"
API_KEY_SCHEME = "ApiKeyAuth"
STAFF_SCHEME = "StaffIdToken"


def _ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/schemas/{name}"}


_STRING: JsonSchema = {"type": "string"}


# --------------------------------------------------------------------------------------------
# Request schemas: from the engine's field schema
# --------------------------------------------------------------------------------------------
def application_request_schema() -> JsonSchema:
    """JSON schema of one application (POST /v1/decisions and /v1/applications)."""
    return copy.deepcopy(engine.application_json_schema())


def eligibility_request_schema() -> JsonSchema:
    return copy.deepcopy(engine.quick_eligibility_json_schema())


# --------------------------------------------------------------------------------------------
# Response schemas: generated from the typed records the handlers return
# --------------------------------------------------------------------------------------------
# Component name in the document -> the type it is generated from.
RESPONSE_TYPES: dict[str, type] = {
    "Error": ErrorBody,
    "Decision": Decision,
    "DecisionResponse": DecisionResponse,
    "EligibilityResponse": QuickEligibility,
    "ApplicationAccepted": SubmitResponse,
    "ApplicationStatus": ApplicationStatus,
    "Health": HealthSummary,
    "Live": Liveness,
    "Ready": Readiness,
    "NotReady": NotReady,
    "HealthDetailed": DetailedHealth,
    "DecisionOnRecord": DecisionOnRecord,
    "DecisionList": DecisionList,
    "ApplicationList": ApplicationList,
    "Notice": Notice,
    "ReviewList": ReviewList,
    "ReviewDetail": ReviewDetail,
    "ReviewCase": ReviewCase,
    "AuditTrail": AuditTrail,
}
# What a type cannot say: limits the engine guarantees, checked against every real response.
_CONSTRAINTS: dict[tuple[str, str], JsonSchema] = {
    ("Decision", "probability"): {"minimum": 0, "maximum": 1},
    ("Decision", "model_probability"): {"minimum": 0, "maximum": 1},
    ("Decision", "reasons"): {"maxItems": 4},
    ("Decision", "favourable_factors"): {"maxItems": 3},
    ("Decision", "suggestions"): {"maxItems": 6},
}


def _schemas() -> dict[str, JsonSchema]:
    builder = SchemaBuilder()
    named = {name: builder.schema(response_type) for name, response_type in RESPONSE_TYPES.items()}
    components = dict(builder.components)
    for (component, field), constraint in _CONSTRAINTS.items():
        for target in (component, f"{component}Response", f"{component}OnRecord"):
            properties = components.get(target, {}).get("properties", {})
            if field in properties:
                properties[field].update(constraint)
    # The document's names for the top-level bodies point at the generated components.
    for name, schema in named.items():
        if name not in components:
            components[name] = schema
    return {
        "Application": application_request_schema(),
        "EligibilityRequest": eligibility_request_schema(),
        **components,
    }


# --------------------------------------------------------------------------------------------
# Responses and operations
# --------------------------------------------------------------------------------------------
_REQUEST_ID_HEADER = {"description": "Id of this request (API Gateway request id).", "schema": _STRING}
_RETRY_AFTER_HEADER = {"description": "Seconds to wait before retrying.", "schema": _STRING}


def _json_response(description: str, schema: JsonSchema, *, retry_after: bool = False) -> JsonSchema:
    headers: dict[str, Any] = {"X-Request-ID": _REQUEST_ID_HEADER}
    if retry_after:
        headers["Retry-After"] = _RETRY_AFTER_HEADER
    return {
        "description": description,
        "headers": headers,
        "content": {"application/json": {"schema": schema}},
    }


def _error(description: str, *, retry_after: bool = False) -> JsonSchema:
    return _json_response(description, _ref("Error"), retry_after=retry_after)


def _components_responses() -> dict[str, JsonSchema]:
    return {
        "BadRequest": _error("Malformed JSON or invalid fields; every invalid field is named in details."),
        "Forbidden": _error(f"No valid API key ({INVALID_API_KEY.response_type}); answered by the gateway."),
        "NotFound": _error("No such resource."),
        "Unauthorized": _error("No valid staff ID token in Authorization (answered by the gateway)."),
        "StaffForbidden": _error("Signed in, but not in a staff group this operation accepts."),
        "PayloadTooLarge": _error(f"Request body larger than {resources.MAX_BODY_BYTES} bytes."),
        "UnsupportedMediaType": _error("Request body is not application/json."),
        "TooManyRequests": _error(
            f"Throttled ({THROTTLED.response_type}) or over the daily quota ({QUOTA_EXCEEDED.response_type});"
            " answered by the gateway.",
            retry_after=True,
        ),
        "ServiceUnavailable": _error("DynamoDB or SQS unavailable; nothing was written.", retry_after=True),
        "Conflict": _error(
            "A request with this Idempotency-Key is still in progress, or (review desk) the case is in "
            "another state or claimed by someone else: details name the state and the holder.",
        ),
        "UnprocessableEntity": _error("This Idempotency-Key was used with a different body."),
    }


def _responses(ok_status: str, ok: JsonSchema, *codes: str) -> dict[str, JsonSchema]:
    names = {
        "400": "BadRequest",
        "403": "Forbidden",
        "404": "NotFound",
        "413": "PayloadTooLarge",
        "415": "UnsupportedMediaType",
        "429": "TooManyRequests",
        "503": "ServiceUnavailable",
        "409": "Conflict",
        "422": "UnprocessableEntity",
    }
    wanted = [*codes, "403", "429"]
    responses = {ok_status: ok}
    for code in sorted(set(wanted)):
        responses[code] = {"$ref": f"#/components/responses/{names[code]}"}
    return responses


_BODY_ERRORS = ("400", "413", "415")


_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Same key and body within 24 h: the first response again (same ids).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _post(
    summary: str,
    operation_id: str,
    request_schema: str,
    responses: dict[str, JsonSchema],
    *,
    idempotent: bool = False,
) -> JsonSchema:
    operation: JsonSchema = {
        "summary": summary,
        "operationId": operation_id,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(request_schema)}}},
        "responses": responses,
    }
    if idempotent:
        operation["parameters"] = [_IDEMPOTENCY_KEY]
    return operation


def _get(summary: str, operation_id: str, responses: dict[str, JsonSchema]) -> JsonSchema:
    return {"summary": summary, "operationId": operation_id, "responses": responses}


def _query(name: str, description: str, *, enum: list[str] | None = None) -> JsonSchema:
    schema: JsonSchema = {"type": "string"}
    if enum:
        schema["enum"] = enum
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _path_parameter(name: str) -> JsonSchema:
    return {"name": name, "in": "path", "required": True, "schema": _STRING}


_PAGE_PARAMETERS = (
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"page size, 1-{resources.LIST_MAX_LIMIT} (default {resources.LIST_DEFAULT_LIMIT})",
        "schema": {"type": "integer", "minimum": 1, "maximum": resources.LIST_MAX_LIMIT},
    },
    _query("cursor", "next_cursor of the previous page (opaque, signed)"),
)


def _staff(operation: JsonSchema) -> JsonSchema:
    """A staff operation: a Cognito ID token in Authorization, never an API key."""
    responses = dict(operation["responses"])
    responses.pop("403", None)
    responses.pop("429", None)
    responses["401"] = {"$ref": "#/components/responses/Unauthorized"}
    responses["403"] = {"$ref": "#/components/responses/StaffForbidden"}
    return {**operation, "security": [{STAFF_SCHEME: []}], "responses": responses}


def _review_post(summary: str, operation_id: str, body: JsonSchema | None, *codes: str) -> JsonSchema:
    operation: JsonSchema = {
        "summary": summary,
        "operationId": operation_id,
        "responses": _responses(
            "200", _json_response("The case.", _ref("ReviewCase")), "404", "409", "503", *codes
        ),
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return _staff(operation)


def _review_paths() -> dict[str, JsonSchema]:
    review_id = [_path_parameter("review_id")]
    decision_body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["outcome"],
        "properties": {
            "outcome": {"type": "string", "enum": ["approved", "declined", "counteroffer"]},
            "reason_codes": {
                "type": "array",
                "items": {"type": "string", "enum": sorted(engine.reason_catalogue())},
            },
            "note": {"type": "string", "maxLength": 2000},
        },
    }
    approval_body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["approve"],
        "properties": {"approve": {"type": "boolean"}, "note": {"type": "string", "maxLength": 2000}},
    }
    return {
        "/v1/reviews": {
            "get": {
                **_staff(
                    _get(
                        "Review cases in one status, oldest due first (staff)",
                        "listReviews",
                        _responses("200", _json_response("One page.", _ref("ReviewList")), "400", "503"),
                    )
                ),
                "parameters": [
                    _query("status", "open (default), claimed or closed", enum=["open", "claimed", "closed"]),
                    *_PAGE_PARAMETERS,
                ],
            }
        },
        "/v1/reviews/{review_id}": {
            "parameters": review_id,
            "get": _staff(
                _get(
                    "A case with its decision, the masked applicant and the verified audit trail (staff)",
                    "getReview",
                    _responses("200", _json_response("The case.", _ref("ReviewDetail")), "404", "503"),
                )
            ),
        },
        "/v1/reviews/{review_id}/claim": {
            "parameters": review_id,
            "post": _review_post("Claim an open case (one reviewer at a time)", "claimReview", None),
        },
        "/v1/reviews/{review_id}/release": {
            "parameters": review_id,
            "post": _review_post("Release a case you claimed", "releaseReview", None),
        },
        "/v1/reviews/{review_id}/decision": {
            "parameters": review_id,
            "post": _review_post(
                "Decide a case you claimed; approvals above the limit or against a blocking rule wait for a "
                "manager's second approval",
                "decideReview",
                decision_body,
                "400",
                "413",
                "415",
            ),
        },
        "/v1/reviews/{review_id}/second-approval": {
            "parameters": review_id,
            "post": _review_post(
                "A manager's second approval (or refusal) of another reviewer's proposal",
                "secondApproval",
                approval_body,
                "400",
                "413",
                "415",
            ),
        },
        "/v1/applications/{application_id}/audit": {
            "parameters": [_path_parameter("application_id")],
            "get": _staff(
                _get(
                    "An application's audit trail, verified on every read (staff)",
                    "getApplicationAudit",
                    _responses("200", _json_response("The trail.", _ref("AuditTrail")), "404", "503"),
                )
            ),
        },
    }


def _paths() -> dict[str, JsonSchema]:
    text_plain = {"text/plain": {"schema": _STRING}}
    return {
        **_review_paths(),
        "/v1/decisions": {
            "post": _post(
                "Synchronous credit decision (served from the decision cache when the inputs repeat)",
                "createDecision",
                "Application",
                _responses(
                    "200",
                    _json_response("The decision.", _ref("DecisionResponse")),
                    *_BODY_ERRORS,
                    "409",
                    "422",
                ),
                idempotent=True,
            ),
            "get": {
                **_get(
                    "The caller's decisions, newest first (cursor-paginated)",
                    "listDecisions",
                    _responses("200", _json_response("One page.", _ref("DecisionList")), "400", "503"),
                ),
                "parameters": [
                    _query(
                        "outcome",
                        "approved, manual_review or declined",
                        enum=["approved", "manual_review", "declined"],
                    ),
                    _query("from", "decided on or after: a date (YYYY-MM-DD) or an ISO 8601 date-time"),
                    _query("to", "decided on or before: a date (the whole day) or an ISO 8601 date-time"),
                    *_PAGE_PARAMETERS,
                ],
            },
        },
        "/v1/decisions/{decision_id}": {
            "parameters": [_path_parameter("decision_id")],
            "get": _get(
                "A decision on record (the POST's body without the transient cache fields)",
                "getDecision",
                _responses("200", _json_response("The decision.", _ref("DecisionOnRecord")), "404", "503"),
            ),
        },
        "/v1/decisions/{decision_id}/notice": {
            "parameters": [_path_parameter("decision_id")],
            "get": _get(
                "The lender's notice of a declined, counter-offered or referred decision "
                "(JSON, or plain text with Accept: text/plain)",
                "getDecisionNotice",
                _responses(
                    "200",
                    {
                        "description": "The notice.",
                        "headers": {"X-Request-ID": _REQUEST_ID_HEADER},
                        "content": {
                            "application/json": {"schema": _ref("Notice")},
                            "text/plain": {"schema": _STRING},
                        },
                    },
                    "404",
                    "503",
                ),
            ),
        },
        "/v1/eligibility": {
            "post": _post(
                "Quick eligibility check (no personal data)",
                "checkEligibility",
                "EligibilityRequest",
                _responses("200", _json_response("The verdict.", _ref("EligibilityResponse")), *_BODY_ERRORS),
            )
        },
        "/v1/applications": {
            "post": _post(
                "Submit an application for asynchronous decision",
                "submitApplication",
                "Application",
                _responses(
                    "202",
                    {
                        **_json_response("Accepted and queued.", _ref("ApplicationAccepted")),
                        "headers": {
                            "X-Request-ID": _REQUEST_ID_HEADER,
                            "Location": {"description": "The status URL.", "schema": _STRING},
                        },
                    },
                    *_BODY_ERRORS,
                    "409",
                    "422",
                    "503",
                ),
                idempotent=True,
            ),
            "get": {
                **_get(
                    "The caller's applications, newest first (cursor-paginated)",
                    "listApplications",
                    _responses("200", _json_response("One page.", _ref("ApplicationList")), "400", "503"),
                ),
                "parameters": [
                    _query("status", "PENDING, DECIDED or FAILED", enum=["PENDING", "DECIDED", "FAILED"]),
                    *_PAGE_PARAMETERS,
                ],
            },
        },
        "/v1/applications/{application_id}": {
            "parameters": [_path_parameter("application_id")],
            "get": _get(
                "Status of an application, with its decision once DECIDED",
                "getApplication",
                _responses(
                    "200", _json_response("The application.", _ref("ApplicationStatus")), "404", "503"
                ),
            ),
        },
        "/health": {
            "get": _get("Service status", "health", _responses("200", _json_response("Up.", _ref("Health"))))
        },
        "/health/live": {
            "get": _get("Liveness", "healthLive", _responses("200", _json_response("Alive.", _ref("Live"))))
        },
        "/health/ready": {
            "get": _get(
                "Readiness: DynamoDB tables and SQS queue reachable",
                "healthReady",
                {
                    **_responses("200", _json_response("Ready.", _ref("Ready"))),
                    "503": _json_response(
                        "Not ready: names what failed.", _ref("NotReady"), retry_after=True
                    ),
                },
            )
        },
        "/health/detailed": {
            "get": _get(
                "Model, dependency latency, queue depth, cold start, memory, uptime",
                "healthDetailed",
                _responses("200", _json_response("Details.", _ref("HealthDetailed"))),
            )
        },
        "/metrics": {
            "get": _get(
                "This instance's request counters in Prometheus text format (per instance)",
                "metrics",
                _responses("200", {"description": "Prometheus text.", "content": text_plain}),
            )
        },
        "/openapi.json": {
            "get": _get(
                "This document",
                "openapi",
                _responses(
                    "200",
                    {
                        "description": "OpenAPI 3 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                ),
            )
        },
        "/docs": {
            "get": _get(
                "Human-readable documentation (renders this document)",
                "docs",
                _responses(
                    "200", {"description": "HTML page.", "content": {"text/html": {"schema": _STRING}}}
                ),
            )
        },
    }


def _mark_public_routes(paths: dict[str, JsonSchema]) -> dict[str, JsonSchema]:
    # Same rule as the gateway (resources.PUBLIC_ROUTE_PREFIXES): no key, so never a 403.
    for path, item in paths.items():
        if not is_public_route(path):
            continue
        for method, operation in item.items():
            if method != "parameters":
                operation["security"] = []
                operation["responses"].pop("403", None)
    return paths


def build_document(server_url: str = "/") -> JsonSchema:
    """The OpenAPI 3 document; ``server_url`` is the base path clients call (stage prefix included)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": API_TITLE,
            "version": engine.model_info()["version"],
            "description": (
                "Explainable loan decisions. Every route except "
                f"{', '.join(resources.PUBLIC_ROUTE_PREFIXES)} needs an API key in the "
                f"`{API_KEY_HEADER}` header. Errors share one shape: "
                '`{"error": {"code", "message", "details": [{"field", "problem"}]}, "request_id"}`.'
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{API_KEY_SCHEME: []}],
        "paths": _mark_public_routes(_paths()),
        "components": {
            "securitySchemes": {
                API_KEY_SCHEME: {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
                STAFF_SCHEME: {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "A staff member's Cognito ID token (a `Bearer ` prefix is accepted)",
                },
            },
            "schemas": _schemas(),
            "responses": _components_responses(),
        },
    }


@lru_cache(maxsize=8)
def _document_json(server_url: str) -> str:
    return json.dumps(build_document(server_url), separators=(",", ":"))


def _server_url(request: Request | None) -> str:
    # API Gateway puts the stage in front of the resource path ("/api/openapi.json"); keep it.
    if request is None:
        return "/"
    context = request.context or {}
    full_path = str(context.get("path") or "")
    resource_path = str(context.get("resourcePath") or "")
    prefix = full_path[: -len(resource_path)] if resource_path and full_path.endswith(resource_path) else ""
    return prefix or "/"


def document_response(request: Request | None) -> Response:
    return Response(
        body=_document_json(_server_url(request)),
        status_code=200,
        headers={"Content-Type": "application/json"},
    )


# --------------------------------------------------------------------------------------------
# /docs
# --------------------------------------------------------------------------------------------
_DOCS_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.op{margin:1rem 0;padding:.6rem .8rem;border:1px solid #ddd;border-radius:6px}
.m{display:inline-block;min-width:4rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}code,pre{font:13px ui-monospace,monospace}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;max-height:24rem}
details{margin:.3rem 0}
"""

_DOCS_SCRIPT = """
(function () {
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function block(title, value) {
    var d = el('details'); d.appendChild(el('summary', '', title));
    d.appendChild(el('pre', '', JSON.stringify(value, null, 2))); return d;
  }
  fetch('openapi.json', {headers: {'Accept': 'application/json'}}).then(function (r) {
    if (!r.ok) throw new Error('openapi.json: HTTP ' + r.status);
    return r.json();
  }).then(function (spec) {
    var root = document.getElementById('spec');
    root.appendChild(el('h1', '', spec.info.title + ' ' + spec.info.version));
    root.appendChild(el('p', '', spec.info.description));
    Object.keys(spec.paths).forEach(function (path) {
      var item = spec.paths[path];
      Object.keys(item).filter(function (k) { return k !== 'parameters'; }).forEach(function (method) {
        var op = item[method], box = el('div', 'op'), head = el('div');
        head.appendChild(el('span', 'm ' + method, method));
        head.appendChild(el('code', '', path));
        head.appendChild(document.createTextNode(' ' + (op.summary || '')));
        box.appendChild(head);
        if (op.requestBody) box.appendChild(block('Request body', op.requestBody));
        box.appendChild(block('Responses: ' + Object.keys(op.responses).join(', '), op.responses));
        root.appendChild(box);
      });
    });
    root.appendChild(el('h2', '', 'Schemas'));
    Object.keys(spec.components.schemas).forEach(function (name) {
      root.appendChild(block(name, spec.components.schemas[name]));
    });
  }).catch(function (error) {
    document.getElementById('spec').appendChild(el('p', '', String(error)));
  });
})();
"""


def _csp_hash(source: str) -> str:
    return (
        "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"
    )


DOCS_CONTENT_SECURITY_POLICY = (
    f"default-src 'self'; script-src {_csp_hash(_DOCS_SCRIPT)}; style-src {_csp_hash(_DOCS_STYLE)}; "
    "frame-ancestors 'none'"
)

DOCS_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    f"<title>{API_TITLE}</title><style>{_DOCS_STYLE}</style></head>"
    '<body><main id="spec"><noscript>Read <a href="openapi.json">openapi.json</a>.</noscript></main>'
    f"<script>{_DOCS_SCRIPT}</script></body></html>"
)


def docs_response() -> Response:
    return Response(
        body=DOCS_HTML,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY,
        },
    )
