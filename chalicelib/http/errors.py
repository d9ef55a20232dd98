"""Error responses: ``ServiceError`` rendered in the one error shape (``chalicelib.errors``), and
Chalice's own error responses translated into it.

HTTP handlers are decorated with ``renders_service_errors``: Chalice catches every exception a
view raises (and answers 500 in its own shape), so a ``ServiceError`` is turned into its response
inside the view. Responses Chalice builds itself (405 for an unrouted method, 415, its 500 for an
unexpected exception) are rewritten into the same shape by ``normalise_error_response``, which the
HTTP middleware applies to every response.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, ParamSpec

from chalice.app import Response

from chalicelib.errors import ErrorDetail, ServiceError, error_body

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

P = ParamSpec("P")


def error_response(
    status: int,
    code: str,
    message: str,
    request_id: str,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(
        body=json.dumps(error_body(code, message, request_id, details)),
        status_code=status,
        headers={**JSON_HEADERS, **(headers or {})},
    )


def service_error_response(error: ServiceError, request_id: str) -> Response:
    return error_response(error.status, error.code, error.message, request_id, error.details, error.headers)


def renders_service_errors(handler: Callable[P, Response]) -> Callable[P, Response]:
    """Answer a ``ServiceError`` raised by ``handler`` in the one error shape."""
    from chalicelib.http.middleware import current_request_id

    @functools.wraps(handler)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return handler(*args, **kwargs)
        except ServiceError as error:
            return service_error_response(error, current_request_id())

    return wrapper


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers={**JSON_HEADERS, **(headers or {})})


def normalise_error_response(response: Response, request_id: str) -> Response:
    """Rewrite an error response Chalice produced itself ({"Code", "Message"}) into our shape."""
    if response.status_code < 400 or not isinstance(response.body, dict) or "Code" not in response.body:
        return response
    code, message = _CHALICE_CODES.get(str(response.body["Code"]), ("error", "request failed"))
    details: list[ErrorDetail] = []
    if code == "unsupported_media_type":
        details = [{"field": "Content-Type", "problem": "must be application/json"}]
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() != "content-type" and isinstance(value, str)
    }
    if code == "method_not_allowed" and "Allow" in headers:
        message = f"method not allowed; allowed: {headers['Allow']}"
    return error_response(response.status_code, code, message, request_id, details, headers)
