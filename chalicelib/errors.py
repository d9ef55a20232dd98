"""The one error shape of the service, and the error the service layer raises to produce it.

    {"error": {"code": "...", "message": "...", "details": [{"field": "...", "problem": "..."}]},
     "request_id": "..."}

Every error body comes from ``error_body``: the API's own answers (``chalicelib.http``), the gateway
responses API Gateway returns in production (``chalicelib.http.gateway_responses``, rendered into the
template by ``infra/``) and their local emulation (``devstack.gateway``). A leaf module: no Chalice,
no AWS, so every layer may raise ``ServiceError`` and only the HTTP layer turns it into a response.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

from chalicelib import resources


class ErrorDetail(TypedDict):
    field: str  # the request field, parameter or header at fault ("(body)" for the whole body)
    problem: str


class ErrorInfo(TypedDict):
    code: str  # stable, machine-readable: "validation_failed", "not_found", ...
    message: str
    details: list[ErrorDetail]


class ErrorBody(TypedDict):
    error: ErrorInfo
    request_id: str


def error_body(
    code: str, message: str, request_id: str, details: list[ErrorDetail] | None = None
) -> ErrorBody:
    return {"error": {"code": code, "message": message, "details": details or []}, "request_id": request_id}


class ServiceError(Exception):
    """A request the service answers with an error status (never for a bug: that is a 500)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: list[ErrorDetail] = details or []
        self.headers = headers or {}

    def body(self, request_id: str) -> ErrorBody:
        return error_body(self.code, self.message, request_id, self.details)


def validation_failed(errors: Sequence[ErrorDetail | Mapping[str, str]]) -> ServiceError:
    """400 naming every field at fault (``errors``: the validator's, each with field and problem)."""
    details: list[ErrorDetail] = [{"field": error["field"], "problem": error["problem"]} for error in errors]
    fields = ", ".join(dict.fromkeys(detail["field"] for detail in details))  # each field once
    return ServiceError(400, "validation_failed", f"invalid field(s): {fields}", details)


def not_found(what: str) -> ServiceError:
    return ServiceError(404, "not_found", f"{what} not found")


def dependency_unavailable(dependency: str) -> ServiceError:
    return ServiceError(
        503,
        "dependency_unavailable",
        f"{dependency} is unavailable, retry later",
        [{"field": dependency, "problem": "unavailable"}],
        {"Retry-After": str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)},
    )
