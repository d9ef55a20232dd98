"""The edge over real HTTP against the running local stack (moto server, chalice local, worker):
the emulated gateway (API key, throttling), security headers on every status, 413 for oversized
bodies, CORS refused for unconfigured origins, and no personal data in any process's output or in
the stored records."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from chalicelib import resources
from chalicelib.http.gateway_responses import INVALID_API_KEY, THROTTLED, gateway_response_template
from chalicelib.http.headers import SECURITY_HEADERS
from chalicelib.privacy import hash_identity
from devstack.client import ApiClient
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack
from tests.support.aws import readable
from tests.support.samples import PERSONAL_DATA, PERSONAL_DATA_VARIANTS

DECIDED_WITHIN_SECONDS = 90

pytestmark = pytest.mark.integration


def leaked(text: str) -> list[str]:
    return [secret for secret in PERSONAL_DATA_VARIANTS if secret.lower() in text.lower()]


def assert_security_headers(response: requests.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert response.headers[name] == value, (response.status_code, name)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["X-Request-ID"]


def test_no_api_key_is_403_with_the_production_body(stack: DevStack) -> None:
    for headers in ({}, {"x-api-key": "not-a-key"}):
        response = requests.post(f"{stack.api_url}/v1/decisions", json={}, headers=headers, timeout=30)
        assert response.status_code == 403
        expected = gateway_response_template(INVALID_API_KEY).replace(
            "$context.requestId", response.headers["X-Request-ID"]
        )
        assert response.json() == json.loads(expected)
        assert_security_headers(response)


def test_health_and_docs_need_no_key(stack: DevStack) -> None:
    for path in ("/health", "/health/live", "/openapi.json", "/docs"):
        response = requests.get(stack.api_url + path, timeout=30)
        assert response.status_code == 200, path
        assert_security_headers(response)


def test_security_headers_on_every_status(api: ApiClient) -> None:
    valid = applications(1, with_personal_data=False)[0]
    responses = {
        200: api.post("/v1/decisions", valid),
        400: api.post("/v1/decisions", {**valid, "cibil_score": "high"}),
        404: api.get("/v1/applications/00000000-0000-0000-0000-000000000000"),
        405: api.session.put(api.base_url + "/v1/decisions", json={}, timeout=30),
        413: api.post_raw("/v1/decisions", b" " * (resources.MAX_BODY_BYTES + 1), "application/json"),
        415: api.post_raw("/v1/decisions", b"x=1", "application/x-www-form-urlencoded"),
    }
    for status, response in responses.items():
        assert response.status_code == status, response.text
        assert_security_headers(response)
        assert response.headers["Cache-Control"] == "no-store"
        assert set(response.json()) >= ({"error", "request_id"} if status >= 400 else {"decision_id"})


def test_oversized_body_is_413_end_to_end(api: ApiClient) -> None:
    body = json.dumps({"padding": "x" * resources.MAX_BODY_BYTES}).encode()
    for path in ("/v1/decisions", "/v1/applications", "/v1/eligibility"):
        response = api.post_raw(path, body, "application/json")
        assert response.status_code == 413, path
        assert response.json()["error"]["code"]


def test_cors_refused_for_origins_not_configured(stack: DevStack) -> None:
    # The stack runs without CORS_ALLOWED_ORIGINS: no origin is allowed.
    preflight = requests.options(
        f"{stack.api_url}/v1/decisions",
        headers={"Origin": "https://elsewhere.example.com", "Access-Control-Request-Method": "POST"},
        timeout=30,
    )
    assert preflight.status_code == 204
    assert not any(name.lower().startswith("access-control-") for name in preflight.headers)
    assert_security_headers(preflight)


def test_the_method_throttle_admits_at_most_burst_plus_rate(stack: DevStack) -> None:
    throttle = resources.METHOD_THROTTLES["/health/live/GET"]
    session = requests.Session()

    def call(_: int) -> requests.Response:
        return session.get(f"{stack.api_url}/health/live", timeout=30)

    # Rounds of concurrent requests until the bucket refuses some: a bucket refilling at its rate
    # cannot keep up with rounds of 4x its burst for long, however slow this machine is.
    responses: list[requests.Response] = []
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(25):
            responses += pool.map(call, range(4 * throttle.burst))
            if any(response.status_code == 429 for response in responses):
                break
    elapsed = time.monotonic() - started

    admitted = sum(response.status_code == 200 for response in responses)
    throttled = [response for response in responses if response.status_code == 429]
    assert admitted + len(throttled) == len(responses)
    assert throttled, f"{len(responses)} requests in {elapsed:.1f} s and none throttled"
    # A token bucket never admits more than its burst plus what it refilled meanwhile.
    assert admitted <= throttle.burst + throttle.rate_per_second * elapsed + 1
    for response in throttled:
        assert response.headers["Retry-After"] == str(resources.THROTTLED_RETRY_AFTER_SECONDS)
        expected = gateway_response_template(THROTTLED).replace(
            "$context.requestId", response.headers["X-Request-ID"]
        )
        assert response.json() == json.loads(expected)
        assert_security_headers(response)


def _wait_decided(api: ApiClient, status_url: str) -> dict[str, Any]:
    def settled() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(status_url).json()
        return None if body["status"] == "PENDING" else body

    # Generous: the worker imports the app and may wait for a loaded machine.
    return wait_until(settled, DECIDED_WITHIN_SECONDS, f"{status_url} to leave PENDING", interval=0.2)


def test_no_personal_data_in_process_output_or_stored_records(
    api: ApiClient, stack: DevStack, dynamodb: Any
) -> None:
    rows = applications(60, with_personal_data=False)[40:43]
    payloads = [{**row, **PERSONAL_DATA} for row in rows]
    decision = api.post("/v1/decisions", payloads[0])
    assert decision.status_code == 200, decision.text
    submitted = api.post("/v1/applications", payloads[1])
    assert submitted.status_code == 202, submitted.text
    rejected = api.post("/v1/decisions", {**payloads[2], "pan": "OVMPK4826", "age": "x"})
    assert rejected.status_code == 400
    assert leaked(rejected.text) == []
    assert _wait_decided(api, submitted.json()["status_url"])["status"] == "DECIDED"

    logs = ""
    for process in stack.processes():
        assert process.log_path is not None, "the fixture stack writes every child's output to a file"
        logs += process.log_path.read_text(errors="replace")
    assert decision.json()["decision_id"] in logs or decision.headers["X-Request-ID"] in logs
    assert leaked(logs) == [], "personal data in the output of a stack process"

    stored = ""
    for variable in ("DECISIONS_TABLE", "APPLICATIONS_TABLE", "DECISION_CACHE_TABLE", "IDEMPOTENCY_TABLE"):
        for page in dynamodb.get_paginator("scan").paginate(TableName=stack.names[variable]):
            stored += readable(page["Items"])  # every page: a Scan returns at most 1 MB
    assert leaked(stored) == [], "personal data stored in the clear"
    assert "OVMPK****T" in stored and "****-****-5064" in stored
    assert hash_identity("pan", PERSONAL_DATA["pan"]) in stored


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=%C2%B2", ["limit"]),  # superscript two: str.isdigit() says yes, int() says no
        ("limit=%E2%91%A0", ["limit"]),  # circled one
        ("limit=%D9%A5", ["limit"]),  # Arabic-Indic five, which int() reads as 5
        ("limit=%EF%BC%95", ["limit"]),  # full-width five
        ("limit=" + "5" * 4301, ["limit"]),  # past int()'s 4,300-digit limit
        ("status=", ["status"]),
        ("cursor=", ["cursor"]),
        ("page=2&status=DONE", ["page", "status"]),
    ],
)
def test_bad_query_strings_are_400_naming_each_parameter(
    api: ApiClient, query: str, named: list[str]
) -> None:
    """Through the real HTTP server: the bytes as a client sends them, never a 500 or Python's words."""
    response = api.get(f"/v1/applications?{query}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"]["code"] == "invalid_parameter"
    assert sorted(detail["field"] for detail in body["error"]["details"]) == sorted(named)
    assert "sys." not in response.text and "utf-8" not in response.text
    assert_security_headers(response)
