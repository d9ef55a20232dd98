"""The SQS worker (app.process_application_queue): decides once, tolerates redelivery, reports poison."""

from __future__ import annotations

import json

from api_test_support import post_json, receive_all, sqs_event, sqs_record, stage_store

import app
from chalicelib import resources
from chalicelib.api.worker import local_lambda_context
from chalicelib.config import get_settings
from chalicelib.dal.clients import dynamodb_client, sqs_client


def queue_url() -> str:
    return sqs_client().get_queue_url(QueueName=get_settings().applications_queue)["QueueUrl"]


def decisions_for(application_id: str) -> list[dict]:
    items = dynamodb_client().scan(TableName=get_settings().decisions_table)["Items"]
    return [item for item in items if item.get("application_id", {}).get("S") == application_id]


def submit(client, payload) -> str:
    response = post_json(client, "/v1/applications", payload)
    assert response.status_code == 202
    return json.loads(response.body)["application_id"]


def receive_all_bodies() -> list[dict]:
    return [json.loads(record["body"]) for record in receive_all(sqs_client(), queue_url())]


def run_worker(event: dict) -> dict:
    return app.process_application_queue(event, local_lambda_context())


def test_worker_decides_pending_applications(chalice_client, application, other_application):
    ids = [submit(chalice_client, application), submit(chalice_client, other_application)]
    records = receive_all(sqs_client(), queue_url())
    assert len({record["messageId"] for record in records}) == 2

    result = run_worker(sqs_event(*records))

    assert result == {"batchItemFailures": []}
    for application_id in ids:
        status = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)
        assert status["status"] == "DECIDED"
        assert status["decision"]["outcome"] in {"approved", "manual_review", "declined"}
        [record] = decisions_for(application_id)
        assert record["decision_id"]["S"] == status["decision_id"]
        assert application["applicant_name"] not in json.dumps(record)


def test_redelivery_never_decides_twice(chalice_client, application):
    application_id = submit(chalice_client, application)
    [record] = receive_all(sqs_client(), queue_url())
    assert run_worker(sqs_event(record)) == {"batchItemFailures": []}
    first = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)

    redelivered = sqs_record(record["body"], receive_count=2, message_id=record["messageId"])
    result = run_worker(sqs_event(redelivered, sqs_record(record["body"], receive_count=3)))

    assert result == {"batchItemFailures": []}
    second = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)
    assert second == first
    assert len(decisions_for(application_id)) == 1


def test_poison_message_is_a_batch_item_failure_and_others_succeed(chalice_client, application):
    application_id = submit(chalice_client, application)
    [good] = receive_all(sqs_client(), queue_url())
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


def test_whole_batch_failing_is_reported_not_raised(aws):
    records = [sqs_record("garbage"), sqs_record("[]")]
    result = run_worker(sqs_event(*records))
    assert {failure["itemIdentifier"] for failure in result["batchItemFailures"]} == {
        record["messageId"] for record in records
    }


def test_poison_on_last_receive_marks_application_failed(chalice_client, application):
    application_id = submit(chalice_client, application)
    [queued] = receive_all_bodies()
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
    [config] = [c for c in app.app.event_sources if c.name == "process_application_queue"]
    assert config.queue == get_settings().applications_queue
    assert config.batch_size == resources.APPLICATIONS_QUEUE.batch_size
    assert config.maximum_batching_window_in_seconds == resources.APPLICATIONS_QUEUE.batching_window_seconds


def test_crash_between_the_two_writes_is_completed_with_the_first_decision(
    chalice_client, application, monkeypatch
):
    from chalicelib import dal, engine
    from chalicelib.dal import DependencyUnavailable

    application_id = submit(chalice_client, application)
    [record] = receive_all(sqs_client(), queue_url())
    store = dal.get_store()
    put_decided = store._put_decided_application
    attempts: list[int] = []

    def crash_on_first_attempt(item):
        attempts.append(1)
        if len(attempts) == 1:
            raise DependencyUnavailable("dynamodb", "simulated crash")
        return put_decided(item)

    monkeypatch.setattr(store, "_put_decided_application", crash_on_first_attempt)

    first = run_worker(sqs_event(record))
    assert first == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert (
        json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)["status"] == "PENDING"
    )
    [logged] = decisions_for(application_id)

    # Redelivered after a new model was deployed: the application still gets the FIRST decision.
    real_decide = engine.decide
    monkeypatch.setattr(engine, "decide", lambda cleaned: {**real_decide(cleaned), "outcome": "other-model"})
    redelivered = sqs_record(record["body"], receive_count=2, message_id=record["messageId"])
    assert run_worker(sqs_event(redelivered)) == {"batchItemFailures": []}

    final = json.loads(chalice_client.http.get(f"/v1/applications/{application_id}").body)
    assert final["status"] == "DECIDED"
    assert final["decision"] == json.loads(logged["decision"]["S"])
    assert final["decision"]["outcome"] != "other-model"
    assert final["decision_id"] == logged["decision_id"]["S"]
    assert len(decisions_for(application_id)) == 1


def test_dynamodb_down_fails_the_rest_of_the_batch_fast(
    chalice_client, application, other_application, unreachable_client, monkeypatch
):
    from chalicelib import dal

    submit(chalice_client, application)
    submit(chalice_client, other_application)
    records = receive_all(sqs_client(), queue_url())
    down = stage_store(unreachable_client("dynamodb"))
    calls: list[str] = []
    real_record = down.record_application_decision

    def counted(application_id, decided):
        calls.append(application_id)
        return real_record(application_id, decided)

    monkeypatch.setattr(down, "record_application_decision", counted)
    dal.use(store=down)

    result = run_worker(sqs_event(*records))

    assert {failure["itemIdentifier"] for failure in result["batchItemFailures"]} == {
        record["messageId"] for record in records
    }
    assert len(calls) == 1  # the second record did not wait for the same timeouts again
    dal.use()
    # The next batch starts afresh: with DynamoDB back, both are decided.
    assert run_worker(sqs_event(*records)) == {"batchItemFailures": []}
