"""Loan outcomes and the monitoring read path in both stores: DynamoDB (moto in-process, the real
index and conditional updates) and the in-memory twin, held to the same results."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
import uuid
from typing import Any

import pytest

from chalicelib import engine, resources
from chalicelib.dal.outcomes import business_days_after, day_partition, day_partitions, monitoring_document
from chalicelib.engine.features import model_features
from chalicelib.records import DecisionRecord, FinalRecord
from chalicelib.service import reviews
from chalicelib.service.decisions import decision_record
from chalicelib.service.decisions import validated_application as validated
from tests.support.samples import application_row


@pytest.fixture(params=["aws", "memory"])
def deps(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(request.param)


def stored(deps: Any, row: int, created_at: str, client_id: str = "client-a") -> DecisionRecord:
    application = validated(application_row(row))
    decision = engine.decide(application, *engine.packaged_version())
    record = decision_record(str(uuid.uuid4()), client_id, application, decision, "sync", 86_400)
    record["created_at"] = created_at
    deps.store.put_decision(record)
    return record


def test_outcomes_are_recorded_replayed_and_superseded_only_by_a_later_as_of(deps):
    record = stored(deps, 0, "2026-11-01T10:00:00.000Z")
    decision_id, outcomes = record["decision_id"], deps.outcomes

    first = outcomes.record_outcome(decision_id, {"status": "current", "as_of": "2026-11-20"})
    replay = outcomes.record_outcome(decision_id, {"status": "current", "as_of": "2026-11-20"})
    later = outcomes.record_outcome(decision_id, {"status": "dpd30", "as_of": "2026-12-01"})
    older = outcomes.record_outcome(decision_id, {"status": "current", "as_of": "2026-11-25"})

    assert (first.created, replay.created, later.created, older.created) == (True, False, True, True)
    assert replay.latest == {"status": "current", "as_of": "2026-11-20"}
    assert older.latest == later.latest == {"status": "dpd30", "as_of": "2026-12-01"}
    assert deps.store.get_decision(decision_id)["loan_outcome"] == {"status": "dpd30", "as_of": "2026-12-01"}
    assert outcomes.outcome_history(decision_id) == [
        {"status": "current", "as_of": "2026-11-20"},
        {"status": "current", "as_of": "2026-11-25"},
        {"status": "dpd30", "as_of": "2026-12-01"},
    ]


def test_a_decision_that_does_not_exist_gets_nothing(deps):
    missing = str(uuid.uuid4())
    recorded = deps.outcomes.record_outcome(missing, {"status": "current", "as_of": "2026-11-20"})

    assert recorded.latest is None
    assert recorded.created is False
    assert deps.store.get_decision(missing) is None  # no item made by the update


def test_any_arrival_order_settles_on_the_latest_as_of(deps):
    outcomes = [
        {"status": "current", "as_of": "2026-11-10"},
        {"status": "dpd30", "as_of": "2026-11-20"},
        {"status": "dpd60", "as_of": "2026-11-30"},
    ]
    for order in itertools.permutations(outcomes):
        record = stored(deps, 1, "2026-11-01T10:00:00.000Z")
        for outcome in order:
            deps.outcomes.record_outcome(record["decision_id"], outcome)
        assert deps.store.get_decision(record["decision_id"])["loan_outcome"] == outcomes[-1], order
        assert len(deps.outcomes.outcome_history(record["decision_id"])) == 3


def test_concurrent_outcomes_on_the_twin_settle_on_the_latest_as_of(memory):
    record = stored(memory, 2, "2026-10-01T10:00:00.000Z")
    days = [f"2026-11-{day:02d}" for day in range(1, 29)]
    random.Random(7).shuffle(days)
    barrier = threading.Barrier(len(days))

    def report(day: str) -> None:
        barrier.wait()
        memory.outcomes.record_outcome(record["decision_id"], {"status": "current", "as_of": day})

    threads = [threading.Thread(target=report, args=(day,)) for day in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert memory.store.get_decision(record["decision_id"])["loan_outcome"]["as_of"] == "2026-11-28"
    assert len(memory.outcomes.outcome_history(record["decision_id"])) == 28


def test_the_monitoring_document_has_the_models_characteristics_and_no_identifier():
    application = validated(application_row(3))
    decision = engine.decide(application, *engine.packaged_version())
    record = decision_record(str(uuid.uuid4()), "client-a", application, decision, "sync", 86_400)

    document = monitoring_document(record)

    factors = [contribution["factor"] for contribution in decision["contributions"]]
    features = model_features(application)
    assert document["characteristics"] == {name: features[name] for name in factors}
    assert document["gender"] == application_row(3)["gender"]
    assert document["age"] == application_row(3)["age"]
    assert document["model_probability"] == decision["model_probability"]
    assert document["reason_codes"] == [reason["code"] for reason in decision["reasons"]]
    text = repr(document)
    for field in ("applicant_name", "applicant_id", "pan", "aadhaar", "phone", "email", "city"):
        assert field not in text
        value = application_row(3).get(field)
        assert value is None or str(value) not in text


def test_the_window_is_read_by_day_partitions_start_inclusive_end_exclusive(deps):
    inside = [
        stored(deps, 0, "2026-11-02T00:00:00.000Z", "client-a"),
        stored(deps, 1, "2026-11-02T23:59:59.999Z", "client-b"),
        stored(deps, 2, "2026-11-03T12:00:00.000Z", "client-a"),
    ]
    stored(deps, 3, "2026-11-01T23:59:59.999Z")  # before
    stored(deps, 4, "2026-11-04T00:00:00.000Z")  # the end itself: outside

    found = list(deps.outcomes.iter_monitored("2026-11-02T00:00:00.000Z", "2026-11-04T00:00:00.000Z"))

    assert sorted(d.decision_id for d in found) == sorted(r["decision_id"] for r in inside)
    by_id = {d.decision_id: d for d in found}
    for record in inside:
        monitored = by_id[record["decision_id"]]
        decision = record["decision"]
        assert monitored.client_id == record["client_id"]
        assert monitored.created_at == record["created_at"]
        assert (monitored.decision_version, monitored.arm) == ("v1", "champion")
        assert monitored.outcome == decision["outcome"]
        assert monitored.decided_by == decision["decided_by"]
        assert monitored.probability == decision["model_probability"]
        assert monitored.reason_codes == tuple(reason["code"] for reason in decision["reasons"])
        assert monitored.characteristics == monitoring_document(record)["characteristics"]
        assert monitored.gender == record["applicant"]["gender"]
        assert monitored.age == record["applicant"]["age"]
        assert (monitored.final_outcome, monitored.loan_status) == (None, None)


def test_the_reviewers_outcome_the_sla_and_the_latest_loan_outcome_are_read_without_a_join(deps):
    # Rows deciding manual_review with the packaged version (found once, by deciding).
    rows = [
        row
        for row in range(200)
        if engine.decide(validated(application_row(row)), *engine.packaged_version())["outcome"]
        == "manual_review"
    ][:3]
    assert len(rows) == 3
    created = "2026-11-02T10:00:00.000Z"  # a Monday: due two business days later
    on_time, late, open_case = (stored(deps, row, created) for row in rows)
    due = business_days_after(created, deps.settings.review_sla_business_days)

    def close(record: DecisionRecord, at: dt.datetime) -> None:
        final: FinalRecord = {
            "final_outcome": "approved",
            "final_decided_by": "reviewer",
            "final_reason_codes": [],
            "final_decided_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        deps.store.set_final_outcome(record["decision_id"], None, final)

    close(on_time, due - dt.timedelta(hours=1))
    close(late, due + dt.timedelta(hours=1))
    deps.outcomes.record_outcome(late["decision_id"], {"status": "default", "as_of": "2026-12-01"})

    found = {
        d.decision_id: d
        for d in deps.outcomes.iter_monitored("2026-11-02T00:00:00.000Z", "2026-11-03T00:00:00.000Z")
    }

    assert found[on_time["decision_id"]].final_outcome == "approved"
    assert found[on_time["decision_id"]].review_sla_breached is False
    assert found[late["decision_id"]].review_sla_breached is True
    assert found[late["decision_id"]].loan_status == "default"
    assert found[open_case["decision_id"]].final_outcome is None
    assert found[open_case["decision_id"]].review_sla_breached is True  # still open, long past due


def test_the_dynamodb_read_path_is_queries_on_the_day_index_never_a_scan(aws):
    for row in range(6):
        stored(aws, row, f"2026-11-0{1 + row % 3}T08:00:00.000Z")
    client = aws.aws_clients["dynamodb"]
    calls: list[tuple[str, dict[str, Any]]] = []

    def seen(event_name: str, params: dict[str, Any], **_: Any) -> None:
        calls.append((event_name.rsplit(".", 1)[-1], params))

    client.meta.events.register("provide-client-params.dynamodb.*", seen)
    try:
        found = list(aws.outcomes.iter_monitored("2026-11-01T00:00:00.000Z", "2026-11-04T00:00:00.000Z"))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", seen)

    assert len(found) == 6
    assert {name for name, _ in calls} == {"Query"}
    assert {params["IndexName"] for _, params in calls} == {resources.DECISIONS_BY_DAY.name}
    assert len(calls) == 4 * resources.MONITORING_DAY_SHARDS  # 01, 02, 03 and the end's day


def test_items_from_before_the_index_are_not_read(aws):
    record = stored(aws, 0, "2026-11-02T08:00:00.000Z")
    client = aws.aws_clients["dynamodb"]
    client.update_item(
        TableName=aws.settings.decisions_table,
        Key={"decision_id": {"S": record["decision_id"]}},
        UpdateExpression="REMOVE monitor_day, monitoring",
    )

    assert list(aws.outcomes.iter_monitored("2026-11-02T00:00:00.000Z", "2026-11-03T00:00:00.000Z")) == []
    assert aws.store.get_decision(record["decision_id"])["decision_id"] == record["decision_id"]


def test_a_day_spreads_over_every_shard_and_the_window_names_each_once():
    shards = {day_partition(str(uuid.uuid4()), "2026-11-02T08:00:00.000Z") for _ in range(200)}
    assert shards == {f"2026-11-02#{shard}" for shard in range(resources.MONITORING_DAY_SHARDS)}
    partitions = day_partitions("2026-11-30T00:00:00.000Z", "2026-12-02T00:00:00.000Z")
    assert len(partitions) == len(set(partitions)) == 3 * resources.MONITORING_DAY_SHARDS
    assert partitions[0] == "2026-11-30#0" and partitions[-1].startswith("2026-12-02#")


@pytest.mark.parametrize("business_days", [0, 1, 2, 5, 7])
def test_the_due_time_is_the_review_desks(business_days):
    start = dt.datetime(2026, 11, 1, 9, 30, tzinfo=dt.UTC)
    for hours in range(0, 24 * 14, 7):
        opened = (start + dt.timedelta(hours=hours)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        assert business_days_after(opened, business_days) == dt.datetime.fromisoformat(
            reviews.due_at(opened, business_days).replace("Z", "+00:00")
        )


def test_every_page_of_a_partition_is_read(aws):
    records = [stored(aws, row, f"2026-11-02T08:{row:02d}:00.000Z") for row in range(12)]
    client = aws.aws_clients["dynamodb"]
    queries: list[dict[str, Any]] = []

    def small_pages(params: dict[str, Any], **_: Any) -> None:
        params["Limit"] = 2  # as if each page had reached DynamoDB's 1 MB
        queries.append(dict(params))

    client.meta.events.register("provide-client-params.dynamodb.Query", small_pages)
    try:
        found = list(aws.outcomes.iter_monitored("2026-11-02T00:00:00.000Z", "2026-11-02T23:59:59.999Z"))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Query", small_pages)

    assert sorted(d.decision_id for d in found) == sorted(r["decision_id"] for r in records)
    assert (
        sum(1 for params in queries if "ExclusiveStartKey" in params)
        >= 12 // 2 - resources.MONITORING_DAY_SHARDS
    )


def test_the_stored_characteristics_are_the_ones_monitoring_bins():
    from chalicelib.engine.monitoring import characteristics_of

    model, policy = engine.packaged_version()
    for row in range(50):
        application = validated(application_row(row))
        record = decision_record(
            str(uuid.uuid4()), "c", application, engine.decide(application, model, policy), "sync", 86_400
        )
        assert monitoring_document(record)["characteristics"] == characteristics_of(model, application)
