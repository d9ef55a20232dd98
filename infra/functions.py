"""Lambda settings Chalice's config cannot express: alias, provisioned concurrency, the SQS mapping's
partial-batch responses and maximum concurrency, explicit names and log groups.

Everything is a plain property merged into the resources Chalice generates (same logical ids).
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import names

Resource = dict[str, Any]

# Max Memory Used from the REPORT line Lambda writes after every invocation (space-delimited filter;
# the REPORT line is plain text whatever the function logs). Chosen over Lambda Insights: no layer
# in the package, no extra IAM policy, no per-function Insights cost.
REPORT_LINE_PATTERN = (
    '[report="REPORT", request_id_label="RequestId:", request_id, duration_label="Duration:", '
    'duration, duration_unit="ms", billed_label="Billed", billed_duration_label="Duration:", '
    'billed_duration, billed_unit="ms", memory_label="Memory", size_label="Size:", memory_size, '
    'memory_unit="MB", max_label="Max", max_memory_label="Memory", used_label="Used:", '
    'max_memory_used, max_memory_unit="MB", ...]'
)


def memory_metric_name(spec: resources.FunctionSpec) -> str:
    return f"{names.logical_id(spec)}MaxMemoryUsedMB"


def log_group_id(spec: resources.FunctionSpec) -> str:
    return f"{names.logical_id(spec)}LogGroup"


def function_properties(stage: str, spec: resources.FunctionSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "FunctionName": names.function_name(stage, spec),
        "MemorySize": spec.memory_mb,
        "Timeout": spec.timeout_seconds,
        "Tracing": "Active",
        "AutoPublishAlias": names.ALIAS_NAME,
    }
    reserved = spec.reserved_concurrency.get(stage)
    if reserved is not None:
        properties["ReservedConcurrentExecutions"] = reserved
    provisioned = spec.provisioned_concurrency.get(stage)
    if provisioned:
        properties["ProvisionedConcurrencyConfig"] = {"ProvisionedConcurrentExecutions": provisioned}
    return properties


def worker_event_properties(stage: str) -> dict[str, Any]:
    queue = resources.APPLICATIONS_QUEUE
    return {
        "BatchSize": queue.batch_size,
        "MaximumBatchingWindowInSeconds": queue.batching_window_seconds,
        # Without it Lambda ignores {"batchItemFailures": [...]} and retries the whole batch.
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        # SQS pollers ignore reserved concurrency: cap them so messages are not throttled to the DLQ.
        "ScalingConfig": {"MaximumConcurrency": queue.maximum_concurrency[stage]},
    }


def function_merges(stage: str) -> dict[str, Resource]:
    """The parts merged into Chalice's two AWS::Serverless::Function resources."""
    api, worker = resources.API_FUNCTION, resources.WORKER_FUNCTION
    worker_properties = function_properties(stage, worker)
    worker_properties["Events"] = {names.WORKER_EVENT_ID: {"Properties": worker_event_properties(stage)}}
    return {
        names.logical_id(api): {
            # The log group must exist before the first invocation creates it with no retention.
            "DependsOn": [log_group_id(api)],
            "Properties": function_properties(stage, api),
        },
        names.logical_id(worker): {
            # Chalice names the queue by ARN string, so nothing else orders the mapping after it.
            "DependsOn": [log_group_id(worker), resources.APPLICATIONS_QUEUE.logical_id],
            "Properties": worker_properties,
        },
    }


def function_log_resources(stage: str) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    for spec in names.FUNCTION_SPECS:
        group_id = log_group_id(spec)
        out[group_id] = {
            "Type": "AWS::Logs::LogGroup",
            # Logs expire by retention; a retained group would block re-creating the stack.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": names.function_log_group(stage, spec),
                "RetentionInDays": resources.LOG_RETENTION_DAYS[stage],
            },
        }
        out[f"{names.logical_id(spec)}MemoryMetricFilter"] = {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "LogGroupName": {"Ref": group_id},
                "FilterPattern": REPORT_LINE_PATTERN,
                "MetricTransformations": [
                    {
                        "MetricNamespace": names.ALARM_NAMESPACE,
                        "MetricName": memory_metric_name(spec),
                        "MetricValue": "$max_memory_used",
                        "Unit": "Megabytes",
                    }
                ],
            },
        }
    return out
