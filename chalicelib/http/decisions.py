"""HTTP handlers of /v1/decisions (create, read, notice, list, rerun) and POST /v1/eligibility."""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib.http import routes
from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.idempotent import run_once
from chalicelib.http.identity import client_id
from chalicelib.http.requests import json_body, query_arguments
from chalicelib.service import decisions, idempotency
from chalicelib.service.dependencies import current

DECISIONS_ROUTE = "POST /v1/decisions"


@renders_service_errors
def create_decision(request: Request) -> Response:
    dependencies = current()
    client = client_id(request)

    def operation(payload: object) -> dict[str, Any]:
        return dict(decisions.make_decision(payload, dependencies, client))

    body, replayed = run_once(
        request,
        DECISIONS_ROUTE,
        client,
        operation,
        degrade_without_store=True,
        validate=decisions.validated_application,
    )
    return json_response(body, 200, {idempotency.REPLAYED_HEADER: "true"} if replayed else None)


@renders_service_errors
def get_decision(request: Request, decision_id: str) -> Response:
    return json_response(decisions.decision_on_record(decision_id, current(), client_id(request)))


def _wants_text(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    media_types = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    return "text/plain" in media_types and "application/json" not in media_types


@renders_service_errors
def get_notice(request: Request, decision_id: str) -> Response:
    notice = decisions.decision_notice(decision_id, current(), client_id(request))
    if _wants_text(request):
        return Response(
            body=notice["text"], status_code=200, headers={"Content-Type": "text/plain; charset=utf-8"}
        )
    return json_response(notice)


@renders_service_errors
def list_decisions(request: Request) -> Response:
    query = query_arguments(request, routes.LIST_DECISIONS)
    return json_response(decisions.list_decisions(current(), client_id(request), **query))


@renders_service_errors
def check_eligibility(request: Request) -> Response:
    return json_response(decisions.quick_eligibility(json_body(request)))


@renders_service_errors
def rerun_decision(request: Request, decision_id: str) -> Response:
    """The stored decision beside its inputs decided by another version (nothing is stored)."""
    return json_response(
        decisions.rerun_decision(decision_id, json_body(request), current(), client_id(request))
    )
