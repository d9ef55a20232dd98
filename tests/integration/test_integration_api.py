"""The synchronous API over HTTP against ``chalice local`` backed by a moto server process."""

from __future__ import annotations

from typing import Any

import pytest

from devstack.client import ApiClient
from devstack.samples import applications
from devstack.stack import DevStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def payloads() -> list[dict[str, Any]]:
    # Distinct rows: each test gets applications no other test has decided (the cache is shared).
    # Not row 0: it is the OpenAPI document's example, which schemathesis' examples phase sends.
    return applications(21)[1:]


def test_a_synchronous_decision(api: ApiClient, payloads: list[dict[str, Any]]) -> None:
    response = api.post("/v1/decisions", payloads[0])

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["outcome"] in {"approved", "manual_review", "declined"}
    assert 0.0 <= body["probability"] <= 1.0
    assert body["decision_id"]
    assert body["model_version"]
    assert body["cached"] is False
    assert response.headers["X-Request-ID"]


def test_a_repeat_is_served_from_the_cache(api: ApiClient, payloads: list[dict[str, Any]]) -> None:
    first = api.post("/v1/decisions", payloads[1])
    repeat = api.post("/v1/decisions", payloads[1])

    assert first.status_code == repeat.status_code == 200
    assert first.json()["cached"] is False
    assert repeat.json()["cached"] is True
    assert repeat.json()["decision_id"] != first.json()["decision_id"]
    same_decision = ("outcome", "probability", "risk_band", "model_version")
    assert {k: repeat.json()[k] for k in same_decision} == {k: first.json()[k] for k in same_decision}


def test_the_decision_is_stored(
    api: ApiClient, payloads: list[dict[str, Any]], dynamodb: Any, stack: DevStack
) -> None:
    decision_id = api.post("/v1/decisions", payloads[2]).json()["decision_id"]

    item = dynamodb.get_item(
        TableName=stack.names["DECISIONS_TABLE"], Key={"decision_id": {"S": decision_id}}, ConsistentRead=True
    ).get("Item")
    assert item is not None
    # Personal data never stored in the clear.
    assert payloads[2]["applicant_name"] not in str(item)


def test_invalid_fields_are_each_named_in_a_400(api: ApiClient, payloads: list[dict[str, Any]]) -> None:
    invalid = dict(payloads[3], cibil_score=5000, age="forty", favourite_colour="blue")
    del invalid["loan_amount"]

    for path in ("/v1/decisions", "/v1/applications"):
        response = api.post(path, invalid)

        assert response.status_code == 400, response.text
        body = response.json()
        named = {detail["field"] for detail in body["error"]["details"]}
        assert {"cibil_score", "age", "favourite_colour", "loan_amount"} <= named
        assert all(detail["problem"] for detail in body["error"]["details"])
        assert body["request_id"]


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2, 3]", "application/json", 400),
        (b"age=40", "application/x-www-form-urlencoded", 415),
    ],
)
def test_bad_bodies_get_the_error_shape(api: ApiClient, body: bytes, content_type: str, status: int) -> None:
    response = api.post_raw("/v1/decisions", body, content_type)

    assert response.status_code == status, response.text
    assert set(response.json()) == {"error", "request_id"}
    assert response.json()["error"]["code"]


def test_unknown_application_is_404(api: ApiClient) -> None:
    response = api.get("/v1/applications/00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_readiness_says_every_kind_of_dependency_and_only_detailed_health_names_them(
    api: ApiClient, stack: DevStack
) -> None:
    response = api.get("/health/ready")

    assert response.status_code == 200, response.text
    assert [check["name"] for check in response.json()["checks"]] == ["dynamodb", "sqs"]
    assert stack.names["APPLICATIONS_TABLE"] not in response.text
    detailed = {check["name"] for check in api.get("/health/detailed").json()["dependencies"]}
    assert f"sqs:{stack.names['APPLICATIONS_QUEUE']}" in detailed
    assert f"dynamodb:{stack.names['APPLICATIONS_TABLE']}" in detailed
