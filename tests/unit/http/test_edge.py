"""The edge on the real app (chalice.test.Client, in-memory store): security headers on every
response, CORS for allowed origins only, and the local stage's gateway emulation (devstack.gateway,
loaded through LOCAL_EDGE_MODULE) in front of the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice import Chalice, Response
from chalice.test import Client

from chalicelib import resources
from chalicelib.http.edge import install_edge, is_public_route
from chalicelib.http.gateway_responses import (
    INVALID_API_KEY,
    QUOTA_EXCEEDED,
    THROTTLED,
    gateway_response_template,
)
from chalicelib.http.headers import SECURITY_HEADERS
from chalicelib.resources import Throttle, UsagePlanSpec
from devstack.gateway import LocalGateway, local_api_keys, local_dev_api_key, reset_local_gateway
from tests.support.http import post_json, sample_application

KEY = local_dev_api_key("standard", {})
ORIGIN = "https://app.example.com"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def gateway_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "on")
    monkeypatch.delenv("LOCAL_API_KEYS", raising=False)
    reset_local_gateway()
    yield
    reset_local_gateway()


def body_of(response: Any) -> dict[str, Any]:
    return json.loads(response.body)


def assert_security_headers(response: Any, cache_control: str = "no-store") -> None:
    for name, value in SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert response.headers[name] == value, name
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["Cache-Control"] == cache_control


def assert_gateway_answer(response: Any, spec: Any) -> None:
    """Status, headers and body exactly as the production gateway response would give them."""
    assert response.status_code == spec.status_code
    body = body_of(response)
    request_id = response.headers["X-Request-ID"]
    production_body = json.loads(gateway_response_template(spec).replace("$context.requestId", request_id))
    assert body == production_body
    if spec.retry_after_seconds is not None:
        assert response.headers["Retry-After"] == str(spec.retry_after_seconds)
    assert_security_headers(response)


# ---------------------------------------------------------------------------- API key
def test_missing_or_wrong_api_key_is_403_in_our_shape(chalice_client, gateway_on) -> None:
    for headers in ({}, {"x-api-key": "not-a-key"}):
        response = post_json(chalice_client, "/v1/decisions", sample_application(), headers)
        assert_gateway_answer(response, INVALID_API_KEY)
        assert body_of(response)["error"]["code"] == "forbidden"


def test_valid_key_reaches_the_api(chalice_client, gateway_on) -> None:
    response = post_json(chalice_client, "/v1/decisions", sample_application(), {"x-api-key": KEY})
    assert response.status_code == 200
    assert_security_headers(response)


def test_public_routes_need_no_key(chalice_client, gateway_on) -> None:
    for path in ("/health", "/health/live", "/openapi.json"):
        response = chalice_client.http.get(path)
        assert response.status_code == 200, path
    docs = chalice_client.http.get("/docs")
    assert docs.status_code == 200
    assert_security_headers(docs, cache_control="no-cache")


def test_keys_from_environment_replace_the_defaults(chalice_client, gateway_on, monkeypatch) -> None:
    monkeypatch.setenv("LOCAL_API_KEYS", "standard:my-own-key")
    reset_local_gateway()
    assert chalice_client.http.get("/metrics", headers={"x-api-key": KEY}).status_code == 403
    assert chalice_client.http.get("/metrics", headers={"x-api-key": "my-own-key"}).status_code == 200


def test_no_emulation_outside_the_local_stage(memory, gateway_on) -> None:
    from app import app

    with Client(app, stage_name="dev", project_dir=str(resources_project_dir())) as client:
        assert client.http.get("/metrics").status_code == 200


def resources_project_dir() -> Any:
    from pathlib import Path

    return Path(resources.__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- throttling and quota
def test_burst_then_429_throttled_with_retry_after(chalice_client, gateway_on) -> None:
    clock = FakeClock()
    reset_local_gateway(LocalGateway(local_api_keys({}), clock=clock, wall_clock=clock))
    standard = next(plan for plan in resources.USAGE_PLANS if plan.name == "standard")
    # A route with only the stage throttle, whose burst is larger: the key's usage plan refuses first.
    path = "/v1/applications/{application_id}"
    assert f"{path}/GET" not in resources.METHOD_THROTTLES
    assert resources.STAGE_THROTTLE.burst > standard.throttle.burst
    url = "/v1/applications/00000000-0000-0000-0000-000000000000"
    statuses = [
        chalice_client.http.get(url, headers={"x-api-key": KEY}).status_code
        for _ in range(standard.throttle.burst)
    ]
    assert statuses == [404] * standard.throttle.burst
    throttled = chalice_client.http.get(url, headers={"x-api-key": KEY})
    assert_gateway_answer(throttled, THROTTLED)
    clock.now += 1 / standard.throttle.rate_per_second
    assert chalice_client.http.get(url, headers={"x-api-key": KEY}).status_code == 404


def test_daily_quota_is_429_quota_exceeded(chalice_client, gateway_on) -> None:
    clock = FakeClock()
    tiny = UsagePlanSpec(name="standard", throttle=Throttle(rate_per_second=1000, burst=1000), daily_quota=3)
    reset_local_gateway(LocalGateway({KEY: "standard"}, clock=clock, wall_clock=clock, usage_plans=(tiny,)))
    for _ in range(3):
        assert chalice_client.http.get("/metrics", headers={"x-api-key": KEY}).status_code == 200
    assert_gateway_answer(chalice_client.http.get("/metrics", headers={"x-api-key": KEY}), QUOTA_EXCEEDED)


# ---------------------------------------------------------------------------- security headers
def test_every_status_gets_the_security_headers(chalice_client) -> None:
    application = sample_application()
    responses = {
        200: post_json(chalice_client, "/v1/decisions", application),
        400: post_json(chalice_client, "/v1/decisions", {**application, "cibil_score": "high"}),
        404: chalice_client.http.get("/v1/applications/no-such-id"),
        405: chalice_client.http.put("/v1/decisions", body=b"{}"),
        413: chalice_client.http.post(
            "/v1/decisions",
            headers={"Content-Type": "application/json"},
            body=b" " * (resources.MAX_BODY_BYTES + 1),
        ),
        415: chalice_client.http.post("/v1/decisions", headers={"Content-Type": "text/plain"}, body=b"x"),
    }
    for status, response in responses.items():
        assert response.status_code == status
        assert_security_headers(response)
        assert response.headers["X-Request-ID"]


def test_docs_csp_allows_only_its_own_inline_code(chalice_client) -> None:
    response = chalice_client.http.get("/docs")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in policy and "style-src 'sha256-" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    assert "<script>" in response.body.decode()
    assert "src=" not in response.body.decode()  # nothing loaded from elsewhere


# ---------------------------------------------------------------------------- CORS
def test_cors_headers_only_for_allowed_origins(chalice_client, monkeypatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", f"{ORIGIN}, https://other.example.com")
    allowed = chalice_client.http.get("/health", headers={"Origin": ORIGIN})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert allowed.headers["Vary"] == "Origin"
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    refused = chalice_client.http.get("/health", headers={"Origin": "https://evil.example.com"})
    assert refused.status_code == 200
    assert not any(name.lower().startswith("access-control-") for name in refused.headers)


def test_preflight_answered_for_allowed_origin_without_api_key(
    chalice_client, gateway_on, monkeypatch
) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", ORIGIN)
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    response = chalice_client.http.request("OPTIONS", "/v1/decisions", headers=preflight)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS, POST"
    assert "X-Api-Key" in response.headers["Access-Control-Allow-Headers"]
    assert_security_headers(response)
    other = chalice_client.http.request(
        "OPTIONS", "/v1/decisions", headers={**preflight, "Origin": "https://evil.example.com"}
    )
    assert not any(name.lower().startswith("access-control-") for name in other.headers)


def test_wildcard_origin_setting_is_ignored(chalice_client, monkeypatch) -> None:
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "*")
    response = chalice_client.http.get("/health", headers={"Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


# ---------------------------------------------------------------------------- install_edge itself
def _small_app(inner_failure: bool) -> Chalice:
    small = Chalice(app_name="edge-test")

    if inner_failure:

        def broken_middleware(request: Any, get_response: Any) -> Response:
            raise RuntimeError("inner middleware failed")

        small.register_middleware(broken_middleware, "http")

    @small.route("/v1/boom", methods=["GET"])
    def boom() -> Response:
        raise RuntimeError("view failed")

    @small.route("/v1/fine", methods=["GET"])
    def fine() -> dict[str, str]:
        return {"ok": "yes"}

    install_edge(small)
    return small


@pytest.mark.parametrize("inner_failure", [False, True])
def test_headers_even_on_unhandled_errors(inner_failure: bool, monkeypatch) -> None:
    monkeypatch.setenv("STAGE", "dev")
    with Client(_small_app(inner_failure)) as client:
        response = client.http.get("/v1/boom")
        assert response.status_code == 500
        assert_security_headers(response)
        if inner_failure:
            body = body_of(response)
            assert body["error"]["code"] == "internal_error"
            assert "failed" not in response.body.decode()


def test_api_key_required_in_the_deployed_definition_exactly_off_public_routes() -> None:
    from chalice.deploy.swagger import CFNSwaggerGenerator

    from app import app

    definition = CFNSwaggerGenerator().generate_swagger(app)
    for path, item in definition["paths"].items():
        for method, operation in item.items():
            keyed = {"api_key": []} in operation.get("security", [])
            assert keyed == (method != "options" and not is_public_route(path)), (method, path)


def test_install_edge_adds_preflight_routes_and_runs_outermost() -> None:
    small = _small_app(inner_failure=True)
    assert set(small.routes["/v1/fine"]) == {"GET", "OPTIONS"}
    assert small.middleware_handlers[0][0].__name__ == "headers_middleware"
