"""The DynamoDB and SQS implementations on moto in-process: keys from resources, exactly-once
recording of asynchronous decisions, outages as DependencyUnavailable."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib import engine, resources
from chalicelib.dal import CacheEntry, DependencyUnavailable
from chalicelib.records import AsyncDecision
from chalicelib.service.applications import pending_record
from chalicelib.service.decisions import decision_record
from chalicelib.service.worker import decision_id_for
from tests.support.aws import document, stage_store, unreachable_client
from tests.support.samples import application_row

CLIENT = "client-a"


def decided(application_id: str, decision: Any) -> AsyncDecision:
    return AsyncDecision(
        application_id=application_id,
        client_id=CLIENT,
        decision_id=decision_id_for(application_id),
        created_at="2026-12-01T00:00:00.000Z",
        decision=decision,
        applicant={"applicant_ref": "ref"},
        submitted_at="2026-12-01T00:00:00.000Z",
        expires_at=2_000_000_000,
        decision_version="v1",
        arm="champion",
    )


def pending(
    store: Any, application_id: str, client: str = CLIENT, submitted_at: str = "2026-12-01T00:00:00.000Z"
):
    application = engine.validate_application(application_row(0))
    record = pending_record(application_id, client, application, submitted_at, 86_400)
    store.create_pending_application(record)
    return record


class CallCounter:
    """Every DynamoDB operation the client sends (botocore's public event hooks)."""

    def __init__(self, client: Any) -> None:
        self.operations: list[str] = []
        client.meta.events.register("before-call.dynamodb.*", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.operations.append(model.name)


@pytest.fixture
def decision() -> Any:
    return engine.decide(engine.validate_application(application_row(0)), *engine.packaged_version())


def test_tables_are_keyed_as_resources_defines(aws):
    client = aws.aws_clients["dynamodb"]
    for spec in resources.TABLES:
        table = client.describe_table(TableName=resources.resource_name("local", spec.suffix))["Table"]
        expected = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        if spec.sort_key:
            expected.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        assert table["KeySchema"] == expected


def test_a_redelivered_decision_never_replaces_the_first(aws, decision):
    store = aws.store
    pending(store, "app-1")

    assert store.record_application_decision(decided("app-1", decision)) is True
    assert store.record_application_decision(decided("app-1", {**decision, "outcome": "other"})) is False

    status = store.get_application("app-1")
    assert status["status"] == "DECIDED" and status["decision"] == decision


def test_crash_between_the_two_writes_is_completed_with_the_first_decision(aws, decision):
    # The Lambda dies after the decision record and before PENDING -> DECIDED: simulated at the
    # HTTP boundary (a botocore hook), so the real store's code runs both times.
    store, client = aws.store, aws.aws_clients["dynamodb"]
    applications_table = aws.settings.applications_table
    pending(store, "app-2")
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
    assert document(logged["decision"]) == decision


def test_failed_only_from_pending(aws, decision):
    store = aws.store
    pending(store, "app-3")
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


def test_a_decision_and_its_cache_entry_are_one_request(aws, decision):
    counter = CallCounter(aws.aws_clients["dynamodb"])
    record = decision_record(
        "d-1", CLIENT, engine.validate_application(application_row(0)), decision, "sync", 86_400
    )

    aws.store.put_decision(record, CacheEntry("key-1", decision, 2**40))

    assert counter.operations == ["BatchWriteItem"]
    assert aws.store.get_decision("d-1")["decision"] == decision
    assert aws.store.get_cached_decision("key-1", 0) == decision


def test_lists_are_queries_on_the_client_index_newest_first_never_scans(aws, decision):
    cleaned = engine.validate_application(application_row(0))
    for n in range(5):
        for client in (CLIENT, "client-b"):
            record = decision_record(f"{client}-{n}", client, cleaned, decision, "sync", 86_400)
            record["created_at"] = f"2026-12-01T00:00:0{n}.000Z"
            aws.store.put_decision(record)
    counter = CallCounter(aws.aws_clients["dynamodb"])

    first, cursor = aws.store.query_decisions(CLIENT, None, ("0", "9"), 3, None)
    second, end = aws.store.query_decisions(CLIENT, None, ("0", "9"), 3, cursor)

    assert [r["decision_id"] for r in first + second] == [f"{CLIENT}-{n}" for n in (4, 3, 2, 1, 0)]
    assert end is None
    assert set(counter.operations) == {"Query"}
    by_outcome, _ = aws.store.query_decisions(
        CLIENT, decision["outcome"], ("2026-12-01T00:00:01", "2026-12-01T00:00:03"), 10, None
    )
    assert [r["decision_id"] for r in by_outcome] == [f"{CLIENT}-{n}" for n in (2, 1)]
    assert "Scan" not in counter.operations


def test_only_pending_applications_are_in_the_pending_index(aws, decision):
    store = aws.store
    pending(store, "p-old", submitted_at="2026-12-01T00:00:00.000Z")
    pending(store, "p-decided", submitted_at="2026-12-01T00:00:01.000Z")
    pending(store, "p-new", submitted_at="2026-12-01T09:00:00.000Z")
    store.record_application_decision(decided("p-decided", decision))

    stale = store.pending_applications(submitted_before="2026-12-01T01:00:00.000Z", limit=10)

    assert [record["application_id"] for record in stale] == ["p-old"]
    assert stale[0]["application"]["loan_amount"] == application_row(0)["loan_amount"]
    assert store.mark_requeued("p-old", "2026-12-01T02:00:00.000Z") is True
    assert store.mark_requeued("p-old", "2026-12-01T02:00:01.000Z") is False
    statuses, _ = store.query_applications(CLIENT, "DECIDED", 10, None)
    assert [record["application_id"] for record in statuses] == ["p-decided"]
