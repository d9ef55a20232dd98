"""Every original alert has its alarm with the threshold from resources.ALARM_THRESHOLDS; the
dashboard has the original's three boards; docs/OPERATIONS.md maps each alert to its alarm.

Expected values are written here from resources.py and SEED.md, not taken from infra/alarms.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import alarms as alarm_catalogue
from infra import names as infra_names

T = resources.ALARM_THRESHOLDS
DOCS = Path(__file__).resolve().parents[2] / "docs" / "OPERATIONS.md"


def expected_alarms(stage: str) -> dict[str, tuple[float, str, int, int]]:
    """{alarm: (threshold, comparison, period seconds, evaluation periods)}."""
    reserved = resources.API_FUNCTION.reserved_concurrency[stage]
    memory = resources.API_FUNCTION.memory_mb
    gt = "GreaterThanThreshold"
    return {
        "ApiDownAlarm": (1, "LessThanThreshold", 60, 1),
        "ApiErrorRatioWarningAlarm": (T.error_ratio_warning, gt, 60, 5),
        "ApiErrorRatioCriticalAlarm": (T.error_ratio_critical, gt, 60, 2),
        "ApiLatencyP95Alarm": (T.p95_latency_ms, gt, 60, 5),
        "ApiLatencyP99Alarm": (T.p99_latency_ms, gt, 60, 2),
        "ApiRequestRateAlarm": (T.request_rate_per_second, gt, 60, 5),
        "ApiConcurrencyWarningAlarm": (T.concurrency_warning_ratio * reserved, gt, 60, 5),
        "ApiConcurrencyCriticalAlarm": (T.concurrency_critical_ratio * reserved, gt, 60, 2),
        "ApiMemoryWarningAlarm": (T.memory_warning_ratio * memory, gt, 60, 5),
        "ApiMemoryCriticalAlarm": (T.memory_critical_ratio * memory, gt, 60, 1),
        "ApiFunctionErrorsAlarm": (T.function_errors_per_15_minutes, gt, 900, 1),
        "WorkerFunctionErrorsAlarm": (T.function_errors_per_15_minutes, gt, 900, 1),
        "DatabaseSystemErrorsAlarm": (0, gt, 60, 1),
        "DatabaseLatencyAlarm": (T.dynamodb_latency_ms, gt, 60, 5),
        "DeadLetterQueueNotEmptyAlarm": (T.dlq_visible_messages, gt, 60, 1),
        "QueueOldestMessageAgeAlarm": (T.oldest_message_age_seconds, gt, 60, 1),
        "ApiFunctionThrottlesAlarm": (0, gt, 60, 1),
        "WorkerFunctionThrottlesAlarm": (0, gt, 60, 1),
        # Issue 9: the reconciler's FAILED count and runs, failed PutEvents; issue 22: webhook
        # messages the delivery function could not process.
        "ReconcilerFailedAlarm": (0, gt, 900, 1),
        "ReconcilerFunctionErrorsAlarm": (0, gt, 900, 1),
        "DecisionEventsFailedAlarm": (0, gt, 300, 1),
        "WebhookDeliveriesDeadLetterQueueNotEmptyAlarm": (0, gt, 60, 1),
        # Issue 10: cases past their SLA for 15 minutes (three 5-minute reconciler reports), the
        # oldest open case older than one business day.
        "ReviewSlaBreachedAlarm": (0, gt, 300, 3),
        "ReviewBacklogOldestAgeAlarm": (86_400, gt, 300, 1),
        # Issue 21: critical fraud flags, unchecked applications, the rejection-rate spike.
        "FraudCriticalFlagsAlarm": (0, gt, 300, 1),
        "FraudCountersUncheckedAlarm": (0, gt, 300, 1),
        "RejectionRateSpikeAlarm": (0.6, gt, 900, 1),
        # Issue 18's gaps: routing. A read failing for 10 minutes (the last routing keeps serving);
        # any unstored fallback or challenger given way in 5 minutes; shadows left out in 15.
        "RoutingReadFailedAlarm": (0, gt, 300, 2),
        "RoutingFallbacksAlarm": (0, gt, 300, 1),
        "ChallengerUnavailableAlarm": (0, gt, 300, 1),
        "ShadowFailedAlarm": (0, gt, 900, 1),
        # Issue 20: the daily monitoring run's worst figures (one data point a day).
        "MonitoringScorePsiAlarm": (0.25, gt, 86_400, 1),
        "MonitoringApprovalRateMoveAlarm": (0.10, gt, 86_400, 1),
        "MonitoringOverrideRateAlarm": (0.20, gt, 86_400, 1),
        "MonitoringDisparateImpactAlarm": (0.8, "LessThanThreshold", 86_400, 1),
        "MonitoringRejectionRateSpikeAlarm": (0, gt, 86_400, 1),
        # Issue 20, fan-out: a run's part that kept failing (the run is failed).
        "MonitoringPartsDeadLetterAlarm": (0, gt, 60, 1),
        # Issue 19's gaps: batches. Chunks left in the DLQ for 10 minutes, scorer crashes (more than
        # 3 in 15 minutes) and any throttle, a chunk waiting more than 30 minutes.
        "BatchChunksDeadLetterQueueNotEmptyAlarm": (0, gt, 300, 2),
        "BatchScorerErrorsAlarm": (3, gt, 900, 1),
        "BatchScorerThrottlesAlarm": (0, gt, 300, 1),
        "BatchChunksOldestMessageAgeAlarm": (1800, gt, 300, 1),
    }


def _period(properties: dict) -> int:
    if "Period" in properties:
        return properties["Period"]
    periods = {m.get("MetricStat", m).get("Period") for m in properties["Metrics"]} - {None}
    (period,) = periods
    return period


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_alarm_present_with_its_threshold(templates: dict[str, Template], stage: str) -> None:
    template = templates[stage]
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(expected_alarms(stage))
    for logical_id, (threshold, comparison, period, evaluations) in expected_alarms(stage).items():
        properties = alarms[logical_id]["Properties"]
        assert properties["Threshold"] == pytest.approx(threshold), logical_id
        assert properties["ComparisonOperator"] == comparison, logical_id
        assert _period(properties) == period, logical_id
        assert properties["EvaluationPeriods"] == properties["DatapointsToAlarm"] == evaluations, logical_id
        assert properties["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical_id
        assert alarms[logical_id].get("Condition") is None
    assert template["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize(
    ("logical_id", "metric"),
    [
        ("ReconcilerFailedAlarm", "ReconcilerFailed"),
        ("DecisionEventsFailedAlarm", "EventsFailed"),
        ("RoutingReadFailedAlarm", "RoutingReadFailed"),
        ("RoutingFallbacksAlarm", "RoutingFallbacks"),
        ("ChallengerUnavailableAlarm", "ChallengerUnavailable"),
        ("ShadowFailedAlarm", "ShadowFailed"),
    ],
)
def test_app_count_alarms_sum_the_emf_metric_over_the_service(
    templates: dict[str, Template], stage: str, logical_id: str, metric: str
) -> None:
    """The app's EMF counts (namespace METRICS_NAMESPACE, Powertools' ``service`` dimension) are
    summed by a Metrics Insights query, so extra dimensions on the emitting side cannot hide them."""
    (query,) = templates[stage]["Resources"][logical_id]["Properties"]["Metrics"]
    assert query["Expression"] == (
        f"SELECT SUM({metric}) FROM \"{resources.METRICS_NAMESPACE}\" WHERE service = '{resources.SERVICE}'"
    )
    assert query["ReturnData"] is True


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize(
    ("logical_id", "metric"),
    [
        ("ReviewSlaBreachedAlarm", "ReviewSlaBreached"),
        ("ReviewBacklogOldestAgeAlarm", "ReviewOldestOpenAgeSeconds"),
    ],
)
def test_review_desk_alarms_read_the_reconcilers_gauges_by_maximum(
    templates: dict[str, Template], stage: str, logical_id: str, metric: str
) -> None:
    """Gauges, not counts: the largest value any report in the period carried (two reports in one
    period must not add up), over the service whatever other dimensions they carry."""
    (query,) = templates[stage]["Resources"][logical_id]["Properties"]["Metrics"]
    assert query["Expression"] == (
        f"SELECT MAX({metric}) FROM \"{resources.METRICS_NAMESPACE}\" WHERE service = '{resources.SERVICE}'"
    )
    assert query["Period"] == 60 * resources.RECONCILE_EVERY_MINUTES
    assert T.review_oldest_open_age_seconds == 24 * 3600 and T.review_sla_breached_cases == 0


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_reconciler_and_webhook_alarms_watch_the_right_resources(
    templates: dict[str, Template], stage: str
) -> None:
    resources_ = templates[stage]["Resources"]
    errors = resources_["ReconcilerFunctionErrorsAlarm"]["Properties"]
    assert errors["Dimensions"] == [
        {
            "Name": "FunctionName",
            "Value": resources_["ReconcilePendingApplications"]["Properties"]["FunctionName"],
        }
    ]
    dlq = resources_["WebhookDeliveriesDeadLetterQueueNotEmptyAlarm"]["Properties"]
    queue = resources.WEBHOOK_QUEUE.dlq_logical_id
    assert dlq["Dimensions"] == [{"Name": "QueueName", "Value": resources_[queue]["Properties"]["QueueName"]}]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_error_ratio_is_metric_math_over_5xx_and_count(templates: dict[str, Template], stage: str) -> None:
    metrics = templates[stage]["Resources"]["ApiErrorRatioCriticalAlarm"]["Properties"]["Metrics"]
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in metrics if "MetricStat" in m}
    assert names == {"5XXError", "Count"}
    (expression,) = [m for m in metrics if m.get("ReturnData")]
    assert "/" in expression["Expression"]
    for metric in metrics:
        if "MetricStat" in metric:
            assert {"Name": "ApiName", "Value": f"{resources.SERVICE}-{stage}"} in metric["MetricStat"][
                "Metric"
            ]["Dimensions"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_latency_alarms_use_percentiles(templates: dict[str, Template], stage: str) -> None:
    resources_ = templates[stage]["Resources"]
    assert resources_["ApiLatencyP95Alarm"]["Properties"]["ExtendedStatistic"] == "p95"
    assert resources_["ApiLatencyP99Alarm"]["Properties"]["ExtendedStatistic"] == "p99"


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_memory_alarm_reads_the_metric_filter_on_the_report_line(
    templates: dict[str, Template], stage: str
) -> None:
    template = templates[stage]
    alarm = template["Resources"]["ApiMemoryCriticalAlarm"]["Properties"]
    filters = resources_of_type(template, "AWS::Logs::MetricFilter").values()
    transformations = [t for f in filters for t in f["Properties"]["MetricTransformations"]]
    assert {"MetricNamespace": alarm["Namespace"], "MetricName": alarm["MetricName"]}.items() <= next(
        t for t in transformations if t["MetricName"] == alarm["MetricName"]
    ).items()


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_database_alarms_cover_every_table(templates: dict[str, Template], stage: str) -> None:
    for logical_id in ("DatabaseSystemErrorsAlarm", "DatabaseLatencyAlarm"):
        (query,) = templates[stage]["Resources"][logical_id]["Properties"]["Metrics"]
        for spec in resources.TABLES:
            assert f"'{resources.resource_name(stage, spec.suffix)}'" in query["Expression"]


def test_every_original_alert_is_mapped() -> None:
    mapped = {a.original_alert for a in alarm_catalogue.alarms("prod")} | {alarm_catalogue.DISK_ALERT}
    assert set(alarm_catalogue.ORIGINAL_ALERTS) <= mapped
    assert len(alarm_catalogue.ORIGINAL_ALERTS) == 14


def test_deployment_doc_maps_every_alert_to_its_alarm() -> None:
    text = DOCS.read_text()
    for alarm in alarm_catalogue.alarms("prod"):
        assert f"`{alarm.logical_id}`" in text, alarm.logical_id
    for alert in alarm_catalogue.ORIGINAL_ALERTS:
        assert alert in text, alert


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_dashboard_has_the_three_boards(templates: dict[str, Template], stage: str) -> None:
    (dashboard,) = resources_of_type(templates[stage], "AWS::CloudWatch::Dashboard").values()
    body_sub = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body = json.loads(body_sub[0] if isinstance(body_sub, list) else body_sub)
    headers = [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"]
    assert headers == [
        "## API overview",
        "## Resources",
        "## Database and queue",
        "## Reconciler and decision events",
        "## Review desk",
        "## Monitoring (daily run over stored decisions)",
        "## Batches (chunk queue, DLQ, scorer)",
    ]
    titles = " | ".join(w["properties"].get("title", "") for w in body["widgets"])
    for expected in (
        "Requests per second",
        "status class",
        "p50 / p90 / p99",
        "Error rate",
        "Concurrent",
        "memory",
        "Throttles",
        "Cold starts",
        "DynamoDB",
        "Queue depth",
        "Dead-letter",
        "Reconciler: requeued / failed",
        "Decision events: published / failed",
        "Webhooks: delivered",
        "Review cases open",
        "Oldest open case age",
        "Override rate",
        "Time to decide",
    ):
        assert expected in titles, expected
    text = json.dumps(body)
    for metric in ("ReconcilerRequeued", "ReconcilerFailed", "EventsPublished", "EventsFailed"):
        assert f"SUM({metric})" in text, metric
    # The reconciler is on the Resources board beside the other functions.
    assert infra_names.function_name(stage, resources.RECONCILER_FUNCTION) in text


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_saved_logs_insights_queries(templates: dict[str, Template], stage: str) -> None:
    queries = resources_of_type(templates[stage], "AWS::Logs::QueryDefinition")
    log_groups = {
        g["Properties"]["LogGroupName"]
        for g in resources_of_type(templates[stage], "AWS::Logs::LogGroup").values()
    }
    assert len(queries) >= 5
    for query in queries.values():
        assert set(query["Properties"]["LogGroupNames"]) <= log_groups


def _widget(body: dict, title_start: str) -> dict:
    (widget,) = [w for w in body["widgets"] if w["properties"].get("title", "").startswith(title_start)]
    return widget["properties"]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_review_desk_board(templates: dict[str, Template], stage: str) -> None:
    (dashboard,) = resources_of_type(templates[stage], "AWS::CloudWatch::Dashboard").values()
    body_sub = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    body = json.loads(body_sub[0] if isinstance(body_sub, list) else body_sub)
    namespace = resources.METRICS_NAMESPACE
    # The override rate is metric math over the two counts (searches: several may share a widget,
    # unlike Metrics Insights queries), overrides / completed as a percentage.
    rate = _widget(body, "Override rate")["metrics"]
    expressions = {m[0]["id"]: m[0]["expression"] for m in rate}
    assert expressions["rate"] == "IF(completed > 0, 100 * overrides / completed, 0)"
    assert f'Namespace="{namespace}" MetricName="ReviewOverrides"' in expressions["overrides"]
    assert f'Namespace="{namespace}" MetricName="ReviewsCompleted"' in expressions["completed"]
    assert [m[0]["id"] for m in rate if m[0].get("visible", True)] == ["rate"]
    # One Metrics Insights query per widget (a GetMetricData request carries at most one).
    for title, query in (
        ("Review cases open", "SUM(ReviewsOpen)"),
        ("Oldest open case age", "MAX(ReviewOldestOpenAgeSeconds)"),
        ("Time to decide", "AVG(ReviewTimeToDecideSeconds)"),
    ):
        selects = [
            m[0]["expression"] for m in _widget(body, title)["metrics"] if "SELECT" in m[0]["expression"]
        ]
        assert len(selects) == 1 and query in selects[0], title
    oldest = _widget(body, "Oldest open case age")
    assert oldest["annotations"]["horizontal"][0]["value"] == T.review_oldest_open_age_seconds / 3600
    # The board's alarm widget shows the two review alarms (ARNs as Fn::Sub variables).
    variables = body_sub[1] if isinstance(body_sub, list) else {}
    assert {"Fn::GetAtt": ["ReviewSlaBreachedAlarm", "Arn"]} in variables.values()
    assert {"Fn::GetAtt": ["ReviewBacklogOldestAgeAlarm", "Arn"]} in variables.values()
