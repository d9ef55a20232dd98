"""Monitoring in the template (issue 20): the daily run's function merge (its schedule rule), its
alarms and its dashboard row. The reports' table and bucket, and IAM, come from
``chalicelib/resources.py`` like every other resource (data_stores, policies); the function is
app.py's ``run_monitoring`` (``@app.schedule``: Chalice writes the schedule, the merge names it).

Each run emits its worst figures as EMF metrics (``resources.MONITORING_METRICS``, dimension
``service`` only: ``chalicelib.service.monitoring.emit_metrics``), only from sections with enough
decisions to say anything, so an alarm here never fires on a small sample. One data point a day:
the alarms evaluate one day; no data (no run, or no section large enough) is not a breach.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from chalicelib import resources
from chalicelib.engine.monitoring import MonitoringThresholds
from infra import alarms, functions, names

Resource = dict[str, Any]
DAY = 24 * 3600
LOGICAL_ID = names.logical_id(resources.MONITOR_FUNCTION)
EVENT_ID = f"{LOGICAL_ID}Event"  # Chalice's name for an @app.schedule's SAM Schedule event
THRESHOLDS = MonitoringThresholds(*resources.MONITORING_THRESHOLDS)
METRIC = resources.MONITORING_METRICS
HEADER = "Monitoring (daily run over stored decisions)"


def function_merge(stage: str) -> Resource:
    """The monitoring function's part of Chalice's resource: sizing, its log group, its rule's name."""
    spec = resources.MONITOR_FUNCTION
    properties = functions.function_properties(stage, spec)
    properties["Events"] = {
        EVENT_ID: {
            "Properties": {
                "Name": f"{resources.SERVICE}-{stage}-monitoring-run",
                "Description": "Daily monitoring run over stored decisions (chalicelib monitoring)",
            }
        }
    }
    return {"DependsOn": [functions.log_group_id(spec)], "Properties": properties}


def _service_dims(stage: str) -> list[dict[str, str]]:
    return [{"Name": "service", "Value": resources.SERVICE}]


def _daily(metric_key: str, statistic: str) -> Any:
    return alarms._single(resources.METRICS_NAMESPACE, METRIC[metric_key], _service_dims, statistic)


class DailyAlarm(NamedTuple):
    """One alarm on a figure of the daily run: ``statistic`` of ``METRIC[metric]`` over one day,
    compared with ``threshold``."""

    logical_id: str
    metric: str  # a key of resources.MONITORING_METRICS
    statistic: str
    comparison: str
    threshold: float
    description: str
    original_alert: str | None = None  # None: an addition the original did not have


def daily_alarms(t: MonitoringThresholds) -> tuple[DailyAlarm, ...]:
    return (
        DailyAlarm(
            "MonitoringScorePsiAlarm",
            "score_psi",
            "Maximum",
            alarms.GT,
            t.psi_alert,
            f"Score PSI above {t.psi_alert} against the training distribution (sections of at least "
            f"{t.psi_min_n} decisions; Siddiqi's rule of thumb)",
        ),
        DailyAlarm(
            "MonitoringApprovalRateMoveAlarm",
            "approval_rate_shift",
            "Maximum",
            alarms.GT,
            t.approval_rate_move,
            f"Approval rate more than {t.approval_rate_move * 100:.0f} points from the version's "
            f"validation baseline (sections of at least {t.approval_rate_min_n} decisions)",
        ),
        DailyAlarm(
            "MonitoringOverrideRateAlarm",
            "override_rate",
            "Maximum",
            alarms.GT,
            t.override_rate,
            f"Reviewers overrode the model in more than {t.override_rate:.0%} of closed reviews "
            f"(at least {t.override_min_reviews} reviews)",
        ),
        DailyAlarm(
            "MonitoringDisparateImpactAlarm",
            "disparate_impact",
            "Minimum",
            alarms.LT,
            t.disparate_impact,
            f"Disparate impact below {t.disparate_impact} by gender or age band (groups of at least "
            f"{t.fairness_min_n} decisions)",
            "fairness report: disparate impact (four-fifths rule)",
        ),
        DailyAlarm(
            "MonitoringRejectionRateSpikeAlarm",
            "rejection_rate_spike",
            "Maximum",
            alarms.GT,
            0,  # the metric is 1 on a day whose run found a spike, else 0
            f"A 15-minute bucket of the run's window declined more than {t.rejection_rate:.0%} "
            f"(at least {t.rejection_rate_min_decisions} decisions)",
            "fraud alert: rejection-rate spike (high), found by the daily run",
        ),
    )


def monitoring_alarms() -> list[alarms.Alarm]:
    return [
        alarms.Alarm(
            logical_id=row.logical_id,
            original_alert=row.original_alert,
            description=row.description,
            threshold=row.threshold,
            comparison=row.comparison,
            period_seconds=DAY,
            evaluation_periods=1,
            metrics=_daily(row.metric, row.statistic),
        )
        for row in daily_alarms(THRESHOLDS)
    ]


def parts_alarms() -> list[alarms.Alarm]:
    """The fanned-out runs' dead letters: a part that kept failing (its run is failed, no report)."""
    return [
        alarms.Alarm(
            logical_id="MonitoringPartsDeadLetterAlarm",
            original_alert=None,
            description="A monitoring run's part kept failing (after maxReceiveCount): its run is failed "
            "and has no report",
            threshold=resources.ALARM_THRESHOLDS.dlq_visible_messages,
            comparison=alarms.GT,
            period_seconds=alarms.MINUTE,
            evaluation_periods=1,
            metrics=alarms._single(
                "AWS/SQS", "ApproximateNumberOfMessagesVisible", _parts_dlq_dims, "Maximum"
            ),
        ),
    ]


def _parts_dlq_dims(stage: str) -> list[dict[str, str]]:
    queue = resources.MONITORING_PARTS_QUEUE
    return [{"Name": "QueueName", "Value": resources.resource_name(stage, queue.dlq_suffix)}]


def dashboard_row(stage: str) -> list[dict[str, Any]]:
    """The monitoring row: the run's worst figures per day against their alarm thresholds."""

    def graph(title: str, key: str, stat: str, threshold: float) -> dict[str, Any]:
        return {
            "type": "metric",
            "width": 6,
            "height": 6,
            "properties": {
                "title": title,
                "view": "timeSeries",
                "region": "${AWS::Region}",
                "stat": stat,
                "period": DAY,
                "metrics": [[resources.METRICS_NAMESPACE, METRIC[key], "service", resources.SERVICE]],
                "annotations": {"horizontal": [{"value": threshold, "label": "alarm"}]},
            },
        }

    t = THRESHOLDS
    return [
        {"type": "text", "width": 24, "height": 1, "properties": {"markdown": f"## {HEADER}"}},
        graph("Monitoring: score PSI (worst section)", "score_psi", "Maximum", t.psi_alert),
        graph(
            "Monitoring: approval rate move vs baseline",
            "approval_rate_shift",
            "Maximum",
            t.approval_rate_move,
        ),
        graph("Monitoring: override rate (reviews)", "override_rate", "Maximum", t.override_rate),
        graph("Monitoring: disparate impact (lowest)", "disparate_impact", "Minimum", t.disparate_impact),
    ]


# -- IAM ------------------------------------------------------------------------------------------
# Reports: the index items are written once and read (GetItem in the API's Tables statement, the
# list a Query on the table itself); report bodies by key under reports/ (never listed, never
# deleted by the service: the bucket's lifecycle is the operator's).
REPORT_QUERY_ACTIONS = ("dynamodb:Query",)
REPORT_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
REPORT_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query")
VERSION_READ_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")
POLICY_SUFFIX = "monitoring"


def report_statements(stage: str) -> list[dict[str, Any]]:
    """What the API function needs beyond the shared statements to serve the staff routes (a run
    requested by staff runs in the API function)."""
    from infra import policies

    return [
        {
            "Sid": "MonitoringReportsList",
            "Effect": "Allow",
            "Action": list(REPORT_QUERY_ACTIONS),
            "Resource": [policies.table_arn(stage, resources.MONITORING_REPORTS_TABLE)],
        },
        {
            "Sid": "MonitoringReportObjects",
            "Effect": "Allow",
            "Action": list(REPORT_OBJECT_ACTIONS),
            "Resource": [policies.objects_arn(stage, resources.MONITORING_REPORTS_BUCKET, "reports")],
        },
    ]


def _reading_statements(stage: str) -> list[dict[str, Any]]:
    """What reading a window of decisions takes: Queries of the decisions' by-day index and the
    registry's versions (their artifacts and policies under blobs/)."""
    from infra import policies

    decisions = resources.DECISIONS_TABLE
    day_index = next(index for index in decisions.indexes if index.name == resources.DECISIONS_BY_DAY.name)
    return [
        policies.allow(
            "DecisionsByDay", policies.QUERY_ACTIONS, [policies.index_arn(stage, decisions, day_index)]
        ),
        policies.allow(
            "DecisionVersions", VERSION_READ_ACTIONS, [policies.table_arn(stage, resources.VERSIONS_TABLE)]
        ),
        policies.allow(
            "DecisionVersionsBlobs",
            ["s3:GetObject"],
            [policies.objects_arn(stage, resources.VERSIONS_BUCKET, "blobs")],
        ),
    ]


def _reporting_statements(stage: str, table_sid: str, table_actions: Iterable[str]) -> list[dict[str, Any]]:
    """Writing a run's record or report (``table_actions`` on the reports table), its objects under
    reports/, and publishing its alerts."""
    from infra import policies

    return [
        policies.allow(
            table_sid, table_actions, [policies.table_arn(stage, resources.MONITORING_REPORTS_TABLE)]
        ),
        policies.allow(
            "MonitoringReportObjects",
            REPORT_OBJECT_ACTIONS,
            [policies.objects_arn(stage, resources.MONITORING_REPORTS_BUCKET, "reports")],
        ),
        policies.allow("MonitoringAlerts", policies.EVENTS_ACTIONS, [policies.event_bus_arn(stage)]),
    ]


def _function_statements(stage: str, spec: resources.FunctionSpec) -> list[dict[str, Any]]:
    """Every function's own: its log group and X-Ray."""
    from infra import policies

    return [
        policies.allow("FunctionLogs", policies.LOG_ACTIONS, [policies.log_group_arn(stage, spec)]),
        policies.allow("Tracing", policies.XRAY_ACTIONS, "*"),
    ]


def monitor_policy_document(stage: str) -> dict[str, Any]:
    """The monitoring function's own policy (``policy-<stage>-monitoring.json``): it reads the
    decisions' monitoring index and the registry, writes reports and publishes alerts; nothing else."""
    statements = [
        *_reading_statements(stage),
        *_reporting_statements(stage, "MonitoringReports", REPORT_TABLE_ACTIONS),
        *_function_statements(stage, resources.MONITOR_FUNCTION),
        *start_statements(stage),  # the schedule starts fanned-out runs
    ]
    return {"Version": "2012-10-17", "Statement": statements}


# -- the fan-out (monfan): the part worker's and the parts' DLQ handler's policies; their merges are
# infra.functions.fan_out_merges.
RUN_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")
SQS_CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
SQS_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage")


def start_statements(stage: str) -> list[dict[str, Any]]:
    """What starting a fanned-out run needs beyond writing its record: sending its parts."""
    from infra import policies

    return [
        {
            "Sid": "MonitoringPartsSend",
            "Effect": "Allow",
            "Action": list(SQS_SEND_ACTIONS),
            "Resource": [policies.queue_arn(stage, resources.MONITORING_PARTS_QUEUE)],
        }
    ]


def parts_policy_document(stage: str) -> dict[str, Any]:
    """The part worker's own policy: Queries of one index, the registry read, the run's record and
    its objects under reports/, the alerts, its queue consumed; nothing else."""
    from infra import policies

    queue_arn = policies.queue_arn(stage, resources.MONITORING_PARTS_QUEUE)
    statements = [
        *_reading_statements(stage),
        *_reporting_statements(stage, "MonitoringRuns", RUN_TABLE_ACTIONS),
        policies.allow("MonitoringPartsQueue", SQS_CONSUME_ACTIONS, [queue_arn]),
        *_function_statements(stage, resources.MONITOR_PART_FUNCTION),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def dead_parts_policy_document(stage: str) -> dict[str, Any]:
    """The parts' DLQ handler: marks the run failed (UpdateItem), consumes the DLQ; nothing else."""
    from infra import policies

    queue = resources.MONITORING_PARTS_QUEUE
    dlq_arn = policies._arn("sqs", resources.resource_name(stage, queue.dlq_suffix))
    statements = [
        policies.allow(
            "MonitoringRuns",
            ["dynamodb:UpdateItem"],
            [policies.table_arn(stage, resources.MONITORING_REPORTS_TABLE)],
        ),
        policies.allow("MonitoringPartsDeadLetters", SQS_CONSUME_ACTIONS, [dlq_arn]),
        *_function_statements(stage, resources.MONITOR_PARTS_DLQ_FUNCTION),
    ]
    return {"Version": "2012-10-17", "Statement": statements}
