"""HTTP handlers of POST /v1/decisions and POST /v1/eligibility."""

from __future__ import annotations

from typing import Any

from chalice.app import Request, Response

from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.requests import json_body
from chalicelib.service import decisions, idempotency
from chalicelib.service.dependencies import current

DECISIONS_ROUTE = "POST /v1/decisions"


@renders_service_errors
def create_decision(request: Request) -> Response:
    dependencies = current()

    def operation(payload: Any) -> dict[str, Any]:
        return dict(decisions.make_decision(payload, dependencies))

    body, replayed = idempotency.run(
        DECISIONS_ROUTE,
        request.headers.get(idempotency.IDEMPOTENCY_HEADER),
        json_body(request),
        operation,
        lambda: dependencies.idempotency_store,
        request.lambda_context,
        degrade_without_store=True,
    )
    return json_response(body, 200, {idempotency.REPLAYED_HEADER: "true"} if replayed else None)


@renders_service_errors
def check_eligibility(request: Request) -> Response:
    return json_response(decisions.quick_eligibility(json_body(request)))
