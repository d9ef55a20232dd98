"""Monitoring runs fanned out (issue 20) in the packaged templates: the parts' queue and its DLQ, the
part worker's and the DLQ handler's SQS mappings (partial batch responses, the concurrency cap), the
alarm on the DLQ, and each function's own policy naming only what it needs."""

from __future__ import annotations

import pytest
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import names, policies

QUEUE = resources.MONITORING_PARTS_QUEUE
WORKER = resources.MONITOR_PART_FUNCTION
DEAD = resources.MONITOR_PARTS_DLQ_FUNCTION


def _mapping(expanded: Template, queue_name: str) -> Template:
    mappings = resources_of_type(expanded, "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [
        m for m in mappings if m["Properties"]["EventSourceArn"]["Fn::Sub"].endswith(f":{queue_name}")
    ]
    return mapping["Properties"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_parts_queue_its_dlq_and_their_mappings(expanded: dict[str, Template], stage: str) -> None:
    template = expanded[stage]["Resources"]
    queue = template[QUEUE.logical_id]["Properties"]
    assert queue["QueueName"] == resources.resource_name(stage, QUEUE.suffix)
    assert queue["RedrivePolicy"]["maxReceiveCount"] == QUEUE.max_receive_count == 3
    assert queue["VisibilityTimeout"] >= 6 * WORKER.timeout_seconds
    dlq = template[QUEUE.dlq_logical_id]["Properties"]
    assert dlq["QueueName"] == resources.resource_name(stage, QUEUE.dlq_suffix)
    worker = _mapping(expanded[stage], resources.resource_name(stage, QUEUE.suffix))
    assert worker["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert worker["BatchSize"] == QUEUE.batch_size == 1
    reserved = WORKER.reserved_concurrency[stage]
    assert worker["ScalingConfig"]["MaximumConcurrency"] == reserved
    function = template[names.logical_id(WORKER)]["Properties"]
    assert function["ReservedConcurrentExecutions"] == reserved
    assert function["MemorySize"] == WORKER.memory_mb and function["Timeout"] == WORKER.timeout_seconds
    assert reserved < resources.API_FUNCTION.reserved_concurrency[stage]  # the API keeps its own
    dead = _mapping(expanded[stage], resources.resource_name(stage, QUEUE.dlq_suffix))
    assert dead["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert names.logical_id(DEAD) in str(template[dead["FunctionName"]["Ref"]]["Properties"])


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_an_alarm_watches_the_parts_dlq(templates: dict[str, Template], stage: str) -> None:
    alarm = resources_of_type(templates[stage], "AWS::CloudWatch::Alarm")["MonitoringPartsDeadLetterAlarm"]
    properties = alarm["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert properties["Dimensions"] == [
        {"Name": "QueueName", "Value": resources.resource_name(stage, QUEUE.dlq_suffix)}
    ]
    assert properties["Threshold"] == 0 and properties["ComparisonOperator"] == "GreaterThanThreshold"


def _by_sid(stage: str, spec: resources.FunctionSpec) -> dict[str, dict[str, object]]:
    document = policies.function_policy_document(stage, spec)
    return {statement["Sid"]: statement for statement in document["Statement"]}


@pytest.mark.parametrize("stage", resources.STAGES)
def test_each_monitoring_function_may_do_only_what_it_needs(stage: str) -> None:
    parts_queue = f"arn:aws:sqs:*:*:{resources.resource_name(stage, QUEUE.suffix)}"
    dead_queue = f"arn:aws:sqs:*:*:{resources.resource_name(stage, QUEUE.dlq_suffix)}"
    reports_table = policies.table_arn(stage, resources.MONITORING_REPORTS_TABLE)
    worker = _by_sid(stage, WORKER)
    assert set(worker) == {
        "DecisionsByDay",
        "DecisionVersions",
        "DecisionVersionsBlobs",
        "MonitoringRuns",
        "MonitoringReportObjects",
        "MonitoringAlerts",
        "MonitoringPartsQueue",
        "FunctionLogs",
        "Tracing",
    }
    assert worker["DecisionsByDay"]["Action"] == ["dynamodb:Query"]  # Queries only, never a Scan
    assert worker["MonitoringRuns"]["Resource"] == [reports_table]
    assert set(worker["MonitoringRuns"]["Action"]) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    }
    assert worker["MonitoringPartsQueue"]["Resource"] == [parts_queue]
    assert "sqs:SendMessage" not in worker["MonitoringPartsQueue"]["Action"]
    dead = _by_sid(stage, DEAD)
    assert set(dead) == {"MonitoringRuns", "MonitoringPartsDeadLetters", "FunctionLogs", "Tracing"}
    assert dead["MonitoringRuns"]["Action"] == ["dynamodb:UpdateItem"]
    assert dead["MonitoringPartsDeadLetters"]["Resource"] == [dead_queue]
    # The schedule starts runs: it sends parts, it does not consume them.
    starter = _by_sid(stage, resources.MONITOR_FUNCTION)["MonitoringPartsSend"]
    assert starter["Resource"] == [parts_queue]
    assert set(starter["Action"]) == {"sqs:GetQueueUrl", "sqs:SendMessage"}
    for spec in (WORKER, DEAD):
        assert policies.function_policy_file_name(stage, spec) != names.policy_file_name(stage)
    # The API starts staff runs: the shared policy's queue statement names the parts queue.
    shared = {s["Sid"]: s for s in policies.policy_document(stage)["Statement"]}
    assert parts_queue in shared["ApplicationsQueue"]["Resource"]
