"""Assertions shared by the edge tests (security headers) and the gateway-emulation tests."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.http.gateway_responses import gateway_response_template
from chalicelib.http.headers import SECURITY_HEADERS


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def assert_security_headers(response: Any, cache_control: str = "no-store") -> None:
    for name, value in SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert response.headers[name] == value, name
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["Cache-Control"] == cache_control


def assert_gateway_answer(response: Any, spec: Any) -> None:
    """Status, headers and body exactly as the production gateway response would give them."""
    assert response.status_code == spec.status_code
    body = json.loads(response.body)
    request_id = response.headers["X-Request-ID"]
    production_body = json.loads(gateway_response_template(spec).replace("$context.requestId", request_id))
    assert body == production_body
    if spec.retry_after_seconds is not None:
        assert response.headers["Retry-After"] == str(spec.retry_after_seconds)
    assert_security_headers(response)
