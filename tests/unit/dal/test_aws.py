"""The DynamoDB and SQS implementations on moto in-process: keys from resources, exactly-once
recording of asynchronous decisions, outages as DependencyUnavailable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import engine, resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.records import AsyncDecision
from chalicelib.service.worker import decision_id_for
from tests.support.aws import stage_store, unreachable_client
from tests.support.samples import application_row


def decided(application_id: str, decision: Any) -> AsyncDecision:
    return AsyncDecision(
        application_id=application_id,
        decision_id=decision_id_for(application_id),
        created_at="2026-12-01T00:00:00.000Z",
        decision=decision,
        applicant={"applicant_ref": "ref"},
        submitted_at="2026-12-01T00:00:00.000Z",
    )


@pytest.fixture
def decision() -> Any:
    return engine.decide(engine.validate_application(application_row(0)))


def test_tables_are_keyed_as_resources_defines(aws):
    client = aws.aws_clients["dynamodb"]
    for spec in resources.TABLES:
        table = client.describe_table(TableName=resources.resource_name("local", spec.suffix))["Table"]
        assert table["KeySchema"] == [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]


def test_a_redelivered_decision_never_replaces_the_first(aws, decision):
    store = aws.store
    store.create_pending_application("app-1", {"applicant_ref": "ref"}, "2026-12-01T00:00:00.000Z")

    assert store.record_application_decision(decided("app-1", decision)) is True
    assert store.record_application_decision(decided("app-1", {**decision, "outcome": "other"})) is False

    status = store.get_application("app-1")
    assert status["status"] == "DECIDED" and status["decision"] == decision


def test_crash_between_the_two_writes_is_completed_with_the_first_decision(aws, decision):
    # The Lambda dies after the decision record and before PENDING -> DECIDED: simulated at the
    # HTTP boundary (a botocore hook), so the real store's code runs both times.
    store, client = aws.store, aws.aws_clients["dynamodb"]
    applications_table = aws.settings.applications_table
    store.create_pending_application("app-2", {"applicant_ref": "ref"}, "2026-12-01T00:00:00.000Z")
    crashes = []

    def crash_once(params: dict[str, Any], **_: Any) -> None:
        if params.get("TableName") == applications_table and not crashes:
            crashes.append(1)
            raise EndpointConnectionError(endpoint_url="http://crashed")

    client.meta.events.register("before-parameter-build.dynamodb.PutItem", crash_once)
    try:
        with pytest.raises(DependencyUnavailable):
            store.record_application_decision(decided("app-2", decision))
        assert store.get_application("app-2")["status"] == "PENDING"
        # Redelivered after a new model was deployed: the application still gets the FIRST decision.
        assert store.record_application_decision(decided("app-2", {**decision, "outcome": "other-model"}))
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.PutItem", crash_once)

    final = store.get_application("app-2")
    assert final["status"] == "DECIDED"
    assert final["decision"] == decision
    logged = client.get_item(
        TableName=aws.settings.decisions_table, Key={"decision_id": {"S": decision_id_for("app-2")}}
    )["Item"]
    assert json.loads(logged["decision"]["S"]) == decision


def test_failed_only_from_pending(aws, decision):
    store = aws.store
    store.create_pending_application("app-3", {}, "2026-12-01T00:00:00.000Z")
    assert store.mark_application_failed("app-3", "poison", "2026-12-01T00:00:01.000Z") is True
    assert store.mark_application_failed("app-3", "poison", "2026-12-01T00:00:02.000Z") is False
    assert store.record_application_decision(decided("app-3", decision)) is False
    assert store.get_application("app-3")["failure"] == "poison"


def test_an_unreachable_endpoint_is_dependency_unavailable(aws):
    store = stage_store(unreachable_client("dynamodb"))
    with pytest.raises(DependencyUnavailable) as raised:
        store.get_application("app-4")
    assert raised.value.dependency == "dynamodb"
    assert all(not check.ok for check in store.check())
