"""The one error shape of the API, and the translation of Chalice's own error responses into it.

    {"error": {"code": "...", "message": "...", "details": [{"field": "...", "problem": "..."}]},
     "request_id": "..."}

Views raise ``ApiError``; it derives from ``ChaliceUnhandledError`` so Chalice lets it propagate to
the HTTP middleware (``chalicelib.observability``), which renders it. Responses Chalice builds
itself (405 for an unrouted method, 415, its 500 for an unexpected exception) are rewritten into
the same shape by ``normalise_error_response``.
"""

from __future__ import annotations

import json
from typing import Any

from chalice.app import ChaliceUnhandledError, Response

from chalicelib import resources

JSON_HEADERS = {"Content-Type": "application/json"}

# Chalice's {"Code": ...} error codes -> (our code, our message).
_CHALICE_CODES: dict[str, tuple[str, str]] = {
    "MethodNotAllowedError": ("method_not_allowed", "method not allowed on this path"),
    "UnsupportedMediaType": ("unsupported_media_type", "request body must be application/json"),
    "BadRequestError": ("bad_request", "bad request"),
    "BadRequest": ("bad_request", "bad request"),
    "NotFoundError": ("not_found", "not found"),
    "InternalServerError": ("internal_error", "internal error"),
}


class ApiError(ChaliceUnhandledError):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def to_response(self, request_id: str) -> Response:
        return error_response(self.status, self.code, self.message, request_id, self.details, self.headers)


def error_body(code: str, message: str, request_id: str, details: list[dict[str, str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}, "request_id": request_id}


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        body=json.dumps(error_body(code, message, request_id, details)),
        status_code=status,
        headers={**JSON_HEADERS, **(headers or {})},
    )


def validation_failed(errors: list[dict[str, str]]) -> ApiError:
    fields = ", ".join(error["field"] for error in errors)
    return ApiError(400, "validation_failed", f"invalid field(s): {fields}", errors)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def dependency_unavailable(dependency: str) -> ApiError:
    return ApiError(
        503,
        "dependency_unavailable",
        f"{dependency} is unavailable, retry later",
        [{"field": dependency, "problem": "unavailable"}],
        {"Retry-After": str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)},
    )


def normalise_error_response(response: Response, request_id: str) -> Response:
    """Rewrite an error response Chalice produced itself ({"Code", "Message"}) into our shape."""
    if response.status_code < 400 or not isinstance(response.body, dict) or "Code" not in response.body:
        return response
    code, message = _CHALICE_CODES.get(str(response.body["Code"]), ("error", "request failed"))
    details: list[dict[str, Any]] = []
    if code == "unsupported_media_type":
        details = [{"field": "Content-Type", "problem": "must be application/json"}]
    headers = {name: value for name, value in response.headers.items() if name.lower() != "content-type"}
    if code == "method_not_allowed" and "Allow" in headers:
        message = f"method not allowed; allowed: {headers['Allow']}"
    return error_response(response.status_code, code, message, request_id, details, headers)
