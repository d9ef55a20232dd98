"""The edge on the real app (chalice.test.Client, in-memory store): security headers on every
response, CORS for allowed origins only, preflights, and which routes need an API key."""

from __future__ import annotations

from typing import Any

import pytest
from chalice import Chalice, Response
from chalice.test import Client

from chalicelib import resources
from chalicelib.http.edge import install_edge, is_public_route
from tests.support.edge import assert_security_headers
from tests.support.http import body_of, post_json, sample_application

ORIGIN = "https://app.example.com"


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


def test_docs_csp_allows_scripts_from_self_only(chalice_client) -> None:
    response = chalice_client.http.get("/docs")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    # Scripts only from the API itself (no inline script, no eval); styles widened for Swagger UI.
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'" and "http" not in policy
    body = response.body.decode()
    assert "<script>" not in body  # every script is a file: <script src=...>
    assert 'src="docs/swagger-ui-bundle.js"' in body and 'src="docs/docs-init.js"' in body


def test_console_runs_under_the_default_csp(chalice_client) -> None:
    for path in ("/console", "/console/console.js"):
        response = chalice_client.http.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Security-Policy"] == "default-src 'self'; frame-ancestors 'none'"
    assert "<script>" not in chalice_client.http.get("/console").body.decode()


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


def test_api_keys_on_client_routes_and_the_staff_authorizer_on_staff_routes_only() -> None:
    from chalice.deploy.swagger import CFNSwaggerGenerator

    from app import app
    from chalicelib import resources
    from chalicelib.http.routes import ROUTES, Access

    staff_routes = {(route.method.lower(), route.path) for route in ROUTES if route.access is Access.STAFF}
    assert ("get", "/v1/reviews") in staff_routes  # the declarations name staff routes at all
    definition = CFNSwaggerGenerator().generate_swagger(app)
    staff_seen = 0
    for path, item in definition["paths"].items():
        for method, operation in item.items():
            security = operation.get("security", [])
            keyed = {"api_key": []} in security
            staff = any(resources.STAFF_POOL.authorizer_name in entry for entry in security)
            is_staff_route = (method, path) in staff_routes
            assert staff == is_staff_route, (method, path)
            staff_path = any(route_path == path for _, route_path in staff_routes)
            assert keyed == (method != "options" and not staff_path and not is_public_route(path)), (
                method,
                path,
            )
            staff_seen += staff
    assert staff_seen == len(staff_routes)


def test_install_edge_adds_preflight_routes_and_runs_outermost() -> None:
    small = _small_app(inner_failure=True)
    assert set(small.routes["/v1/fine"]) == {"GET", "OPTIONS"}
    assert small.middleware_handlers[0][0].__name__ == "headers_middleware"
