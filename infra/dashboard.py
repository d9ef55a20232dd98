"""The CloudWatch dashboard (the original's three Grafana boards) and saved Logs Insights queries."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import resources
from infra import alarms, functions, names

Resource = dict[str, Any]
BOARDS = ("API overview", "Resources", "Database and queue", "Reconciler and decision events", "Review desk")
WIDTH = 24  # dashboard grid width


def _header(text: str) -> dict[str, Any]:
    return {"type": "text", "width": WIDTH, "height": 1, "properties": {"markdown": f"## {text}"}}


def _graph(
    title: str,
    metrics: list[list[Any]],
    *,
    stat: str = "Sum",
    annotations: list[dict[str, Any]] | None = None,
    period: int = 60,
) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "title": title,
        "view": "timeSeries",
        "region": "${AWS::Region}",
        "stat": stat,
        "period": period,
        "metrics": metrics,
    }
    if annotations:
        properties["annotations"] = {"horizontal": annotations}
    return {"type": "metric", "width": 8, "height": 6, "properties": properties}


def _api(stage: str) -> list[str]:
    dims = alarms.api_dimensions(stage)
    return [dims[0]["Name"], dims[0]["Value"], dims[1]["Name"], dims[1]["Value"]]


def _fn(stage: str, spec: resources.FunctionSpec) -> list[str]:
    return ["FunctionName", names.function_name(stage, spec)]


def api_overview(stage: str) -> list[dict[str, Any]]:
    api = _api(stage)
    t = resources.ALARM_THRESHOLDS
    return [
        _header(BOARDS[0]),
        _graph(
            "Requests per second",
            [
                [{"expression": "m1 / PERIOD(m1)", "label": "requests/s", "id": "e1"}],
                ["AWS/ApiGateway", "Count", *api, {"id": "m1", "visible": False}],
            ],
        ),
        _graph(
            "Responses by status class",
            [
                [{"expression": "m1 - m4 - m5", "label": "2xx/3xx", "id": "e1"}],
                ["AWS/ApiGateway", "Count", *api, {"id": "m1", "visible": False}],
                ["AWS/ApiGateway", "4XXError", *api, {"id": "m4", "label": "4xx"}],
                ["AWS/ApiGateway", "5XXError", *api, {"id": "m5", "label": "5xx"}],
            ],
        ),
        _graph(
            "Error rate (5xx / requests)",
            [
                [{"expression": "IF(m1 > 0, 100 * m5 / m1, 0)", "label": "5xx %", "id": "e1"}],
                ["AWS/ApiGateway", "Count", *api, {"id": "m1", "visible": False}],
                ["AWS/ApiGateway", "5XXError", *api, {"id": "m5", "visible": False}],
            ],
            annotations=[
                {"value": 1, "label": "1%"},
                {"value": 100 * t.error_ratio_warning, "label": "warning"},
            ],
        ),
        _graph(
            "Latency p50 / p90 / p99 (ms)",
            [
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p90"}],
                ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
            ],
            stat="p50",
            annotations=[{"value": 500, "label": "0.5 s"}, {"value": t.p95_latency_ms, "label": "1 s"}],
        ),
        _graph(
            "Average latency vs integration latency (ms)",
            [
                ["AWS/ApiGateway", "Latency", *api],
                ["AWS/ApiGateway", "IntegrationLatency", *api],
            ],
            stat="Average",
        ),
        {
            "type": "alarm",
            "width": 8,
            "height": 6,
            "properties": {
                "title": "Status (alarms)",
                "alarms": [
                    {"Fn::GetAtt": [alarm.logical_id, "Arn"]}
                    for alarm in alarms.alarms(stage)
                    if alarm.logical_id
                    in ("ApiDownAlarm", "ApiErrorRatioCriticalAlarm", "ApiLatencyP99Alarm")
                ],
            },
        },
    ]


def resources_board(stage: str) -> list[dict[str, Any]]:
    api, worker, reconciler = resources.API_FUNCTION, resources.WORKER_FUNCTION, resources.RECONCILER_FUNCTION
    widgets = [
        _header(BOARDS[1]),
        _graph(
            "Concurrent executions (vs reserved)",
            [["AWS/Lambda", "ConcurrentExecutions", *_fn(stage, spec)] for spec in (api, worker)],
            stat="Maximum",
            annotations=[{"value": api.reserved_concurrency[stage], "label": "API reserved"}]
            if stage in api.reserved_concurrency
            else None,
        ),
        _graph(
            "Duration p50 / p99 (ms)",
            [
                ["AWS/Lambda", "Duration", *_fn(stage, spec), {"stat": stat}]
                for spec in (api, worker, reconciler)
                for stat in ("p50", "p99")
            ],
            stat="p50",
        ),
        _graph(
            "Max memory used (MB)",
            [
                [names.ALARM_NAMESPACE, functions.memory_metric_name(spec)]
                for spec in (api, worker, reconciler)
            ],
            stat="Maximum",
            annotations=[{"value": api.memory_mb, "label": "configured"}],
        ),
        _graph(
            "Throttles and errors",
            [
                ["AWS/Lambda", metric, *_fn(stage, spec)]
                for spec in (api, worker, reconciler)
                for metric in ("Throttles", "Errors")
            ],
        ),
        _graph(
            "Provisioned concurrency spillover",
            [
                ["AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", *_fn(stage, api)],
            ],
        ),
        {
            "type": "log",
            "width": 8,
            "height": 6,
            "properties": {
                "title": "Cold starts (init duration)",
                "region": "${AWS::Region}",
                "view": "timeSeries",
                "query": "SOURCE '"
                + "' | SOURCE '".join(names.function_log_group(stage, s) for s in (api, worker))
                + '\' | filter @type = "REPORT" and ispresent(@initDuration)'
                " | stats count(*) as cold_starts, avg(@initDuration) as avg_init_ms by bin(5m)",
            },
        },
    ]
    return widgets


def database_board(stage: str) -> list[dict[str, Any]]:
    queue = resources.APPLICATIONS_QUEUE
    tables = list(names.table_names(stage).values())
    return [
        _header(BOARDS[2]),
        _graph(
            "DynamoDB successful request latency (ms)",
            [
                ["AWS/DynamoDB", "SuccessfulRequestLatency", "TableName", table, "Operation", op]
                for table in tables
                for op in ("GetItem", "PutItem")
            ],
            stat="Average",
            annotations=[{"value": resources.ALARM_THRESHOLDS.dynamodb_latency_ms, "label": "alarm"}],
        ),
        _graph(
            "DynamoDB throttled requests and system errors",
            [
                [
                    {
                        "expression": alarms.dynamodb_insights_query(stage, "SUM", metric),
                        "label": metric,
                        "id": f"q{i}",
                    }
                ]
                for i, metric in enumerate(("ThrottledRequests", "SystemErrors"))
            ],
        ),
        _graph(
            "DynamoDB consumed capacity",
            [
                ["AWS/DynamoDB", metric, "TableName", table]
                for table in tables
                for metric in ("ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits")
            ],
        ),
        _graph(
            "Queue depth",
            [
                ["AWS/SQS", metric, "QueueName", resources.resource_name(stage, queue.suffix)]
                for metric in ("ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible")
            ],
            stat="Maximum",
        ),
        _graph(
            "Oldest message age (s)",
            [
                [
                    "AWS/SQS",
                    "ApproximateAgeOfOldestMessage",
                    "QueueName",
                    resources.resource_name(stage, queue.suffix),
                ]
            ],
            stat="Maximum",
        ),
        _graph(
            "Dead-letter queue",
            [
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    resources.resource_name(stage, queue.dlq_suffix),
                ]
            ],
            stat="Maximum",
        ),
    ]


def _app_counts(title: str, metrics: tuple[str, ...]) -> dict[str, Any]:
    # Metrics Insights over the service (as the alarms): counts whatever dimensions they carry.
    return _graph(
        title,
        [
            [{"expression": alarms.app_metric_query(metric), "label": metric, "id": f"q{i}", "period": 300}]
            for i, metric in enumerate(metrics)
        ],
    )


def reconciler_and_events_board(stage: str) -> list[dict[str, Any]]:
    return [
        _header(BOARDS[3]),
        _app_counts(
            "Reconciler: requeued / failed applications",
            (alarms.RECONCILER_REQUEUED_METRIC, alarms.RECONCILER_FAILED_METRIC),
        ),
        _app_counts(
            "Decision events: published / failed",
            (alarms.EVENTS_PUBLISHED_METRIC, alarms.EVENTS_FAILED_METRIC),
        ),
        # Lenders' webhooks (chalicelib.service.webhooks counts them).
        _app_counts(
            "Webhooks: delivered / failed attempts / failed deliveries",
            ("WebhooksDelivered", "WebhookAttemptsFailed", "WebhookDeliveriesFailed"),
        ),
        _graph(
            "Webhook queue: waiting / dead-letter",
            [
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    resources.resource_name(stage, suffix),
                    {"stat": "Maximum", "label": label},
                ]
                for suffix, label in (
                    (resources.WEBHOOK_QUEUE.suffix, "waiting"),
                    (resources.WEBHOOK_QUEUE.dlq_suffix, "dead-letter queue"),
                )
            ],
        ),
    ]


HOUR = 3600


def _app_query_graph(
    title: str,
    metric: str,
    function: str,
    *,
    period: int,
    scale: float = 1,
    annotations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One Metrics Insights query per widget (a GetMetricData request may carry only one), shown
    through an expression when it is rescaled (seconds to hours)."""
    query = {"expression": alarms.app_metric_query(metric, function), "id": "q", "period": period}
    if scale == 1:
        return _graph(title, [[{**query, "label": metric}]], annotations=annotations, period=period)
    shown = {"expression": f"q / {scale:g}", "label": title, "id": "e"}
    return _graph(title, [[shown], [{**query, "visible": False}]], annotations=annotations, period=period)


def _search_sum(metric: str, period: int) -> str:
    """Every series of an app metric, whatever dimensions it was emitted with, summed. A search
    (unlike a Metrics Insights query) may appear several times in one widget, so a ratio of two
    counts can be computed in one request."""
    search = f"SEARCH('Namespace=\"{resources.METRICS_NAMESPACE}\" MetricName=\"{metric}\"', 'Sum', {period})"
    return f"SUM({search})"


def review_desk_board(stage: str) -> list[dict[str, Any]]:
    t = resources.ALARM_THRESHOLDS
    review_alarms = ("ReviewSlaBreachedAlarm", "ReviewBacklogOldestAgeAlarm")
    return [
        _header(BOARDS[4]),
        # SUM over the reconciler's period: one report per run, totalled if it is split by status.
        _app_query_graph(
            "Review cases open (open + claimed)",
            alarms.REVIEWS_OPEN_METRIC,
            "SUM",
            period=alarms.REVIEW_GAUGE_PERIOD_SECONDS,
        ),
        _app_query_graph(
            "Oldest open case age (h)",
            alarms.REVIEW_OLDEST_OPEN_AGE_METRIC,
            "MAX",
            period=alarms.REVIEW_GAUGE_PERIOD_SECONDS,
            scale=HOUR,
            annotations=[{"value": t.review_oldest_open_age_seconds / HOUR, "label": "alarm"}],
        ),
        _graph(
            "Override rate (% of completed reviews, hourly)",
            [
                [
                    {
                        "expression": "IF(completed > 0, 100 * overrides / completed, 0)",
                        "label": "reviewer outcome differs from the model's (%)",
                        "id": "rate",
                    }
                ],
                [
                    {
                        "expression": _search_sum(alarms.REVIEW_OVERRIDES_METRIC, HOUR),
                        "id": "overrides",
                        "visible": False,
                    }
                ],
                [
                    {
                        "expression": _search_sum(alarms.REVIEWS_COMPLETED_METRIC, HOUR),
                        "id": "completed",
                        "visible": False,
                    }
                ],
            ],
            period=HOUR,
        ),
        _app_query_graph(
            "Time to decide, average (h)",
            alarms.REVIEW_TIME_TO_DECIDE_METRIC,
            "AVG",
            period=HOUR,
            scale=HOUR,
        ),
        {
            "type": "alarm",
            "width": 8,
            "height": 6,
            "properties": {
                "title": "Review desk alarms",
                "alarms": [{"Fn::GetAtt": [logical_id, "Arn"]} for logical_id in review_alarms],
            },
        },
    ]


def _layout(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Place widgets left to right, wrapping at the grid width."""
    x = y = row_height = 0
    for widget in widgets:
        if x + widget["width"] > WIDTH:
            x, y, row_height = 0, y + row_height, 0
        widget["x"], widget["y"] = x, y
        x += widget["width"]
        row_height = max(row_height, widget["height"])
    return widgets


def dashboard_body(stage: str) -> dict[str, Any]:
    boards = api_overview(stage) + resources_board(stage) + database_board(stage)
    from infra import monitoring  # the monitoring row (issue 20); imports this module

    boards += reconciler_and_events_board(stage) + review_desk_board(stage) + monitoring.dashboard_row(stage)
    from infra import batches  # the batch row (issue 19's gaps); imports infra.alarms

    boards += batches.dashboard_row(stage)
    return {"widgets": _layout(boards)}


def _to_sub(value: Any) -> dict[str, Any]:
    """A dashboard body as ``Fn::Sub`` text: intrinsics inside (alarm ARNs) become ${...} variables."""
    variables: dict[str, Any] = {}

    def replace(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Fn::GetAtt"}:
            name = f"v{len(variables)}"
            variables[name] = node
            return f"${{{name}}}"
        if isinstance(node, dict):
            return {key: replace(item) for key, item in node.items()}
        if isinstance(node, list):
            return [replace(item) for item in node]
        return node

    text = json.dumps(replace(value), separators=(",", ":"))
    return {"Fn::Sub": [text, variables]} if variables else {"Fn::Sub": text}


# Saved Logs Insights queries: the original's `docker-compose logs` troubleshooting, by question.
def query_definitions(stage: str) -> dict[str, Resource]:
    api_logs = names.function_log_group(stage, resources.API_FUNCTION)
    worker_logs = names.function_log_group(stage, resources.WORKER_FUNCTION)
    reconciler_logs = names.function_log_group(stage, resources.RECONCILER_FUNCTION)
    access_logs = names.access_log_group(stage)
    queries = {
        "ErrorsQuery": (
            "errors",
            [api_logs, worker_logs, reconciler_logs],
            "fields @timestamp, level, message, correlation_id, exception\n"
            '| filter level = "ERROR" or level = "CRITICAL" or ispresent(exception)\n'
            "| sort @timestamp desc | limit 100",
        ),
        "SlowRequestsQuery": (
            "slow-requests",
            [access_logs],
            "fields @timestamp, method, resource, status, latency_ms, request_id\n"
            "| filter latency_ms > 1000 | sort latency_ms desc | limit 100",
        ),
        "StatusBreakdownQuery": (
            "status-breakdown",
            [access_logs],
            "stats count(*) as requests by status, resource | sort requests desc",
        ),
        "ThrottledRequestsQuery": (
            "throttled-requests",
            [access_logs],
            "fields @timestamp, ip, api_key_id, resource, error_type\n"
            '| filter status = "429" | stats count(*) as throttled by error_type, api_key_id, ip',
        ),
        "RequestByIdQuery": (
            "request-by-id",
            [access_logs, api_logs],
            "fields @timestamp, @log, @message\n"
            '| filter request_id = "REPLACE_WITH_REQUEST_ID" or correlation_id = "REPLACE_WITH_REQUEST_ID"',
        ),
        "ColdStartsQuery": (
            "cold-starts",
            [api_logs, worker_logs, reconciler_logs],
            'filter @type = "REPORT" and ispresent(@initDuration)\n'
            "| stats count(*) as cold_starts, avg(@initDuration) as avg_init_ms, "
            "max(@maxMemoryUsed / 1000 / 1000) as max_memory_mb by bin(15m)",
        ),
        "WorkerFailuresQuery": (
            "worker-failures",
            [worker_logs],
            "fields @timestamp, message, application_id, message_id\n"
            '| filter level = "ERROR" or level = "WARNING" | sort @timestamp desc | limit 100',
        ),
        "ReconcilerRunsQuery": (
            "reconciler-runs",
            [reconciler_logs],
            "fields @timestamp, level, message, application_id\n"
            '| filter ispresent(application_id) or level != "INFO" | sort @timestamp desc | limit 100',
        ),
    }
    return {
        logical_id: {
            "Type": "AWS::Logs::QueryDefinition",
            "Properties": {
                "Name": f"{resources.SERVICE}-{stage}/{name}",
                "LogGroupNames": groups,
                "QueryString": query,
            },
        }
        for logical_id, (name, groups, query) in queries.items()
    }


def dashboard_resources(stage: str) -> dict[str, Resource]:
    out: dict[str, Resource] = {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {
                "DashboardName": f"{resources.SERVICE}-{stage}",
                "DashboardBody": _to_sub(dashboard_body(stage)),
            },
        }
    }
    out.update(query_definitions(stage))
    return out
