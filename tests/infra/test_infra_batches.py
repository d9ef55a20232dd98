"""Batches (issue 19) in the packaged templates: the results bucket's lifecycle rule, the scorer's
and the DLQ handler's SQS mappings with their concurrency caps, and their IAM on the batch objects."""

from __future__ import annotations

import json

import pytest
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import names, policies


def _mapping(expanded: Template, queue_name: str) -> Template:
    mappings = resources_of_type(expanded, "AWS::Lambda::EventSourceMapping").values()
    (mapping,) = [
        m for m in mappings if m["Properties"]["EventSourceArn"]["Fn::Sub"].endswith(f":{queue_name}")
    ]
    return mapping["Properties"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_results_expire_through_the_buckets_lifecycle_rule(
    templates: dict[str, Template], stage: str
) -> None:
    spec = resources.BATCHES_BUCKET
    properties = templates[stage]["Resources"][spec.logical_id]["Properties"]
    assert properties["BucketName"] == {
        "Fn::Sub": f"{resources.resource_name(stage, spec.suffix)}-${{AWS::AccountId}}"
    }
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == resources.BATCH_RESULT_RETENTION_DAYS == 30
    assert "Prefix" not in rule and "TagFilters" not in rule  # every object
    # Not versioned: an expired (or overwritten) part leaves no noncurrent version behind.
    assert "VersioningConfiguration" not in properties
    versions = templates[stage]["Resources"][resources.VERSIONS_BUCKET.logical_id]["Properties"]
    assert versions["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LifecycleConfiguration" not in versions


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_scorers_concurrency_is_capped_by_configuration(
    expanded: dict[str, Template], stage: str
) -> None:
    queue = resources.BATCH_CHUNKS_QUEUE
    scorer = _mapping(expanded[stage], resources.resource_name(stage, queue.suffix))
    assert scorer["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    reserved = resources.BATCH_FUNCTION.reserved_concurrency[stage]
    assert scorer["ScalingConfig"]["MaximumConcurrency"] == reserved
    assert scorer["BatchSize"] == queue.batch_size
    function = expanded[stage]["Resources"][names.logical_id(resources.BATCH_FUNCTION)]["Properties"]
    assert function["ReservedConcurrentExecutions"] == reserved
    # The API keeps its own reserved concurrency whatever a batch does.
    assert reserved < resources.API_FUNCTION.reserved_concurrency[stage]
    dead = _mapping(expanded[stage], resources.resource_name(stage, queue.dlq_suffix))
    assert dead["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    dlq_alias = expanded[stage]["Resources"][dead["FunctionName"]["Ref"]]["Properties"]
    assert names.logical_id(resources.BATCH_DLQ_FUNCTION) in json.dumps(dlq_alias)
    # The chunk queue's redrive: max_receive_count receives, then the DLQ its handler reads.
    redrive = expanded[stage]["Resources"][queue.logical_id]["Properties"]["RedrivePolicy"]
    assert redrive["maxReceiveCount"] == queue.max_receive_count


@pytest.mark.parametrize("stage", resources.STAGES)
def test_batch_functions_reach_batch_objects_only(stage: str) -> None:
    document = policies.policy_document(stage)
    by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
    bucket = resources.resource_name(stage, resources.BATCHES_BUCKET.suffix)
    # A deployed bucket's name ends in the account id (infra.names.bucket_name); the local one's not.
    objects: object = f"arn:aws:s3:::{bucket}/batches/*"
    if stage in resources.DEPLOYED_STAGES:
        objects = {"Fn::Sub": f"arn:aws:s3:::{bucket}-${{AWS::AccountId}}/batches/*"}
    assert by_sid["BatchObjects"]["Resource"] == [objects]
    assert set(by_sid["BatchObjects"]["Action"]) == {"s3:GetObject", "s3:PutObject"}
    dlq = resources.resource_name(stage, resources.BATCH_CHUNKS_QUEUE.dlq_suffix)
    assert by_sid["BatchDeadLetters"]["Resource"] == [f"arn:aws:sqs:*:*:{dlq}"]
    for spec in (resources.BATCH_FUNCTION, resources.BATCH_DLQ_FUNCTION):
        assert policies.function_policy_file_name(stage, spec) == names.policy_file_name(stage)


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_console_may_put_a_batch_file_from_the_browser_and_nothing_else(
    templates: dict[str, Template], stage: str
) -> None:
    """The batches page PUTs the file to the presigned URL from the console's origins (the
    distribution's host and the API's own): the batches bucket's one CORS rule allows that alone;
    no other bucket has one."""
    stack = templates[stage]["Resources"]
    (rule,) = stack[resources.BATCHES_BUCKET.logical_id]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["PUT"]
    assert rule["AllowedHeaders"] == ["content-type"]
    assert rule["MaxAge"] == resources.BUCKET_CORS_MAX_AGE_SECONDS == 3600
    assert rule["AllowedOrigins"] == [
        {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"},
        {
            "Fn::Sub": f"https://${{{names.REST_API_LOGICAL_ID}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"
        },
    ]
    assert "ConsoleDistribution" in stack and names.REST_API_LOGICAL_ID in stack
    assert "*" not in json.dumps(rule)
    others = [spec for spec in resources.BUCKETS if not spec.cors_put_from_console]
    assert others and all("CorsConfiguration" not in stack[spec.logical_id]["Properties"] for spec in others)


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_batch_alarms_watch_the_dlq_the_scorer_and_the_oldest_chunk(
    templates: dict[str, Template], stage: str
) -> None:
    """One alarm per row of resources.BATCH_ALARMS, on the stage's own queue, DLQ and scorer, and the
    dashboard's batch row graphs the same metric against the same threshold."""
    stack = templates[stage]["Resources"]
    queue = resources.BATCH_CHUNKS_QUEUE
    watched = {
        "BatchChunksDeadLetterQueueNotEmptyAlarm": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"Name": "QueueName", "Value": resources.resource_name(stage, queue.dlq_suffix)},
        ),
        "BatchScorerErrorsAlarm": (
            "AWS/Lambda",
            "Errors",
            {"Name": "FunctionName", "Value": names.function_name(stage, resources.BATCH_FUNCTION)},
        ),
        "BatchScorerThrottlesAlarm": (
            "AWS/Lambda",
            "Throttles",
            {"Name": "FunctionName", "Value": names.function_name(stage, resources.BATCH_FUNCTION)},
        ),
        "BatchChunksOldestMessageAgeAlarm": (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"Name": "QueueName", "Value": resources.resource_name(stage, queue.suffix)},
        ),
    }
    assert [spec.logical_id for spec in resources.BATCH_ALARMS] == list(watched)
    (dashboard,) = resources_of_type(templates[stage], "AWS::CloudWatch::Dashboard").values()
    body_sub = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body_sub[0] if isinstance(body_sub, list) else body_sub)["widgets"]
    graphs = {
        tuple(widget["properties"]["metrics"][0][:2]): widget["properties"]
        for widget in widgets
        if widget["properties"].get("title", "").startswith("Batches:")
    }
    for spec in resources.BATCH_ALARMS:
        namespace, metric, dimension = watched[spec.logical_id]
        properties = stack[spec.logical_id]["Properties"]
        assert (properties["Namespace"], properties["MetricName"]) == (namespace, metric)
        assert properties["Dimensions"] == [dimension]
        assert properties["Statistic"] == spec.statistic
        graph = graphs[(namespace, metric)]
        assert graph["metrics"][0][2:] == [dimension["Name"], dimension["Value"]]
        assert graph["annotations"]["horizontal"][0]["value"] == properties["Threshold"]
    assert any(widget["properties"].get("markdown", "").startswith("## Batches") for widget in widgets)
