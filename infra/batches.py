"""Batches and backtests in the template (issue 19): the batch path's alarms and dashboard row. The
scorer's and the DLQ handler's merges are ``infra.functions.fan_out_merges``; the table, the chunk queue and
its DLQ, and the results bucket with its lifecycle rule come from ``chalicelib/resources.py`` like
every other (data_stores); IAM is in policies; the functions are app.py's ``score_batch_chunks`` and
``settle_failed_batch_chunks``.
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import alarms, names

Resource = dict[str, Any]


# -- alarms and the dashboard row (one per row of resources.BATCH_ALARMS) ---------------------------
BATCH_HEADER = "Batches (chunk queue, DLQ, scorer)"


def _dimension(spec: resources.BatchAlarmSpec, stage: str) -> tuple[str, str]:
    queue = resources.BATCH_CHUNKS_QUEUE
    if spec.on == "scorer":
        return "FunctionName", names.function_name(stage, resources.BATCH_FUNCTION)
    suffix = queue.dlq_suffix if spec.on == "dlq" else queue.suffix
    return "QueueName", resources.resource_name(stage, suffix)


def batch_alarms() -> list[alarms.Alarm]:
    def metrics(spec: resources.BatchAlarmSpec) -> Any:
        def dimensions(stage: str) -> list[dict[str, str]]:
            name, value = _dimension(spec, stage)
            return [{"Name": name, "Value": value}]

        return alarms._single(spec.namespace, spec.metric, dimensions, spec.statistic)

    return [
        alarms.Alarm(
            logical_id=spec.logical_id,
            original_alert=None,
            description=spec.description,
            threshold=spec.threshold,
            comparison=alarms.GT,
            period_seconds=spec.period_minutes * alarms.MINUTE,
            evaluation_periods=spec.evaluation_periods,
            metrics=metrics(spec),
        )
        for spec in resources.BATCH_ALARMS
    ]


def dashboard_row(stage: str) -> list[dict[str, Any]]:
    """The batch row: each alarm's metric against its threshold."""

    def graph(spec: resources.BatchAlarmSpec) -> dict[str, Any]:
        name, value = _dimension(spec, stage)
        return {
            "type": "metric",
            "width": 6,
            "height": 6,
            "properties": {
                "title": f"Batches: {spec.metric} ({spec.on})",
                "view": "timeSeries",
                "region": "${AWS::Region}",
                "stat": spec.statistic,
                "period": spec.period_minutes * alarms.MINUTE,
                "metrics": [[spec.namespace, spec.metric, name, value]],
                "annotations": {"horizontal": [{"value": spec.threshold, "label": "alarm"}]},
            },
        }

    header = {"type": "text", "width": 24, "height": 1, "properties": {"markdown": f"## {BATCH_HEADER}"}}
    return [header, *(graph(spec) for spec in resources.BATCH_ALARMS)]
