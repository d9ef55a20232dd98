"""The SQS worker (app.process_application_queue): decides once, tolerates redelivery, reports poison."""

from __future__ import annotations

import json
from typing import Any

import app
from chalicelib import resources
from chalicelib.config import load_settings
from devstack.lambda_events import worker_context
from tests.support.http import post_json
from tests.support.sqs import queued_records, sqs_event, sqs_record


def decisions_for(memory: Any, application_id: str) -> list[dict]:
    records = memory.memory_store.decisions.values()
    return [record for record in records if record.get("application_id") == application_id]


def submit(client, payload) -> str:
    response = post_json(client, "/v1/applications", payload)
    assert response.status_code == 202
    return json.loads(response.body)["application_id"]


def run_worker(event: dict) -> dict:
    return app.process_application_queue(event, worker_context("local", "us-east-1"))


def test_worker_decides_pending_applications(chalice_client, memory, application, other_application):
    ids = [submit(chalice_client, application), submit(chalice_client, other_application)]
    records = queued_records(memory.memory_queue)
    assert len({record["messageId"] for record in records}) == 2

    result = run_worker(sqs_event(*records))

    assert result == {"batchItemFailures": []}
    for application_id in ids:
        status = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)
        assert status["status"] == "DECIDED"
        assert status["decision"]["outcome"] in {"approved", "manual_review", "declined"}
        [record] = decisions_for(memory, application_id)
        assert record["decision_id"] == status["decision_id"]
        assert application["applicant_name"] not in json.dumps(record)


def test_redelivery_never_decides_twice(chalice_client, memory, application):
    application_id = submit(chalice_client, application)
    [record] = queued_records(memory.memory_queue)
    assert run_worker(sqs_event(record)) == {"batchItemFailures": []}
    first = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)

    redelivered = sqs_record(record["body"], receive_count=2, message_id=record["messageId"])
    result = run_worker(sqs_event(redelivered, sqs_record(record["body"], receive_count=3)))

    assert result == {"batchItemFailures": []}
    second = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)
    assert second == first
    assert len(decisions_for(memory, application_id)) == 1


def test_poison_message_is_a_batch_item_failure_and_others_succeed(chalice_client, memory, application):
    application_id = submit(chalice_client, application)
    [good] = queued_records(memory.memory_queue)
    unparseable = sqs_record("{not json")
    invalid = sqs_record(json.dumps({"application_id": "x-1", "application": {"age": "old"}}))
    no_id = sqs_record(json.dumps({"application": {}}))
    no_applicant = sqs_record(json.dumps({**json.loads(good["body"]), "applicant": None}))

    result = run_worker(sqs_event(unparseable, good, invalid, no_id, no_applicant))

    failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
    assert failed == {
        unparseable["messageId"],
        invalid["messageId"],
        no_id["messageId"],
        no_applicant["messageId"],
    }
    status = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)
    assert status["status"] == "DECIDED"


def test_whole_batch_failing_is_reported_not_raised(memory):
    records = [sqs_record("garbage"), sqs_record("[]")]
    result = run_worker(sqs_event(*records))
    assert {failure["itemIdentifier"] for failure in result["batchItemFailures"]} == {
        record["messageId"] for record in records
    }


def test_poison_on_last_receive_marks_application_failed(chalice_client, memory, application):
    application_id = submit(chalice_client, application)
    [queued] = [json.loads(record["body"]) for record in queued_records(memory.memory_queue)]
    body = json.dumps({**queued, "application": {**queued["application"], "age": "not a number"}})
    before_last = sqs_record(body, receive_count=resources.APPLICATIONS_QUEUE.max_receive_count - 1)
    last = sqs_record(body, receive_count=resources.APPLICATIONS_QUEUE.max_receive_count)

    assert len(run_worker(sqs_event(before_last))["batchItemFailures"]) == 1
    assert (
        json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)["status"] == "PENDING"
    )
    assert len(run_worker(sqs_event(last))["batchItemFailures"]) == 1

    status = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)
    assert status["status"] == "FAILED"
    assert status["failure"] == "invalid application: age"


def test_worker_subscribes_to_the_stage_queue_with_resources_numbers():
    [config] = [c for c in app.app.event_sources if c.name == resources.WORKER_FUNCTION.chalice_name]
    assert config.queue == load_settings().applications_queue
    assert config.batch_size == resources.APPLICATIONS_QUEUE.batch_size
    assert config.maximum_batching_window_in_seconds == resources.APPLICATIONS_QUEUE.batching_window_seconds


def test_dynamodb_down_fails_the_rest_of_the_batch_fast(
    chalice_client, memory, application, other_application, monkeypatch
):
    submit(chalice_client, application)
    submit(chalice_client, other_application)
    records = queued_records(memory.memory_queue)
    calls: list[str] = []
    real_record = memory.memory_store.record_application_decision

    def counted(decided):
        calls.append(decided.application_id)
        return real_record(decided)

    monkeypatch.setattr(memory.memory_store, "record_application_decision", counted)
    memory.outages.fail("dynamodb")

    result = run_worker(sqs_event(*records))

    assert {failure["itemIdentifier"] for failure in result["batchItemFailures"]} == {
        record["messageId"] for record in records
    }
    assert len(calls) == 1  # the second record did not wait for the same timeouts again
    memory.outages.recover()
    # The next batch starts afresh: with DynamoDB back, both are decided.
    assert run_worker(sqs_event(*records)) == {"batchItemFailures": []}
