"""CloudWatch alarms: the original's 14 Prometheus alerts in their serverless meaning, plus the
queue and throttle alarms a serverless system needs. Thresholds come from
``resources.ALARM_THRESHOLDS``; the evaluation windows ("for 5 m") are the original's.

``ALARMS`` is the catalogue; docs/OPERATIONS.md has the same mapping as a table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib import resources
from infra import functions, names

Resource = dict[str, Any]
T = resources.ALARM_THRESHOLDS
MINUTE = 60

# The alerts of the original system (SEED.md), in its order.
ORIGINAL_ALERTS = (
    "API down 1 m",
    "5xx ratio > 5% for 5 m",
    "5xx ratio > 10% for 2 m",
    "p95 latency > 1 s for 5 m",
    "p99 latency > 5 s for 2 m",
    "request rate > 1000/s for 5 m",
    "CPU > 80%",
    "CPU > 95%",
    "memory > 80%",
    "memory > 95%",
    "disk < 10%",
    "restarts > 3 in 15 m",
    "database down 1 m",
    "database latency > 0.5 s for 5 m",
)
# "disk < 10%" has no alarm: a Lambda function has no disk that fills up. Its serverless meaning
# is the deployment package against Lambda's 250 MB unzipped limit, checked when packaging
# (infra/package.py: PACKAGE_SIZE_ALERT_RATIO); the code writes nothing to /tmp.
DISK_ALERT = "disk < 10%"


# Keyword-only: nine arguments, four of them bare numbers (threshold, period, evaluations...), are
# unreadable by position and easy to swap.
@dataclass(frozen=True, kw_only=True)
class Alarm:
    logical_id: str
    original_alert: str | None  # None: an addition the original did not have
    description: str
    threshold: float
    comparison: str
    period_seconds: int
    evaluation_periods: int
    # (stage, period seconds) -> {"Metrics": [...]} or the single-metric properties
    metrics: Callable[[str, int], dict[str, Any]]
    treat_missing_data: str = "notBreaching"
    condition: str | None = None  # a template Condition: the alarm exists only where it holds


# --------------------------------------------------------------------------------------------
# Metric helpers
# --------------------------------------------------------------------------------------------
def api_dimensions(stage: str) -> list[dict[str, str]]:
    return [
        {"Name": "ApiName", "Value": f"{resources.SERVICE}-{stage}"},
        {"Name": "Stage", "Value": names.api_gateway_stage_name(stage)},
    ]


def _metric(
    namespace: str, metric: str, dimensions: list[dict[str, Any]], stat: str, period: int
) -> dict[str, Any]:
    return {
        "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
        "Period": period,
        "Stat": stat,
    }


def _single(
    namespace: str, metric: str, dimensions: Callable[[str], list[dict[str, Any]]], stat: str
) -> Callable[[str, int], dict[str, Any]]:
    def build(stage: str, period: int) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": dimensions(stage),
            "Period": period,
        }
        if stat.startswith("p"):
            properties["ExtendedStatistic"] = stat
        else:
            properties["Statistic"] = stat
        return properties

    return build


def _error_ratio(stage: str, period: int) -> dict[str, Any]:
    dims = api_dimensions(stage)
    return {
        "Metrics": [
            {
                "Id": "errors",
                "MetricStat": _metric("AWS/ApiGateway", "5XXError", dims, "Sum", period),
                "ReturnData": False,
            },
            {
                "Id": "requests",
                "MetricStat": _metric("AWS/ApiGateway", "Count", dims, "Sum", period),
                "ReturnData": False,
            },
            {
                "Id": "ratio",
                "Expression": "IF(requests > 0, errors / requests, 0)",
                "Label": "5xx ratio",
                "ReturnData": True,
            },
        ]
    }


def _request_rate(stage: str, period: int) -> dict[str, Any]:
    dims = api_dimensions(stage)
    return {
        "Metrics": [
            {
                "Id": "requests",
                "MetricStat": _metric("AWS/ApiGateway", "Count", dims, "Sum", period),
                "ReturnData": False,
            },
            {
                "Id": "rate",
                "Expression": "requests / PERIOD(requests)",
                "Label": "requests per second",
                "ReturnData": True,
            },
        ]
    }


def dynamodb_insights_query(stage: str, function: str, metric: str) -> str:
    """A Metrics Insights query over every table of the stage and every operation."""
    tables = " OR ".join(f"TableName = '{name}'" for name in names.table_names(stage).values())
    return f'SELECT {function}({metric}) FROM SCHEMA("AWS/DynamoDB", Operation, TableName) WHERE {tables}'


def _dynamodb_query(function: str, metric: str) -> Callable[[str, int], dict[str, Any]]:
    def build(stage: str, period: int) -> dict[str, Any]:
        query = dynamodb_insights_query(stage, function, metric)
        return {"Metrics": [{"Id": "tables", "Expression": query, "Period": period, "ReturnData": True}]}

    return build


def app_metric_query(metric: str, function: str = "SUM") -> str:
    """A Metrics Insights query aggregating one of the app's EMF metrics (Powertools, namespace
    METRICS_NAMESPACE) over the service, whatever other dimensions the emitting code added: an
    alarm on a plain metric matches one exact dimension set and would miss a count emitted with a
    route or status dimension beside ``service``. SUM for counts; MAX for the review desk's gauges
    (a gauge reported twice in one period must not double, and the oldest case is the largest
    age whichever dimension it was reported under)."""
    return (
        f'SELECT {function}({metric}) FROM "{resources.METRICS_NAMESPACE}" '
        f"WHERE service = '{resources.SERVICE}'"
    )


def _app_metric(metric: str, function: str = "SUM") -> Callable[[str, int], dict[str, Any]]:
    def build(stage: str, period: int) -> dict[str, Any]:
        query = app_metric_query(metric, function)
        return {"Metrics": [{"Id": "count", "Expression": query, "Period": period, "ReturnData": True}]}

    return build


def _function_dims(spec: resources.FunctionSpec) -> Callable[[str], list[dict[str, str]]]:
    return lambda stage: [{"Name": "FunctionName", "Value": names.function_name(stage, spec)}]


def _queue_dims(dlq: bool) -> Callable[[str], list[dict[str, str]]]:
    queue = resources.APPLICATIONS_QUEUE
    suffix = queue.dlq_suffix if dlq else queue.suffix
    return lambda stage: [{"Name": "QueueName", "Value": resources.resource_name(stage, suffix)}]


def _webhook_dlq_dims(stage: str) -> list[dict[str, str]]:
    return [
        {"Name": "QueueName", "Value": resources.resource_name(stage, resources.WEBHOOK_QUEUE.dlq_suffix)}
    ]


def _health_check(stage: str, period: int) -> dict[str, Any]:
    return {
        "Namespace": "AWS/Route53",
        "MetricName": "HealthCheckStatus",
        "Dimensions": [{"Name": "HealthCheckId", "Value": {"Ref": "ApiHealthCheck"}}],
        "Statistic": "Minimum",
        "Period": period,
    }


API, WORKER, RECONCILER = resources.API_FUNCTION, resources.WORKER_FUNCTION, resources.RECONCILER_FUNCTION
# The app's EMF counts the alarms and the dashboard read (chalicelib emits them).
EVENTS_PUBLISHED_METRIC = "EventsPublished"
EVENTS_FAILED_METRIC = "EventsFailed"
RECONCILER_REQUEUED_METRIC = "ReconcilerRequeued"
RECONCILER_FAILED_METRIC = "ReconcilerFailed"
# The review desk's figures. Gauges the reconciler reports every RECONCILE_EVERY_MINUTES from the
# cases' status index: open + claimed cases, the oldest one's age, how many are past their SLA due
# time. Counts the API emits as cases close: completed, overridden (reviewer outcome differs from
# the model's), and the time from opening to the final decision.
REVIEWS_OPEN_METRIC = "ReviewsOpen"
REVIEW_OLDEST_OPEN_AGE_METRIC = "ReviewOldestOpenAgeSeconds"
REVIEW_SLA_BREACHED_METRIC = "ReviewSlaBreached"
REVIEWS_COMPLETED_METRIC = "ReviewsCompleted"
REVIEW_OVERRIDES_METRIC = "ReviewOverrides"
REVIEW_TIME_TO_DECIDE_METRIC = "ReviewTimeToDecideSeconds"
# One reconciler run per period: the gauges have one datapoint each.
REVIEW_GAUGE_PERIOD_SECONDS = resources.RECONCILE_EVERY_MINUTES * MINUTE


def concurrency_threshold(ratio: float, stage: str) -> float:
    return ratio * API.reserved_concurrency[stage]


def memory_threshold(ratio: float, spec: resources.FunctionSpec) -> float:
    return ratio * spec.memory_mb


GT, LT = "GreaterThanThreshold", "LessThanThreshold"


def alarms(stage: str) -> list[Alarm]:
    """Every alarm for ``stage`` (the concurrency alarms need the stage's reserved concurrency)."""
    api_dims, worker_dims = _function_dims(API), _function_dims(WORKER)
    memory = names.ALARM_NAMESPACE
    api_memory = _single(memory, functions.memory_metric_name(API), lambda stage: [], "Maximum")
    catalogue = [
        Alarm(
            logical_id="ApiDownAlarm",
            original_alert="API down 1 m",
            description="Route 53 health check of GET /health/ready failing (it reads "
            "DynamoDB). Route 53 metrics exist in us-east-1 only.",
            threshold=1,
            comparison=LT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=_health_check,
            treat_missing_data="missing",
        ),
        Alarm(
            logical_id="ApiErrorRatioWarningAlarm",
            original_alert="5xx ratio > 5% for 5 m",
            description="5xx / requests (metric math)",
            threshold=T.error_ratio_warning,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=5,
            metrics=_error_ratio,
        ),
        Alarm(
            logical_id="ApiErrorRatioCriticalAlarm",
            original_alert="5xx ratio > 10% for 2 m",
            description="5xx / requests (metric math)",
            threshold=T.error_ratio_critical,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=2,
            metrics=_error_ratio,
        ),
        Alarm(
            logical_id="ApiLatencyP95Alarm",
            original_alert="p95 latency > 1 s for 5 m",
            description="API Gateway Latency p95 (ms)",
            threshold=T.p95_latency_ms,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=5,
            metrics=_single("AWS/ApiGateway", "Latency", api_dimensions, "p95"),
        ),
        Alarm(
            logical_id="ApiLatencyP99Alarm",
            original_alert="p99 latency > 5 s for 2 m",
            description="API Gateway Latency p99 (ms)",
            threshold=T.p99_latency_ms,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=2,
            metrics=_single("AWS/ApiGateway", "Latency", api_dimensions, "p99"),
        ),
        Alarm(
            logical_id="ApiRequestRateAlarm",
            original_alert="request rate > 1000/s for 5 m",
            description="requests per second (metric math)",
            threshold=T.request_rate_per_second,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=5,
            metrics=_request_rate,
        ),
    ]
    if stage in API.reserved_concurrency:
        catalogue += [
            Alarm(
                logical_id="ApiConcurrencyWarningAlarm",
                original_alert="CPU > 80%",
                description="API function concurrent executions near its "
                "reserved concurrency (the serverless saturation signal)",
                threshold=concurrency_threshold(T.concurrency_warning_ratio, stage),
                comparison=GT,
                period_seconds=MINUTE,
                evaluation_periods=5,
                metrics=_single("AWS/Lambda", "ConcurrentExecutions", api_dims, "Maximum"),
            ),
            Alarm(
                logical_id="ApiConcurrencyCriticalAlarm",
                original_alert="CPU > 95%",
                description="API function concurrent executions at its reserved concurrency",
                threshold=concurrency_threshold(T.concurrency_critical_ratio, stage),
                comparison=GT,
                period_seconds=MINUTE,
                evaluation_periods=2,
                metrics=_single("AWS/Lambda", "ConcurrentExecutions", api_dims, "Maximum"),
            ),
        ]
    catalogue += [
        Alarm(
            logical_id="ApiMemoryWarningAlarm",
            original_alert="memory > 80%",
            description="Max Memory Used (REPORT line metric filter) / configured memory",
            threshold=memory_threshold(T.memory_warning_ratio, API),
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=5,
            metrics=api_memory,
        ),
        Alarm(
            logical_id="ApiMemoryCriticalAlarm",
            original_alert="memory > 95%",
            description="Max Memory Used near the configured memory (out-of-memory kills next)",
            threshold=memory_threshold(T.memory_critical_ratio, API),
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=api_memory,
        ),
        Alarm(
            logical_id="ApiFunctionErrorsAlarm",
            original_alert="restarts > 3 in 15 m",
            description="API function errors (crashes, timeouts, out-of-memory) in 15 minutes",
            threshold=T.function_errors_per_15_minutes,
            comparison=GT,
            period_seconds=15 * MINUTE,
            evaluation_periods=1,
            metrics=_single("AWS/Lambda", "Errors", api_dims, "Sum"),
        ),
        Alarm(
            logical_id="WorkerFunctionErrorsAlarm",
            original_alert="restarts > 3 in 15 m",
            description="Queue worker function errors in 15 minutes",
            threshold=T.function_errors_per_15_minutes,
            comparison=GT,
            period_seconds=15 * MINUTE,
            evaluation_periods=1,
            metrics=_single("AWS/Lambda", "Errors", worker_dims, "Sum"),
        ),
        Alarm(
            logical_id="DatabaseSystemErrorsAlarm",
            original_alert="database down 1 m",
            description="DynamoDB SystemErrors on any table "
            "(Metrics Insights); unreachability from the function shows in ApiDownAlarm",
            threshold=0,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=_dynamodb_query("SUM", "SystemErrors"),
        ),
        Alarm(
            logical_id="DatabaseLatencyAlarm",
            original_alert="database latency > 0.5 s for 5 m",
            description="DynamoDB SuccessfulRequestLatency average over the stage's tables (ms)",
            threshold=T.dynamodb_latency_ms,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=5,
            metrics=_dynamodb_query("AVG", "SuccessfulRequestLatency"),
        ),
        # Additions the original did not need.
        Alarm(
            logical_id="DeadLetterQueueNotEmptyAlarm",
            original_alert=None,
            description="Messages the worker gave up on (after maxReceiveCount)",
            threshold=T.dlq_visible_messages,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=_single(
                "AWS/SQS", "ApproximateNumberOfMessagesVisible", _queue_dims(dlq=True), "Maximum"
            ),
        ),
        Alarm(
            logical_id="QueueOldestMessageAgeAlarm",
            original_alert=None,
            description="Oldest message waiting in the applications queue (s)",
            threshold=T.oldest_message_age_seconds,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=_single("AWS/SQS", "ApproximateAgeOfOldestMessage", _queue_dims(dlq=False), "Maximum"),
        ),
        Alarm(
            logical_id="ApiFunctionThrottlesAlarm",
            original_alert=None,
            description="Lambda throttled the API function: clients got 500, "
            "not 429 (API throttles above what reserved concurrency serves)",
            threshold=0,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=_single("AWS/Lambda", "Throttles", api_dims, "Sum"),
        ),
        Alarm(
            logical_id="WorkerFunctionThrottlesAlarm",
            original_alert=None,
            description="Lambda throttled the queue worker "
            "(mapping MaximumConcurrency above reserved concurrency)",
            threshold=0,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=_single("AWS/Lambda", "Throttles", worker_dims, "Sum"),
        ),
        # Issue 9: no application left PENDING, one event per decision.
        Alarm(
            logical_id="ReconcilerFailedAlarm",
            original_alert=None,
            description="The reconciler marked applications FAILED (PENDING past the queue's time "
            "to decide, already re-enqueued once): each is a client told its application failed",
            threshold=0,
            comparison=GT,
            period_seconds=15 * MINUTE,
            evaluation_periods=1,
            metrics=_app_metric(RECONCILER_FAILED_METRIC),
        ),
        Alarm(
            logical_id="ReconcilerFunctionErrorsAlarm",
            original_alert=None,
            # Not the restarts threshold (> 3 in 15 m): the reconciler runs 3 times in 15 minutes,
            # so any error is a run that did not reconcile.
            description="Reconciler function errors in 15 minutes (a run that did not finish)",
            threshold=0,
            comparison=GT,
            period_seconds=15 * MINUTE,
            evaluation_periods=1,
            metrics=_single("AWS/Lambda", "Errors", _function_dims(RECONCILER), "Sum"),
        ),
        Alarm(
            logical_id="DecisionEventsFailedAlarm",
            original_alert=None,
            description="PutEvents failed: decisions were made but their decision.made events "
            "were not published (EventsFailed)",
            threshold=0,
            comparison=GT,
            period_seconds=5 * MINUTE,
            evaluation_periods=1,
            metrics=_app_metric(EVENTS_FAILED_METRIC),
        ),
        # Issue 10: the review desk's oversight figures.
        Alarm(
            logical_id="ReviewSlaBreachedAlarm",
            original_alert=None,
            # Three reconciler runs in a row (15 minutes): a case that passes its due time while
            # a reviewer is deciding it does not page anyone.
            description="Review cases (open or claimed) past their SLA due time for 15 minutes "
            "(ReviewSlaBreached, reported by the reconciler)",
            threshold=T.review_sla_breached_cases,
            comparison=GT,
            period_seconds=REVIEW_GAUGE_PERIOD_SECONDS,
            evaluation_periods=15 * MINUTE // REVIEW_GAUGE_PERIOD_SECONDS,
            metrics=_app_metric(REVIEW_SLA_BREACHED_METRIC, "MAX"),
        ),
        Alarm(
            logical_id="ReviewBacklogOldestAgeAlarm",
            original_alert=None,
            # One run is enough: the age only grows until someone takes the case.
            description="The oldest open review case has waited more than one business day "
            "(ReviewOldestOpenAgeSeconds, reported by the reconciler)",
            threshold=T.review_oldest_open_age_seconds,
            comparison=GT,
            period_seconds=REVIEW_GAUGE_PERIOD_SECONDS,
            evaluation_periods=1,
            metrics=_app_metric(REVIEW_OLDEST_OPEN_AGE_METRIC, "MAX"),
        ),
        Alarm(
            logical_id="WebhookDeliveriesDeadLetterQueueNotEmptyAlarm",
            original_alert=None,
            description="Webhook events or attempts the delivery function could not process "
            f"{resources.WEBHOOK_QUEUE.max_receive_count} times (DynamoDB, SQS or KMS unavailable): "
            "redrive the dead-letter queue once they are back",
            threshold=0,
            comparison=GT,
            period_seconds=MINUTE,
            evaluation_periods=1,
            metrics=_single("AWS/SQS", "ApproximateNumberOfMessagesVisible", _webhook_dlq_dims, "Maximum"),
        ),
    ]
    catalogue += fraud_alarms()
    catalogue += routing_alarms()
    from infra import monitoring  # the daily monitoring run's alarms (issue 20); imports this module

    catalogue += monitoring.monitoring_alarms()
    catalogue += monitoring.parts_alarms()  # monitoring runs' parts in the DLQ (issue 20, fan-out)
    from infra import batches  # the batch path's alarms (issue 19's gaps); imports this module

    catalogue += batches.batch_alarms()
    return catalogue


# --------------------------------------------------------------------------------------------
# Fraud and velocity signals (issue 21): critical flags, unchecked applications, the original's
# rejection-rate spike.
# --------------------------------------------------------------------------------------------
def _rejection_rate(stage: str, period: int) -> dict[str, Any]:
    """Declined / all decisions (sync and async) in the period; 0 below the minimum volume."""
    decisions = f'SELECT SUM(Decisions) FROM "{resources.METRICS_NAMESPACE}"'
    minimum = resources.FRAUD_ALARM_THRESHOLDS.rejection_rate_min_decisions
    return {
        "Metrics": [
            {
                "Id": "declined",
                "Expression": f"{decisions} WHERE outcome = 'declined'",
                "Period": period,
                "ReturnData": False,
            },
            {"Id": "decided", "Expression": decisions, "Period": period, "ReturnData": False},
            {
                "Id": "rate",
                "Expression": f"IF(decided >= {minimum}, declined / decided, 0)",
                "Label": "rejection rate",
                "ReturnData": True,
            },
        ]
    }


def fraud_alarms() -> list[Alarm]:
    F = resources.FRAUD_ALARM_THRESHOLDS
    return [
        Alarm(
            logical_id="FraudCriticalFlagsAlarm",
            original_alert="fraud alert: critical (5+ applications in 5 minutes from one IP or device)",
            description="Applications flagged critical (a device or IP burst) and sent to review "
            "(FraudCriticalFlags)",
            threshold=F.critical_flags_per_5_minutes,
            comparison=GT,
            period_seconds=5 * MINUTE,
            evaluation_periods=1,
            metrics=_app_metric(resources.FRAUD_CRITICAL_METRIC),
        ),
        Alarm(
            logical_id="FraudCountersUncheckedAlarm",
            original_alert=None,
            description="The velocity counters could not be read or written: applications were "
            "decided unchecked and sent to review (FraudUnchecked)",
            threshold=F.unchecked_per_5_minutes,
            comparison=GT,
            period_seconds=5 * MINUTE,
            evaluation_periods=1,
            metrics=_app_metric(resources.FRAUD_UNCHECKED_METRIC),
        ),
        Alarm(
            logical_id="RejectionRateSpikeAlarm",
            original_alert="fraud alert: rejection-rate spike (high)",
            description=f"More than {F.rejection_rate:.0%} of decisions declined over 15 minutes "
            f"(at least {F.rejection_rate_min_decisions} decisions)",
            threshold=F.rejection_rate,
            comparison=GT,
            period_seconds=15 * MINUTE,
            evaluation_periods=1,
            metrics=_rejection_rate,
        ),
    ]


# --------------------------------------------------------------------------------------------
# Decision versions (issue 18's gaps): one alarm per row of resources.ROUTING_ALARMS
# --------------------------------------------------------------------------------------------
def routing_alarms() -> list[Alarm]:
    return [
        Alarm(
            logical_id=spec.logical_id,
            original_alert=None,
            description=spec.description,
            threshold=spec.threshold,
            comparison=GT,
            period_seconds=spec.period_minutes * MINUTE,
            evaluation_periods=spec.evaluation_periods,
            metrics=_app_metric(spec.metric),
        )
        for spec in resources.ROUTING_ALARMS
    ]


def alarm_resource(stage: str, alarm: Alarm) -> Resource:
    properties: dict[str, Any] = {
        "AlarmName": f"{resources.SERVICE}-{stage}-{alarm.logical_id.removesuffix('Alarm')}",
        "AlarmDescription": (f"[{alarm.original_alert}] " if alarm.original_alert else "")
        + alarm.description,
        "ComparisonOperator": alarm.comparison,
        "Threshold": alarm.threshold,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.evaluation_periods,
        "TreatMissingData": alarm.treat_missing_data,
        "AlarmActions": [{"Ref": "AlarmTopic"}],
        "OKActions": [{"Ref": "AlarmTopic"}],
    }
    properties.update(alarm.metrics(stage, alarm.period_seconds))
    resource: Resource = {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}
    if alarm.condition:
        resource["Condition"] = alarm.condition
    return resource


def alarm_resources(stage: str) -> dict[str, Resource]:
    api_stage = names.api_gateway_stage_name(stage)
    out: dict[str, Resource] = {
        # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed SNS key, and
        # alarm notifications carry no personal data.
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": f"{resources.SERVICE}-{stage}-alarms"},
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {
                "TopicArn": {"Ref": "AlarmTopic"},
                "Protocol": "email",
                "Endpoint": {"Ref": "AlarmEmail"},
            },
        },
        # "API down": probes /health/ready (which reads DynamoDB) from Route 53's checkers.
        "ApiHealthCheck": {
            "Type": "AWS::Route53::HealthCheck",
            "Properties": {
                "HealthCheckConfig": {
                    "Type": "HTTPS",
                    "FullyQualifiedDomainName": {
                        "Fn::Sub": f"${{{names.REST_API_LOGICAL_ID}}}.execute-api."
                        "${AWS::Region}.${AWS::URLSuffix}"
                    },
                    "ResourcePath": f"/{api_stage}/health/ready",
                    "Port": 443,
                    "RequestInterval": 30,
                    "FailureThreshold": 2,
                    "EnableSNI": True,  # API Gateway serves HTTPS by SNI only
                },
                "HealthCheckTags": [{"Key": "Name", "Value": f"{resources.SERVICE}-{stage}-ready"}],
            },
        },
    }
    for alarm in alarms(stage):
        out[alarm.logical_id] = alarm_resource(stage, alarm)
    return out


PARAMETERS = {
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "Description": "E-mail address subscribed to the alarm topic (empty: no subscription)",
    }
}
CONDITIONS = {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}}
