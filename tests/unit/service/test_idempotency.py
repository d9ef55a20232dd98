"""Idempotency-Key on POST /v1/decisions and POST /v1/applications (Powertools Idempotency).

Every test runs twice: on the in-memory twin (``devstack.in_memory``) and on moto's DynamoDB
through Powertools' real ``DynamoDBPersistenceLayer``, so the twin cannot drift from DynamoDB's
semantics.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import engine
from tests.support.http import assert_error_shape, post_json


class Twin:
    """What a test needs to see and break, the same way on either twin."""

    def __init__(self, dependencies: Any) -> None:
        self.dependencies = dependencies
        self.is_memory = hasattr(dependencies, "memory_store")

    def queued_count(self) -> int:
        return self.dependencies.queue.depth()["visible"]

    def count(self, table: str) -> int:
        if self.is_memory:
            return len(getattr(self.dependencies.memory_store, table))
        name = getattr(self.dependencies.settings, f"{table}_table")
        return len(self.dependencies.aws_clients["dynamodb"].scan(TableName=name)["Items"])

    def idempotency_store_down(self) -> None:
        if self.is_memory:
            self.dependencies.memory_idempotency.unavailable = True
        else:
            client = self.dependencies.aws_clients["dynamodb"]
            client.delete_table(TableName=self.dependencies.settings.idempotency_table)

    def success_not_saved(self) -> None:
        """Saving the finished response fails (after the operation ran)."""
        if self.is_memory:
            self.dependencies.memory_idempotency.fail_updates = True
            return
        table = self.dependencies.settings.idempotency_table

        def fail_update(params: dict[str, Any], **_: Any) -> None:
            if params.get("TableName") == table:
                raise EndpointConnectionError(endpoint_url="http://gone")

        self.dependencies.aws_clients["dynamodb"].meta.events.register(
            "before-parameter-build.dynamodb.UpdateItem", fail_update
        )


@pytest.fixture(params=["memory", "aws"])
def twin(request: pytest.FixtureRequest) -> Iterator[Twin]:
    yield Twin(request.getfixturevalue(request.param))


@pytest.fixture
def client(twin: Twin) -> Iterator[Any]:
    from chalice.test import Client

    from app import app
    from tests.conftest import PROJECT_DIR, UNIT_STAGE

    with Client(app, stage_name=UNIT_STAGE, project_dir=str(PROJECT_DIR)) as client:
        yield client


def test_same_key_and_body_replays_the_first_decision(twin, client, application):
    headers = {"Idempotency-Key": "decision-key-1"}
    first = post_json(client, "/v1/decisions", application, headers)
    second = post_json(client, "/v1/decisions", application, headers)

    assert first.status_code == second.status_code == 200
    assert json.loads(second.body) == json.loads(first.body)
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]
    assert twin.count("decisions") == 1


def test_same_key_and_body_submits_one_application(twin, client, application):
    headers = {"Idempotency-Key": "submit-key-1"}
    first = post_json(client, "/v1/applications", application, headers)
    second = post_json(client, "/v1/applications", application, headers)

    assert first.status_code == second.status_code == 202
    assert json.loads(second.body)["application_id"] == json.loads(first.body)["application_id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert twin.queued_count() == 1
    assert twin.count("applications") == 1


def test_different_keys_are_different_requests(twin, client, application):
    first = post_json(client, "/v1/applications", application, {"Idempotency-Key": "a"})
    second = post_json(client, "/v1/applications", application, {"Idempotency-Key": "b"})
    assert json.loads(first.body)["application_id"] != json.loads(second.body)["application_id"]
    assert twin.queued_count() == 2


def test_same_key_on_another_route_is_another_request(client, application):
    key = {"Idempotency-Key": "shared-key"}
    assert post_json(client, "/v1/decisions", application, key).status_code == 200
    assert post_json(client, "/v1/applications", application, key).status_code == 202


def test_same_key_with_a_different_body_is_422(twin, client, application, other_application):
    headers = {"Idempotency-Key": "reused-key"}
    assert post_json(client, "/v1/applications", application, headers).status_code == 202

    response = post_json(client, "/v1/applications", other_application, headers)

    body = assert_error_shape(response, 422, "idempotency_key_reused")
    assert body["error"]["details"][0]["field"] == "Idempotency-Key"
    assert twin.queued_count() == 1


def test_duplicate_in_flight_is_409(client, application, monkeypatch):
    headers = {"Idempotency-Key": "in-flight-key"}
    nested: list = []
    real_decide = engine.decide

    def decide_while_a_duplicate_arrives(cleaned, *version):
        # The duplicate arrives while the first request is still being decided.
        if not nested:
            nested.append(post_json(client, "/v1/decisions", application, headers))
        return real_decide(cleaned, *version)

    monkeypatch.setattr(engine, "decide", decide_while_a_duplicate_arrives)

    first = post_json(client, "/v1/decisions", application, headers)

    assert first.status_code == 200
    [duplicate] = nested
    assert_error_shape(duplicate, 409, "idempotency_key_in_progress")
    assert duplicate.headers["Retry-After"]
    # Once the first has finished, the same request replays it.
    replay = post_json(client, "/v1/decisions", application, headers)
    assert json.loads(replay.body) == json.loads(first.body)


def test_an_error_is_not_remembered(client, application):
    headers = {"Idempotency-Key": "fix-and-retry"}
    invalid = post_json(client, "/v1/applications", {**application, "age": "x"}, headers)
    assert invalid.status_code == 400
    # The key was released: a corrected body with the same key is accepted, not a 422.
    assert post_json(client, "/v1/applications", application, headers).status_code == 202


def test_blank_key_is_400(client, application):
    response = post_json(client, "/v1/decisions", application, {"Idempotency-Key": "   "})
    assert_error_shape(response, 400, "invalid_idempotency_key")


def test_idempotency_store_down_decision_still_answers_submit_is_503(twin, client, application):
    twin.idempotency_store_down()
    headers = {"Idempotency-Key": "store-down"}

    decision = post_json(client, "/v1/decisions", application, headers)
    submit = post_json(client, "/v1/applications", application, headers)

    assert decision.status_code == 200
    assert json.loads(decision.body)["outcome"] in {"approved", "manual_review", "declined"}
    assert_error_shape(submit, 503, "dependency_unavailable")
    assert twin.queued_count() == 0


def test_success_not_saved_after_the_submit_ran_answers_once_without_a_duplicate(twin, client, application):
    # Powertools raises IdempotencyPersistenceLayerError when saving the finished response fails,
    # the same error as when the store is unreachable before the operation runs.
    twin.success_not_saved()
    headers = {"Idempotency-Key": "saved-late-key"}

    first = post_json(client, "/v1/applications", application, headers)
    retry = post_json(client, "/v1/applications", application, headers)

    assert first.status_code == 202
    assert json.loads(first.body)["application_id"]
    # The key was left in progress: the retry is told to wait, it does not queue a second copy.
    assert_error_shape(retry, 409, "idempotency_key_in_progress")
    assert twin.queued_count() == 1
    assert twin.count("applications") == 1


def test_an_invalid_body_is_refused_before_the_idempotency_store_is_asked(twin, client, application):
    """A body the API refuses costs no idempotency record (no put, no delete): with the store down,
    it is still the 400 naming the field, on both routes (submit would otherwise be a 503)."""
    twin.idempotency_store_down()
    headers = {"Idempotency-Key": "invalid-body"}
    for path in ("/v1/decisions", "/v1/applications"):
        response = post_json(client, path, {**application, "age": "x"}, headers)
        body = assert_error_shape(response, 400, "validation_failed")
        assert [detail["field"] for detail in body["error"]["details"]] == ["age"], body
    assert twin.queued_count() == 0
