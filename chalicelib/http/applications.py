"""HTTP handlers of /v1/applications (submit, status, list)."""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib.http import routes
from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.idempotent import run_once
from chalicelib.http.identity import client_id
from chalicelib.http.requests import query_arguments
from chalicelib.records import SubmitResponse
from chalicelib.service import applications, decisions, idempotency
from chalicelib.service.dependencies import current

APPLICATIONS_PATH = "/v1/applications"
SUBMIT_ROUTE = "POST /v1/applications"


def status_path(request: Request, application_id: str) -> str:
    """The status URL path as the client sees it (keeps API Gateway's stage prefix, e.g. /api)."""
    full_path = str(request.context.get("path") or APPLICATIONS_PATH)
    prefix = full_path[: -len(APPLICATIONS_PATH)] if full_path.endswith(APPLICATIONS_PATH) else ""
    return f"{prefix}{APPLICATIONS_PATH}/{application_id}"


@renders_service_errors
def submit_application(request: Request) -> Response:
    dependencies = current()
    client = client_id(request)

    def operation(payload: object) -> dict[str, Any]:
        # What an Idempotency-Key replay returns: the id (the URL is rebuilt for the request's stage).
        return {"application_id": applications.submit_application(payload, dependencies, client)}

    result, replayed = run_once(
        request,
        SUBMIT_ROUTE,
        client,
        operation,
        degrade_without_store=False,
        validate=decisions.validated_application,
    )
    application_id = result["application_id"]
    location = status_path(request, application_id)
    body: SubmitResponse = {"application_id": application_id, "status": "PENDING", "status_url": location}
    headers = {"Location": location}
    if replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    return json_response(body, 202, headers)


@renders_service_errors
def get_application(request: Request, application_id: str) -> Response:
    return json_response(applications.get_status(application_id, current(), client_id(request)))


@renders_service_errors
def list_applications(request: Request) -> Response:
    query = query_arguments(request, routes.LIST_APPLICATIONS)
    return json_response(applications.list_applications(current(), client_id(request), **query))
