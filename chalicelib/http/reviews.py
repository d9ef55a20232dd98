"""HTTP handlers of the review desk (staff only): /v1/reviews and /v1/applications/{id}/audit.

Who may call each one (the staff groups) is in its declaration (``chalicelib.http.routes``), checked
before the handler runs (``chalicelib.http.router``)."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib.http import routes
from chalicelib.http.errors import json_response, renders_service_errors
from chalicelib.http.requests import json_body, query_arguments
from chalicelib.http.staff import staff_subject
from chalicelib.service import reviews
from chalicelib.service.dependencies import current


@renders_service_errors
def list_reviews(request: Request) -> Response:
    return json_response(reviews.list_cases(current(), **query_arguments(request, routes.LIST_REVIEWS)))


@renders_service_errors
def get_review(request: Request, review_id: str) -> Response:
    return json_response(reviews.case_detail(current(), review_id))


@renders_service_errors
def claim_review(request: Request, review_id: str) -> Response:
    return json_response(reviews.claim(current(), review_id, staff_subject(request)))


@renders_service_errors
def release_review(request: Request, review_id: str) -> Response:
    return json_response(reviews.release(current(), review_id, staff_subject(request)))


@renders_service_errors
def decide_review(request: Request, review_id: str) -> Response:
    return json_response(reviews.decide(current(), review_id, staff_subject(request), json_body(request)))


@renders_service_errors
def second_approval(request: Request, review_id: str) -> Response:
    return json_response(
        reviews.second_approval(current(), review_id, staff_subject(request), json_body(request))
    )


@renders_service_errors
def application_audit(request: Request, application_id: str) -> Response:
    return json_response(reviews.application_trail(current(), application_id))
