"""The gateway's own error responses, defined once for production and for the local emulation.

Production: API Gateway answers these itself (the Lambda never runs), from ``AWS::ApiGateway::
GatewayResponse`` resources that ``infra/`` generates with ``gateway_response_template`` and
``gateway_response_headers``; the WAF per-IP rule answers with ``WAF_BLOCKED`` as its custom
response. Local stage: ``devstack.gateway`` returns ``gateway_error_body`` with the same
status and headers. The body is the API's one error shape
``{"error": {"code", "message", "details"}, "request_id"}`` (``chalicelib.errors.error_body``).

Pure data, no AWS imports.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from chalicelib.errors import ErrorBody, error_body
from chalicelib.resources import THROTTLED_RETRY_AFTER_SECONDS

# A client over its daily quota cannot succeed for a while; API Gateway's headers are static, so
# this is a fixed hint rather than the exact time to the quota reset at 00:00 UTC.
QUOTA_EXCEEDED_RETRY_AFTER_SECONDS = 3600

# The placeholder API Gateway substitutes in a gateway response template.
REQUEST_ID_TEMPLATE_VARIABLE = "$context.requestId"


class GatewayResponseSpec(NamedTuple):
    response_type: str  # API Gateway's GatewayResponse ResponseType (WAF_BLOCKED: WAF custom response)
    status_code: int
    code: str  # error.code in the body
    message: str  # error.message in the body
    retry_after_seconds: int | None = None


INVALID_API_KEY = GatewayResponseSpec(
    response_type="INVALID_API_KEY",
    status_code=403,
    code="forbidden",
    message="forbidden: a valid API key is required in the x-api-key header",
)
THROTTLED = GatewayResponseSpec(
    response_type="THROTTLED",
    status_code=429,
    code="throttled",
    message="too many requests, retry after the Retry-After delay",
    retry_after_seconds=THROTTLED_RETRY_AFTER_SECONDS,
)
QUOTA_EXCEEDED = GatewayResponseSpec(
    response_type="QUOTA_EXCEEDED",
    status_code=429,
    code="quota_exceeded",
    message="daily request quota of this API key exceeded",
    retry_after_seconds=QUOTA_EXCEEDED_RETRY_AFTER_SECONDS,
)
WAF_BLOCKED = GatewayResponseSpec(
    response_type="WAF_BLOCKED",
    status_code=429,
    code="throttled",
    message="too many requests from this client address, retry after the Retry-After delay",
    retry_after_seconds=THROTTLED_RETRY_AFTER_SECONDS,
)
# The Cognito user pool authorizer refused the staff token (missing, invalid, expired, another pool or
# app client, not an ID token). Locally devstack.staff_auth answers it.
UNAUTHORIZED = GatewayResponseSpec(
    response_type="UNAUTHORIZED",
    status_code=401,
    code="unauthorized",
    message="unauthorized: a valid staff ID token is required in the Authorization header",
)
# The API Gateway ones; WAF_BLOCKED belongs to the WAF rule's CustomResponse instead.
GATEWAY_RESPONSES: tuple[GatewayResponseSpec, ...] = (
    INVALID_API_KEY,
    THROTTLED,
    QUOTA_EXCEEDED,
    UNAUTHORIZED,
)


def gateway_error_body(spec: GatewayResponseSpec, request_id: str) -> ErrorBody:
    """The JSON body of a gateway response for one request: the API's one error shape."""
    return error_body(spec.code, spec.message, request_id)


def gateway_response_template(spec: GatewayResponseSpec) -> str:
    """``ResponseTemplates["application/json"]`` for the GatewayResponse (request id filled in by
    API Gateway)."""
    return json.dumps(gateway_error_body(spec, REQUEST_ID_TEMPLATE_VARIABLE), separators=(",", ":"))


def gateway_response_headers(spec: GatewayResponseSpec) -> dict[str, str]:
    """Static response headers of the gateway response (values unquoted; CloudFormation's
    ResponseParameters need them as ``"'value'"``)."""
    headers = {"Content-Type": "application/json"}
    if spec.retry_after_seconds is not None:
        headers["Retry-After"] = str(spec.retry_after_seconds)
    return headers
