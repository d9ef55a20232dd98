"""List handlers pass the query parameters their route declares to the service as keyword arguments
(chalicelib.http.requests.query_arguments): every declared parameter must be a keyword of the service
function, or the list would answer 500 for any request."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.http import routes
from chalicelib.http.requests import query_arguments
from chalicelib.http.routes import Route
from chalicelib.service import applications, decisions, monitoring, reviews

LISTS: list[tuple[Route, Callable[..., Any]]] = [
    (routes.LIST_APPLICATIONS, applications.list_applications),
    (routes.LIST_DECISIONS, decisions.list_decisions),
    (routes.LIST_REVIEWS, reviews.list_cases),
    (routes.LIST_MONITORING_REPORTS, monitoring.list_reports),
]


@pytest.mark.parametrize(("route", "service"), LISTS, ids=lambda value: getattr(value, "operation_id", ""))
def test_every_declared_parameter_is_a_keyword_of_the_service(
    route: Route, service: Callable[..., Any]
) -> None:
    request: Any = SimpleNamespace(query_params=None)
    arguments = query_arguments(request, route)
    assert len(arguments) == len(route.query) > 0
    keywords = inspect.signature(service).parameters
    assert set(arguments) <= set(keywords), set(arguments) - set(keywords)


def test_the_values_are_the_request_parameters_by_the_service_names() -> None:
    request: Any = SimpleNamespace(query_params={"from": "2026-12-01", "limit": "5"})
    assert query_arguments(request, routes.LIST_MONITORING_REPORTS) == {
        "created_from": "2026-12-01",
        "created_to": None,
        "version": None,
        "limit": "5",
    }
