"""The emulator-ceiling helpers: the call plan, id freshening, the share; and a short replay on a
real (in-process, threaded) moto server. Nothing here times anything."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from bench import emulator_ceiling
from bench.emulator_ceiling import (
    CallPlan,
    PlannedCall,
    SweepPoint,
    above_ceiling_reasons,
    batches_of,
    best_rate,
    default_sweep,
    flattened,
    fresh_ids,
    mean_rate,
    name_mapping,
    parse_sweep,
    plan_from_recording,
    renamed,
    share_of_ceiling,
)
from devstack.burst import batch_sizes

APP_ID = "687cbc4b-aa4e-481d-ba5b-014a7f93cbd1"
OTHER_ID = "8b86f017-05c5-59a8-ac8f-f4b4c81eae18"


def test_the_plan_counts_calls_per_decision() -> None:
    recorded = [("dynamodb", "PutItem", 100)] * 4 + [("sqs", "SendMessage", 50)] * 2
    recorded += [("sqs", "ReceiveMessage", 20), ("events", "PutEvents", 30)]
    params = [(service, operation, {"n": i}) for i, (service, operation, _) in enumerate(recorded)]
    plan = plan_from_recording(recorded, params, decisions=2)
    assert plan.per_decision() == {
        "dynamodb/PutItem": 2,
        "events/PutEvents": 0.5,
        "sqs/ReceiveMessage": 0.5,
        "sqs/SendMessage": 1,
    }
    assert plan.calls_per_decision() == 4
    assert plan.request_bytes_per_decision() == (400 + 100 + 20 + 30) / 2
    assert [call.params["n"] for call in plan.calls] == list(range(len(recorded)))


def test_counted_calls_and_captured_parameters_must_be_the_same_calls() -> None:
    with pytest.raises(ValueError, match="disagree"):
        plan_from_recording([("dynamodb", "PutItem", 1)], [("sqs", "SendMessage", {})], decisions=1)
    with pytest.raises(ValueError):
        plan_from_recording([], [], decisions=0)


def test_fresh_ids_replace_every_uuid_consistently_and_leave_bytes_alone() -> None:
    params = {
        "Item": {"application_id": {"S": APP_ID}, "decision": {"B": APP_ID.encode()}},
        "Body": f'{{"application_id": "{APP_ID}", "decision_id": "{OTHER_ID}"}}',
        "List": [APP_ID, "not-an-id", 7],
    }
    mapping: dict[str, str] = {}
    fresh = fresh_ids(params, mapping)
    new_app, new_other = mapping[APP_ID], mapping[OTHER_ID]
    assert new_app not in (APP_ID, OTHER_ID) and new_other != new_app
    assert fresh["Item"]["application_id"]["S"] == new_app
    assert fresh["Item"]["decision"]["B"] == APP_ID.encode()  # same size, never read back
    assert new_app in fresh["Body"] and new_other in fresh["Body"] and APP_ID not in fresh["Body"]
    assert fresh["List"] == [new_app, "not-an-id", 7]
    assert params["Item"]["application_id"]["S"] == APP_ID  # the plan itself is not changed
    again = fresh_ids(params, {})
    assert again["Item"]["application_id"]["S"] != new_app  # a new iteration, new ids


def test_resource_names_follow_the_target_stack() -> None:
    recorded = {"DECISIONS_TABLE": "svc-local-decisions", "DECISION_EVENTS_BUS": "svc-local-bus"}
    target = {"DECISIONS_TABLE": "svc-it1-decisions", "DECISION_EVENTS_BUS": "svc-it1-bus", "OTHER": "x"}
    names = name_mapping(recorded, target)
    assert names == {"svc-local-decisions": "svc-it1-decisions", "svc-local-bus": "svc-it1-bus"}
    params = {"TableName": "svc-local-decisions", "Entries": [{"EventBusName": "svc-local-bus"}], "n": 1}
    assert renamed(params, names) == {
        "TableName": "svc-it1-decisions",
        "Entries": [{"EventBusName": "svc-it1-bus"}],
        "n": 1,
    }


def test_the_share_of_the_ceiling_and_the_aim() -> None:
    met = share_of_ceiling(45.0, 50.0)
    assert met.fraction == pytest.approx(0.9) and met.met
    assert "90.0%" in met.line() and ": met" in met.line()
    missed = share_of_ceiling(30.0, 50.0)
    assert missed.fraction == pytest.approx(0.6) and not missed.met and "NOT met" in missed.line()
    assert share_of_ceiling(80.0, 100.0).met  # the aim itself counts as met
    assert not share_of_ceiling(10.0, 0.0).met and share_of_ceiling(10.0, 0.0).fraction == 0.0
    with pytest.raises(ValueError):
        share_of_ceiling(-1.0, 10.0)
    assert mean_rate([20.0, 30.0]) == 25.0 and mean_rate([]) == 0.0


def test_sweep_points_are_processes_times_threads() -> None:
    assert SweepPoint.parse("8x2") == SweepPoint(8, 2) and SweepPoint(8, 2).loops == 16
    assert SweepPoint.parse(" 4 ") == SweepPoint(4, 1) and SweepPoint(4, 1).label() == "4x1"
    assert parse_sweep("4x1, 4x2,,8X2") == [SweepPoint(4, 1), SweepPoint(4, 2), SweepPoint(8, 2)]
    assert parse_sweep("") == []
    with pytest.raises(ValueError):
        SweepPoint.parse("0x2")
    with pytest.raises(ValueError):
        SweepPoint.parse("four")
    # 1x, 2x, 3x the workers, then 4x and 6x: the burst's concurrency and beyond it.
    assert [point.loops for point in default_sweep(4)] == [4, 8, 12, 16, 24]
    assert default_sweep(0)[0] == SweepPoint(1, 1)


def test_the_ceiling_is_the_best_point_and_a_flat_top_shows_saturation() -> None:
    assert best_rate([20.0, 31.0, 30.0]) == 31.0 and best_rate([]) == 0.0
    assert flattened([20.0, 30.0, 31.0])  # +3% for the last step: saturated
    assert flattened([20.0, 30.0, 28.0])  # more loops made it worse: saturated
    assert not flattened([20.0, 25.0, 30.0])  # still rising: the best is only a lower bound
    assert not flattened([30.0])  # one point shows nothing
    assert not flattened([0.0, 0.0])


def test_a_burst_above_the_ceiling_is_explained_from_the_measurements() -> None:
    assert share_of_ceiling(31.0, 30.0).above and not share_of_ceiling(30.0, 30.0).above
    assert not share_of_ceiling(1.0, 0.0).above
    rising = above_ceiling_reasons(
        [10.0, 20.0, 30.0], burst_others=2.0, ceiling_others=2.0, burst_batch=9.0, plan_batch=10.0
    )
    assert len(rising) == 1 and "lower bound" in rising[0]
    busier = above_ceiling_reasons(
        [30.0, 30.0], burst_others=0.1, ceiling_others=0.8, burst_batch=None, plan_batch=10.0
    )
    assert len(busier) == 1 and "0.80 cores" in busier[0]
    fuller = above_ceiling_reasons(
        [30.0, 30.0], burst_others=2.0, ceiling_others=2.0, burst_batch=10.0, plan_batch=5.0
    )
    assert len(fuller) == 1 and "fuller" in fuller[0]
    unexplained = above_ceiling_reasons(
        [30.0, 30.0], burst_others=2.0, ceiling_others=2.2, burst_batch=10.0, plan_batch=10.0
    )
    assert len(unexplained) == 1 and "noise" in unexplained[0]


def test_the_plan_is_replayed_one_queue_batch_at_a_time() -> None:
    def call(operation: str) -> PlannedCall:
        return PlannedCall("sqs", operation, {}, 1)

    calls = [call("SendMessage"), call("ReceiveMessage"), call("DeleteMessageBatch"), call("SendMessage")]
    calls += [call("ReceiveMessage"), call("DeleteMessageBatch"), call("PutEvents")]
    batches = batches_of(calls)
    assert [[c.operation for c in batch] for batch in batches] == [
        ["SendMessage", "ReceiveMessage", "DeleteMessageBatch"],
        ["SendMessage", "ReceiveMessage", "DeleteMessageBatch"],
        ["PutEvents"],
    ]
    assert batches_of([]) == []


def test_batch_sizes_are_read_from_the_workers_logs(tmp_path: Any) -> None:
    log = tmp_path / "sqs-poller-0.log"
    log.write_text(
        "2026-12-02 00:33:45 sqs-poller[1] polling q (batch 10, window 1s, visibility queue default)\n"
        "2026-12-02 00:33:47 sqs-poller[1] batch: 10 received, 10 deleted, 0 left on the queue\n"
        '{"level":"INFO","message":"application decided"}\n'
        "2026-12-02 00:33:48 sqs-poller[1] batch: 3 received, 2 deleted, 1 left on the queue\n"
    )
    assert batch_sizes([log, tmp_path / "missing.log"]) == [10, 3]


# ------------------------------------------------------------------------------------------------
# Recording on the real app, replaying against a real moto server
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recorded_plan() -> CallPlan:
    return emulator_ceiling.record_call_plan(batches=1)


def test_the_recorded_plan_is_what_one_queued_decision_calls(recorded_plan: CallPlan) -> None:
    per_decision = recorded_plan.per_decision()
    assert recorded_plan.decisions == 10  # one full batch
    # The submit's SendMessage, and the queue worker's receive, delete and publish once a batch.
    assert per_decision["sqs/SendMessage"] == 1
    assert per_decision["sqs/ReceiveMessage"] == pytest.approx(0.1)
    assert per_decision["sqs/DeleteMessageBatch"] == pytest.approx(0.1)
    assert per_decision["events/PutEvents"] == pytest.approx(0.1)
    # PENDING record, decision record, DECIDED application, at least two audit entries.
    assert per_decision["dynamodb/PutItem"] >= 5
    assert all(call.request_bytes > 0 for call in recorded_plan.calls)
    assert set(recorded_plan.names) >= {"APPLICATIONS_TABLE", "APPLICATIONS_QUEUE", "DECISION_EVENTS_BUS"}


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from devstack.processes import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _client(service: str, endpoint: str) -> Any:
    import botocore.session

    return botocore.session.Session().create_client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.mark.parametrize("threads", [1, 2])
def test_the_loop_replays_the_plan_against_a_moto_server(
    recorded_plan: CallPlan, moto_endpoint: str, threads: int
) -> None:
    from devstack.bootstrap import create_tables_and_queues

    stage = f"ceiling-smoke{threads}"
    dynamodb, sqs = _client("dynamodb", moto_endpoint), _client("sqs", moto_endpoint)
    create_tables_and_queues(stage, dynamodb, sqs, _client("events", moto_endpoint))
    target = {
        variable: name.replace("-local-", f"-{stage}-") for variable, name in recorded_plan.names.items()
    }
    names = name_mapping(recorded_plan.names, target)
    endpoints = {service: moto_endpoint for service in ("dynamodb", "sqs", "events")}

    loops = emulator_ceiling.replay_loop(
        recorded_plan, endpoints, names, "us-east-1", time.time(), 0.5, threads=threads
    )

    assert len(loops) == threads
    for loop in loops:
        assert loop.calls >= 1 and loop.seconds == 0.5
        assert loop.decisions == pytest.approx(
            loop.calls * recorded_plan.decisions / len(recorded_plan.calls)
        )
        assert loop.errors == Counter()  # every conditional write found its item as in the burst
        assert sum(loop.calls_in.values()) == loop.calls
    # Each batch decided its own fresh applications: PENDING, then DECIDED (the warm-up's too), and
    # a batch the deadline cut was finished all the same.
    table = target["APPLICATIONS_TABLE"]
    items = dynamodb.scan(
        TableName=table, ProjectionExpression="#s", ExpressionAttributeNames={"#s": "status"}
    )
    statuses = Counter(item["status"]["S"] for item in items["Items"])
    assert set(statuses) == {"DECIDED"} and statuses["DECIDED"] % 10 == 0
    assert statuses["DECIDED"] >= threads * (recorded_plan.decisions + 10)  # warm-up + at least a batch
    queue_url = sqs.get_queue_url(QueueName=target["APPLICATIONS_QUEUE"])["QueueUrl"]
    assert emulator_ceiling.drain(sqs, queue_url) == 0  # what was received was deleted
