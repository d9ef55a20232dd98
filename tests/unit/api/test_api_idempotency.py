"""Idempotency-Key on POST /v1/decisions and POST /v1/applications (Powertools, DynamoDB store)."""

from __future__ import annotations

import json

from api_test_support import post_json
from test_api_decisions import assert_error_shape

from chalicelib import engine
from chalicelib.config import get_settings
from chalicelib.dal.clients import dynamodb_client, sqs_client


def queued_count() -> int:
    url = sqs_client().get_queue_url(QueueName=get_settings().applications_queue)["QueueUrl"]
    names = ["ApproximateNumberOfMessages"]
    return int(sqs_client().get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"][names[0]])


def test_same_key_and_body_replays_the_first_decision(chalice_client, application):
    headers = {"Idempotency-Key": "decision-key-1"}
    first = post_json(chalice_client, "/v1/decisions", application, headers)
    second = post_json(chalice_client, "/v1/decisions", application, headers)

    assert first.status_code == second.status_code == 200
    assert json.loads(second.body) == json.loads(first.body)
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    decisions = dynamodb_client().scan(TableName=get_settings().decisions_table)["Items"]
    assert len(decisions) == 1


def test_same_key_and_body_submits_one_application(chalice_client, application):
    headers = {"Idempotency-Key": "submit-key-1"}
    first = post_json(chalice_client, "/v1/applications", application, headers)
    second = post_json(chalice_client, "/v1/applications", application, headers)

    assert first.status_code == second.status_code == 202
    assert json.loads(second.body)["application_id"] == json.loads(first.body)["application_id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert queued_count() == 1
    assert len(dynamodb_client().scan(TableName=get_settings().applications_table)["Items"]) == 1


def test_different_keys_are_different_requests(chalice_client, application):
    first = post_json(chalice_client, "/v1/applications", application, {"Idempotency-Key": "a"})
    second = post_json(chalice_client, "/v1/applications", application, {"Idempotency-Key": "b"})
    assert json.loads(first.body)["application_id"] != json.loads(second.body)["application_id"]
    assert queued_count() == 2


def test_same_key_on_another_route_is_another_request(chalice_client, application):
    key = {"Idempotency-Key": "shared-key"}
    assert post_json(chalice_client, "/v1/decisions", application, key).status_code == 200
    assert post_json(chalice_client, "/v1/applications", application, key).status_code == 202


def test_same_key_with_a_different_body_is_422(chalice_client, application, other_application):
    headers = {"Idempotency-Key": "reused-key"}
    assert post_json(chalice_client, "/v1/applications", application, headers).status_code == 202

    response = post_json(chalice_client, "/v1/applications", other_application, headers)

    body = assert_error_shape(response, 422, "idempotency_key_reused")
    assert body["error"]["details"][0]["field"] == "Idempotency-Key"
    assert queued_count() == 1


def test_duplicate_in_flight_is_409(chalice_client, application, monkeypatch):
    headers = {"Idempotency-Key": "in-flight-key"}
    nested: list = []
    real_decide = engine.decide

    def decide_while_a_duplicate_arrives(cleaned):
        # The duplicate arrives while the first request is still being decided.
        if not nested:
            nested.append(post_json(chalice_client, "/v1/decisions", application, headers))
        return real_decide(cleaned)

    monkeypatch.setattr(engine, "decide", decide_while_a_duplicate_arrives)

    first = post_json(chalice_client, "/v1/decisions", application, headers)

    assert first.status_code == 200
    [duplicate] = nested
    assert_error_shape(duplicate, 409, "idempotency_key_in_progress")
    assert duplicate.headers["Retry-After"]
    # Once the first has finished, the same request replays it.
    replay = post_json(chalice_client, "/v1/decisions", application, headers)
    assert json.loads(replay.body) == json.loads(first.body)


def test_an_error_is_not_remembered(chalice_client, application):
    headers = {"Idempotency-Key": "fix-and-retry"}
    invalid = post_json(chalice_client, "/v1/applications", {**application, "age": "x"}, headers)
    assert invalid.status_code == 400
    # The key was released: a corrected body with the same key is accepted, not a 422.
    assert post_json(chalice_client, "/v1/applications", application, headers).status_code == 202


def test_blank_key_is_400(chalice_client, application):
    response = post_json(chalice_client, "/v1/decisions", application, {"Idempotency-Key": "   "})
    assert_error_shape(response, 400, "invalid_idempotency_key")


def test_idempotency_store_down_decision_still_answers_submit_is_503(chalice_client, application):
    dynamodb_client().delete_table(TableName=get_settings().idempotency_table)
    headers = {"Idempotency-Key": "store-down"}

    decision = post_json(chalice_client, "/v1/decisions", application, headers)
    submit = post_json(chalice_client, "/v1/applications", application, headers)

    assert decision.status_code == 200
    assert json.loads(decision.body)["outcome"] in {"approved", "manual_review", "declined"}
    assert_error_shape(submit, 503, "dependency_unavailable")
    assert queued_count() == 0


def test_success_not_saved_after_the_submit_ran_answers_once_without_a_duplicate(
    chalice_client, application, monkeypatch
):
    # Powertools raises IdempotencyPersistenceLayerError when saving the finished response fails,
    # the same error as when the store is unreachable before the operation runs.
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    def fail_to_save(self, data_record):
        raise RuntimeError("DynamoDB went away after the operation ran")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "_update_record", fail_to_save)
    headers = {"Idempotency-Key": "saved-late-key"}

    first = post_json(chalice_client, "/v1/applications", application, headers)
    retry = post_json(chalice_client, "/v1/applications", application, headers)

    assert first.status_code == 202
    assert json.loads(first.body)["application_id"]
    # The key was left in progress: the retry is told to wait, it does not queue a second copy.
    assert_error_shape(retry, 409, "idempotency_key_in_progress")
    assert queued_count() == 1
    assert len(dynamodb_client().scan(TableName=get_settings().applications_table)["Items"]) == 1
