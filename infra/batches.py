"""Batches and backtests in the template (issue 19): the scorer's and the DLQ handler's merges (their
SQS mappings with partial-batch responses and the concurrency cap). The table, the chunk queue and
its DLQ, and the results bucket with its lifecycle rule come from ``chalicelib/resources.py`` like
every other (data_stores); IAM is in policies; the functions are app.py's ``score_batch_chunks`` and
``settle_failed_batch_chunks``.
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import functions, names

Resource = dict[str, Any]


def event_id(spec: resources.FunctionSpec) -> str:
    return f"{names.logical_id(spec)}SqsEventSource"


def scorer_event_properties(stage: str) -> dict[str, Any]:
    queue = resources.BATCH_CHUNKS_QUEUE
    return {
        "BatchSize": queue.batch_size,
        "MaximumBatchingWindowInSeconds": queue.batching_window_seconds,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        # The batch's concurrency cap: never more scorers than the function's reserved concurrency,
        # which is carved out of the account's pool apart from the API's own.
        "ScalingConfig": {"MaximumConcurrency": queue.maximum_concurrency[stage]},
    }


def dead_letter_event_properties(stage: str) -> dict[str, Any]:
    spec = resources.BATCH_DLQ_FUNCTION
    return {
        "BatchSize": resources.BATCH_CHUNKS_QUEUE.batch_size,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": spec.reserved_concurrency[stage]},
    }


def function_merges(stage: str) -> dict[str, Resource]:
    queue = resources.BATCH_CHUNKS_QUEUE
    out: dict[str, Resource] = {}
    for spec, events, depends_on in (
        (resources.BATCH_FUNCTION, scorer_event_properties(stage), queue.logical_id),
        (resources.BATCH_DLQ_FUNCTION, dead_letter_event_properties(stage), queue.dlq_logical_id),
    ):
        properties = functions.function_properties(stage, spec)
        properties["Events"] = {event_id(spec): {"Properties": events}}
        out[names.logical_id(spec)] = {
            # Chalice names the queues by ARN string: only DependsOn orders the mappings after them.
            "DependsOn": [functions.log_group_id(spec), depends_on],
            "Properties": properties,
        }
    return out
