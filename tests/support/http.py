"""HTTP helpers for in-process tests (chalice.test.Client): JSON posts, a sample application."""

from __future__ import annotations

import json
from typing import Any

from tests.support.samples import application_row


def sample_application(row: int = 0) -> dict[str, Any]:
    """One row of the data file as an API payload (label dropped, no personal fields)."""
    return {name: value for name, value in application_row(row).items() if name != "applicant_name"}


def post_json(client: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, headers={"Content-Type": "application/json", **(headers or {})}, body=json.dumps(body)
    )


def body_of(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.body))


def assert_error_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    """The one error shape (chalicelib.errors) with this status and code; returns the body."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    body = body_of(response)
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert response.headers["X-Request-ID"] == body["request_id"]
    return body
