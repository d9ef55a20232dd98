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


def proxy_event(
    method: str,
    path: str,
    resource: str,
    body: Any = None,
    *,
    path_parameters: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
    api_key_id: str | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as Lambda receives it, with what the gateway adds: the
    Cognito authorizer's verified ``claims`` on staff routes, the API key's id on client routes."""
    import uuid

    identity: dict[str, Any] = {"sourceIp": "203.0.113.9"}
    if api_key_id is not None:
        identity["apiKeyId"] = api_key_id
    context: dict[str, Any] = {
        "resourcePath": resource,
        "httpMethod": method,
        "path": f"/api{path}",
        "stage": "api",
        "requestId": str(uuid.uuid4()),
        "identity": identity,
    }
    if claims is not None:
        context["authorizer"] = {"claims": claims}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()}
        if query
        else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": context,
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def resolve_ref(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with its local ``$ref`` chain followed inside the OpenAPI ``document``."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node
