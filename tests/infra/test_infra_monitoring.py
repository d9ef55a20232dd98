"""The daily monitoring run in the packaged templates (issue 20): its function's sizing and schedule,
its own narrow policy, and the monitoring alarms on the run's EMF figures at MONITORING_THRESHOLDS."""

from __future__ import annotations

import json

import pytest
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import monitoring, names, policies

FUNCTION_ID = names.logical_id(resources.MONITOR_FUNCTION)


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_run_is_a_daily_schedule_with_its_sizing(templates: dict[str, Template], stage: str) -> None:
    function = templates[stage]["Resources"][FUNCTION_ID]["Properties"]
    assert function["MemorySize"] == resources.MONITOR_FUNCTION.memory_mb
    assert function["Timeout"] == resources.MONITOR_FUNCTION.timeout_seconds <= 900  # Lambda's most
    assert function["ReservedConcurrentExecutions"] == 1  # one run at a time
    event = function["Events"][monitoring.EVENT_ID]
    hour, minute = resources.MONITORING_SCHEDULE_UTC
    assert event["Type"] == "Schedule"
    assert event["Properties"]["Schedule"] == f"cron({minute} {hour} * * ? *)"
    assert event["Properties"]["Name"] == f"{resources.SERVICE}-{stage}-monitoring-run"


@pytest.mark.parametrize("stage", resources.STAGES)
def test_the_run_reads_the_day_index_and_writes_reports_only(stage: str) -> None:
    document = json.loads(
        policies.policy_path(
            stage, policies.function_policy_file_name(stage, resources.MONITOR_FUNCTION)
        ).read_text()
    )
    actions = {action for statement in document["Statement"] for action in statement["Action"]}
    assert "dynamodb:Scan" not in actions and "dynamodb:DeleteItem" not in actions
    by_sid = {statement["Sid"]: statement for statement in document["Statement"]}
    (index,) = by_sid["DecisionsByDay"]["Resource"]
    assert index.endswith(f"table/{resources.resource_name(stage, 'decisions')}/index/by-day")
    # A deployed bucket's name ends in the account id (infra.names.bucket_name); the local one's not.
    bucket = f"arn:aws:s3:::{resources.resource_name(stage, resources.MONITORING_REPORTS_BUCKET.suffix)}"
    objects: object = f"{bucket}/reports/*"
    if stage in resources.DEPLOYED_STAGES:
        objects = {"Fn::Sub": f"{bucket}-${{AWS::AccountId}}/reports/*"}
    assert by_sid["MonitoringReportObjects"]["Resource"] == [objects]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_monitoring_alarms_watch_the_runs_figures(templates: dict[str, Template], stage: str) -> None:
    alarms = resources_of_type(templates[stage], "AWS::CloudWatch::Alarm")
    for alarm in monitoring.monitoring_alarms():
        properties = alarms[alarm.logical_id]["Properties"]
        assert properties["Namespace"] == resources.METRICS_NAMESPACE
        assert properties["MetricName"] in resources.MONITORING_METRICS.values()
        assert properties["Dimensions"] == [{"Name": "service", "Value": resources.SERVICE}]
        assert properties["TreatMissingData"] == "notBreaching"  # no run, or too few decisions
    t = resources.MONITORING_THRESHOLDS
    assert alarms["MonitoringScorePsiAlarm"]["Properties"]["Threshold"] == t.psi_alert
    assert alarms["MonitoringDisparateImpactAlarm"]["Properties"]["Statistic"] == "Minimum"
