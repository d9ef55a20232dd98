"""The route declarations (chalicelib/http/routes.py) are what the app serves and checks: one
declaration per route, its access rule the gateway's, and its query parameters validated exactly as
the document states them (every bad one named, never a 500, never Python's own words)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from chalicelib import resources
from chalicelib.http import routes
from chalicelib.http.edge import is_public_route
from chalicelib.http.router import query_problems
from chalicelib.http.routes import Access
from devstack.gateway import reset_local_gateway
from tests.support.http import assert_error_shape, body_of

KEY = "routes-test-key"
HEADERS = {"x-api-key": KEY}
LISTS = ("/v1/decisions", "/v1/applications")


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch, memory: Any) -> Iterator[Any]:
    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "on")
    monkeypatch.setenv("LOCAL_API_KEYS", f"partner:{KEY}")
    reset_local_gateway()
    yield memory
    reset_local_gateway()


# ---------------------------------------------------------------------------- declarations
def test_every_route_is_declared_once_and_served() -> None:
    from app import app

    declared = [(route.path, route.method) for route in routes.ROUTES]
    assert len(declared) == len(set(declared))
    served = {
        (path, method) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"
    }
    assert set(declared) == served
    assert len({route.operation_id for route in routes.ROUTES}) == len(routes.ROUTES)


def test_access_is_the_gateways_rule() -> None:
    from app import app

    for route in routes.ROUTES:
        entry = app.routes[route.path][route.method]
        assert (route.access is Access.PUBLIC) == is_public_route(route.path), route.path
        assert (route.access is Access.STAFF) == (entry.authorizer is not None), route.path
        assert (route.access is Access.API_KEY) == entry.api_key_required, route.path
        assert bool(route.staff_groups) == (route.access is Access.STAFF), route.path


# ---------------------------------------------------------------------------- the validator alone
def _problems(**given: str | list[str]) -> dict[str, str]:
    query = {name: value if isinstance(value, list) else [value] for name, value in given.items()}
    return {d["field"]: d["problem"] for d in query_problems(routes.LIST_DECISIONS.query, query)}


@pytest.mark.parametrize(
    "limit",
    ["²", "①", "٥", "５", "5" * 4301, "0", "101", "-1", "+5", " 5", "5.0", "1e2", "0x10", "", "五"],
)
def test_limit_is_ascii_digits_within_bounds(limit: str) -> None:
    problems = _problems(limit=limit)
    assert list(problems) == ["limit"]
    assert "sys." not in problems["limit"] and "int(" not in problems["limit"]


@pytest.mark.parametrize(("limit", "size"), [("1", 1), ("100", 100), ("007", 7), ("0" * 5000 + "5", 5)])
def test_limit_within_bounds_is_accepted(limit: str, size: int) -> None:
    assert _problems(limit=limit) == {}


def test_every_bad_parameter_is_named_once() -> None:
    problems = _problems(outcome="maybe", limit="①", cursor="", page="2", sort="asc", to=["a", "b"])
    assert set(problems) == {"outcome", "limit", "cursor", "page", "sort", "to"}
    assert problems["page"].startswith("not a parameter of this route")
    assert problems["to"] == "given more than once"
    assert problems["cursor"].startswith("empty")


@pytest.mark.parametrize(
    "instant",
    [
        "2026-12-01",
        "9999-12-31",
        "0001-01-01",
        "2026-12-01T09:30:00Z",
        "2026-12-01t09:30:00.123456z",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "2026-12-01T09:30:00.5+05:30",
    ],
)
def test_dates_and_rfc3339_date_times_are_accepted(instant: str) -> None:
    assert _problems(**{"from": instant, "to": instant}) == {}


@pytest.mark.parametrize(
    "instant",
    [
        "2026-02-30",
        "2026-12-01T09:30:00",
        "yesterday",
        "2026-12-01T25:00:00Z",
        "12/01/2026",
        "２０２６-12-01",
    ],
)
def test_other_instants_are_named(instant: str) -> None:
    assert set(_problems(**{"from": instant})) == {"from"}


# ---------------------------------------------------------------------------- over HTTP
@pytest.mark.parametrize("path", [*LISTS])
@pytest.mark.parametrize("limit", ["%C2%B2", quote("①"), quote("٥"), quote("５"), "5" * 4301])
def test_odd_limits_are_400_naming_limit(chalice_client, keyed, path: str, limit: str) -> None:
    response = chalice_client.http.get(f"{path}?limit={limit}", headers=HEADERS)
    body = assert_error_shape(response, 400, "invalid_parameter")
    assert [detail["field"] for detail in body["error"]["details"]] == ["limit"]
    text = response.body.decode()
    assert "set_int_max_str_digits" not in text and "utf-8-sig" not in text


@pytest.mark.parametrize("path", [*LISTS])
@pytest.mark.parametrize("name", ["status", "cursor", "limit"])
def test_an_empty_value_is_400_on_every_list(chalice_client, keyed, path: str, name: str) -> None:
    if name == "status" and path == "/v1/decisions":
        name = "outcome"
    body = assert_error_shape(
        chalice_client.http.get(f"{path}?{name}=", headers=HEADERS), 400, "invalid_parameter"
    )
    assert [detail["field"] for detail in body["error"]["details"]] == [name]


@pytest.mark.parametrize("path", [*LISTS])
def test_unknown_parameters_are_400_naming_them(chalice_client, keyed, path: str) -> None:
    response = chalice_client.http.get(f"{path}?page=2&sort=asc", headers=HEADERS)
    body = assert_error_shape(response, 400, "invalid_parameter")
    assert {detail["field"] for detail in body["error"]["details"]} == {"page", "sort"}


def test_from_the_last_day_without_to_is_an_empty_page(chalice_client, keyed) -> None:
    response = chalice_client.http.get("/v1/decisions?from=9999-12-31", headers=HEADERS)
    assert response.status_code == 200, response.body
    assert body_of(response) == {"items": [], "next_cursor": None}


def test_the_document_states_what_the_validator_accepts(chalice_client) -> None:
    document = json.loads(chalice_client.http.get("/openapi.json").body)
    for route in (routes.LIST_DECISIONS, routes.LIST_APPLICATIONS, routes.LIST_REVIEWS):
        parameters = document["paths"][route.path]["get"]["parameters"]
        assert [parameter["schema"] for parameter in parameters] == [query.schema for query in route.query]
    limit = routes.LIST_REVIEWS.query[1].schema
    assert limit == {"type": "integer", "minimum": 1, "maximum": resources.LIST_MAX_LIMIT}


def test_reviews_and_applications_agree_on_an_empty_status(chalice_client, memory) -> None:
    import app
    from devstack.lambda_events import LocalLambdaContext
    from tests.support.http import proxy_event

    reviewer = {"sub": "sub-reviewer-1", "cognito:groups": "reviewer"}
    event = proxy_event("GET", "/v1/reviews", "/v1/reviews", None, query={"status": ""}, claims=reviewer)
    reviews = app.app(event, LocalLambdaContext(function_name="api_handler", region=resources.LOCAL_REGION))
    applications = chalice_client.http.get("/v1/applications?status=")
    assert reviews["statusCode"] == applications.status_code == 400
    assert json.loads(reviews["body"])["error"]["details"] == body_of(applications)["error"]["details"]
