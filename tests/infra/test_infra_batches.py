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


def _allowed(document: dict) -> dict[str, set[str]]:
    """{action: the resources some statement allows it on} (a deployed bucket's ARN as its Fn::Sub)."""
    allowed: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        for action in statement["Action"]:
            listed = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            allowed.setdefault(action, set()).update(
                arn["Fn::Sub"] if isinstance(arn, dict) else arn for arn in listed
            )
    return allowed


def _objects(stage: str, spec: resources.BucketSpec, prefix: str) -> str:
    # A deployed bucket's name ends in the account id (infra.names.bucket_name); the local one's not.
    bucket = resources.resource_name(stage, spec.suffix)
    if stage in resources.DEPLOYED_STAGES:
        return f"arn:aws:s3:::{bucket}-${{AWS::AccountId}}/{prefix}/*"
    return f"arn:aws:s3:::{bucket}/{prefix}/*"


@pytest.mark.parametrize("stage", resources.STAGES)
def test_the_batch_functions_have_their_own_role_with_nothing_beyond_the_list(stage: str) -> None:
    """The scorer and the DLQ handler share policy-<stage>-batches.json (each its own role), and it
    allows exactly what they call: the batch item, the batch objects, the chunk queue and its DLQ,
    a version's record and blobs, batch.completed on the bus and to the webhooks' queue, logs, X-Ray."""
    name = lambda suffix: resources.resource_name(stage, suffix)  # noqa: E731
    sqs = lambda suffix: f"arn:aws:sqs:*:*:{name(suffix)}"  # noqa: E731
    queue = resources.BATCH_CHUNKS_QUEUE
    batches_table = f"arn:aws:dynamodb:*:*:table/{name(resources.BATCHES_TABLE.suffix)}"
    versions_table = f"arn:aws:dynamodb:*:*:table/{name(resources.VERSIONS_TABLE.suffix)}"
    # An outcomes batch (issue 20) reads a decision and records its outcome (one UpdateItem).
    decisions_table = f"arn:aws:dynamodb:*:*:table/{name(resources.DECISIONS_TABLE.suffix)}"
    bus = f"arn:aws:events:*:*:event-bus/{names.event_bus_name(stage)}"
    logs = {
        f"arn:aws:logs:*:*:log-group:{names.function_log_group(stage, spec)}:*"
        for spec in (resources.BATCH_FUNCTION, resources.BATCH_DLQ_FUNCTION)
    }
    expected = {
        "dynamodb:GetItem": {batches_table, versions_table, decisions_table},
        "dynamodb:UpdateItem": {batches_table, decisions_table},
        "s3:GetObject": {
            _objects(stage, resources.BATCHES_BUCKET, "batches"),
            _objects(stage, resources.VERSIONS_BUCKET, "blobs"),
        },
        "s3:PutObject": {_objects(stage, resources.BATCHES_BUCKET, "batches")},
        "sqs:GetQueueUrl": {sqs(queue.suffix), sqs(resources.WEBHOOK_QUEUE.suffix)},
        "sqs:SendMessage": {sqs(queue.suffix), sqs(resources.WEBHOOK_QUEUE.suffix)},
        "sqs:ReceiveMessage": {sqs(queue.suffix), sqs(queue.dlq_suffix)},
        "sqs:DeleteMessage": {sqs(queue.suffix), sqs(queue.dlq_suffix)},
        "sqs:GetQueueAttributes": {sqs(queue.suffix), sqs(queue.dlq_suffix)},
        "events:PutEvents": {bus},
        "logs:CreateLogStream": logs,
        "logs:PutLogEvents": logs,
        "xray:PutTraceSegments": {"*"},
        "xray:PutTelemetryRecords": {"*"},
    }
    for spec in (resources.BATCH_FUNCTION, resources.BATCH_DLQ_FUNCTION):
        file_name = policies.function_policy_file_name(stage, spec)
        assert file_name == f"policy-{stage}-batches.json" != names.policy_file_name(stage)
        document = json.loads(policies.policy_path(stage, file_name).read_text())
        assert document == policies.batch_policy_document(stage)
        assert _allowed(document) == expected
        assert (
            names.chalice_config()["stages"][stage]["lambda_functions"][spec.chalice_name]["iam_policy_file"]
            == file_name
        )


@pytest.mark.parametrize("stage", resources.STAGES)
def test_the_api_role_keeps_only_what_the_batch_routes_need(stage: str) -> None:
    """The API creates, starts and reads batches: it signs the uploads (multipart too), reads the
    file's head and the summary, sends the plan message. It no longer consumes the chunk queue or
    its DLQ, nor logs for the batch functions."""
    document = policies.policy_document(stage)
    allowed = _allowed(document)
    by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
    queue = resources.BATCH_CHUNKS_QUEUE
    chunks = f"arn:aws:sqs:*:*:{resources.resource_name(stage, queue.suffix)}"
    dlq = f"arn:aws:sqs:*:*:{resources.resource_name(stage, queue.dlq_suffix)}"
    objects = _objects(stage, resources.BATCHES_BUCKET, "batches")
    assert set(_allowed({"Statement": [by_sid["BatchObjects"]]})) == {
        "s3:GetObject",
        "s3:PutObject",
        "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
    }
    assert _allowed({"Statement": [by_sid["BatchObjects"]]})["s3:PutObject"] == {objects}
    assert set(_allowed({"Statement": [by_sid["BatchChunksSend"]]})) == {
        "sqs:GetQueueUrl",
        "sqs:SendMessage",
        "sqs:GetQueueAttributes",
    }
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage"):
        assert chunks not in allowed[action] and dlq not in allowed[action], action
    assert "BatchDeadLetters" not in by_sid
    batch_logs = {names.function_log_group(stage, spec) for spec in policies.BATCH_FUNCTIONS}
    assert not any(group in arn for arn in allowed["logs:PutLogEvents"] for group in batch_logs)
    # The batch functions write no decision (an outcome on one only: the test above), cache, review
    # case or audit entry.
    batch_document = json.dumps(policies.batch_policy_document(stage))
    for spec in (resources.AUDIT_TABLE, resources.REVIEWS_TABLE):
        assert f'table/{resources.resource_name(stage, spec.suffix)}"' not in batch_document


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
