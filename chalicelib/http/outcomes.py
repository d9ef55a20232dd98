"""HTTP handlers of POST /v1/decisions/{decision_id}/outcome and POST /v1/outcomes (issue 20: loan
outcomes)."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.identity import client_id
from chalicelib.http.requests import json_body
from chalicelib.service import outcomes
from chalicelib.service.dependencies import current


@renders_service_errors
def record_outcome(request: Request, decision_id: str) -> Response:
    """201 for a new outcome, 200 for a replay of one already recorded."""
    body, created = outcomes.record_outcome(decision_id, json_body(request), current(), client_id(request))
    return json_response(body, 201 if created else 200)


@renders_service_errors
def record_outcomes(request: Request) -> Response:
    """200 with each outcome's own status code (a bad request as a whole: 400, nothing recorded)."""
    return json_response(outcomes.record_outcomes(json_body(request), current(), client_id(request)))
