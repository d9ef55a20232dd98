"""POST /v1/applications and GET /v1/applications/{id}, including SQS and DynamoDB outages."""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalicelib import resources
from chalicelib.http.applications import status_path
from tests.support.http import assert_error_shape, post_json


def queued_bodies(memory: Any) -> list[dict]:
    return [json.loads(body) for _, body in memory.memory_queue.messages]


def test_submit_is_202_then_status_is_pending(chalice_client, application):
    response = post_json(chalice_client, "/v1/applications", application)

    assert response.status_code == 202
    body = json.loads(response.body)
    application_id = body["application_id"]
    assert body["status"] == "PENDING"
    assert body["status_url"] == f"/v1/applications/{application_id}"
    assert response.headers["Location"] == body["status_url"]

    status = chalice_client.http.get(body["status_url"])
    assert status.status_code == 200
    status_body = json.loads(status.body)
    assert status_body["application_id"] == application_id
    assert status_body["status"] == "PENDING"
    assert "decision" not in status_body


def test_queued_message_carries_no_personal_data(chalice_client, memory, application):
    post_json(chalice_client, "/v1/applications", application)

    [message] = queued_bodies(memory)
    assert application["applicant_name"] not in json.dumps(message)
    assert message["applicant"]["applicant_ref"]
    assert set(message["application"]).isdisjoint({"applicant_name", "applicant_id", "pan", "aadhaar"})
    [item] = memory.memory_store.applications.values()
    assert application["applicant_name"] not in json.dumps(item)


def test_unknown_application_is_404(chalice_client):
    assert_error_shape(chalice_client.http.get(f"/v1/applications/{uuid.uuid4()}"), 404, "not_found")


def test_malformed_or_oversized_application_id_is_404_not_5xx(chalice_client):
    for application_id in ("no-such-id", "x" * 3000, "%00"):
        assert_error_shape(chalice_client.http.get(f"/v1/applications/{application_id}"), 404, "not_found")


def test_invalid_submit_is_400_and_writes_nothing(chalice_client, memory, application):
    payload = {**application, "loan_amount": -5}
    body = assert_error_shape(
        post_json(chalice_client, "/v1/applications", payload), 400, "validation_failed"
    )
    assert [detail["field"] for detail in body["error"]["details"]] == ["loan_amount"]
    assert memory.memory_store.applications == {}
    assert queued_bodies(memory) == []


def test_sqs_down_is_503_with_retry_after_and_no_pending_record(chalice_client, memory, application):
    memory.outages.fail("sqs")

    response = post_json(chalice_client, "/v1/applications", application)

    body = assert_error_shape(response, 503, "dependency_unavailable")
    assert response.headers["Retry-After"] == str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)
    assert body["error"]["details"] == [{"field": "sqs", "problem": "unavailable"}]
    assert memory.memory_store.applications == {}


def test_dynamodb_down_is_503_and_nothing_is_queued(chalice_client, memory, application):
    memory.outages.fail("dynamodb")

    response = post_json(chalice_client, "/v1/applications", application)

    body = assert_error_shape(response, 503, "dependency_unavailable")
    assert response.headers["Retry-After"] == str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)
    assert body["error"]["details"][0]["field"] == "dynamodb"
    assert queued_bodies(memory) == []


def test_status_while_dynamodb_is_down_is_503_with_retry_after(chalice_client, memory, application):
    submitted = post_json(chalice_client, "/v1/applications", application)
    application_id = json.loads(submitted.body)["application_id"]
    memory.outages.fail("dynamodb")

    response = chalice_client.http.get(f"/v1/applications/{application_id}")

    body = assert_error_shape(response, 503, "dependency_unavailable")
    assert response.headers["Retry-After"] == str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)
    assert body["error"]["details"] == [{"field": "dynamodb", "problem": "unavailable"}]


def test_status_url_keeps_the_gateway_stage_prefix():
    from chalice.app import Request

    event = {
        "multiValueQueryStringParameters": None,
        "headers": {},
        "pathParameters": None,
        "requestContext": {
            "httpMethod": "POST",
            "resourcePath": "/v1/applications",
            "path": "/api/v1/applications",
        },
        "body": None,
        "stageVariables": None,
    }
    assert status_path(Request(event), "abc") == "/api/v1/applications/abc"
