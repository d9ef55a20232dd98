"""The decision-events bus and the lender webhook (API destination) in the packaged templates.

Expected numbers come from chalicelib/resources.py; the webhook's switch (parameter + condition) is
checked by evaluating the template's conditions, and by cfn-lint (a resource referencing a
conditional one without the condition is a finding there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_all
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import deploy, events

BUS = resources.DECISION_EVENTS_BUS


def _webhook(template: Template, logical_id: str) -> dict[str, Any]:
    resource = template["Resources"][logical_id]
    assert resource["Condition"] == "HasLenderWebhook", logical_id
    return resource


def _evaluate(node: Any, template: Template, parameters: dict[str, str], region: str) -> Any:
    """The value of a Conditions expression for the given parameter values (the subset used here)."""
    if isinstance(node, dict):
        ((function, argument),) = node.items()
        if function == "Ref":
            return (
                region
                if argument == "AWS::Region"
                else parameters.get(argument, template["Parameters"][argument]["Default"])
            )
        if function == "Condition":
            return _evaluate(template["Conditions"][argument], template, parameters, region)
        values = [_evaluate(item, template, parameters, region) for item in argument]
        if function == "Fn::Equals":
            return values[0] == values[1]
        if function == "Fn::Not":
            return not values[0]
        if function == "Fn::And":
            return all(values)
        if function == "Fn::Or":
            return any(values)
        raise AssertionError(function)
    return node


def _condition(template: Template, name: str, parameters: dict[str, str], region: str = "us-east-1") -> bool:
    return _evaluate(template["Conditions"][name], template, parameters, region)


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_bus_always_exists_with_the_stage_name(templates: dict[str, Template], stage: str) -> None:
    bus = templates[stage]["Resources"][BUS.logical_id]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert "Condition" not in bus  # the code publishes whether or not a webhook listens
    assert bus["Properties"]["Name"] == resources.resource_name(stage, BUS.suffix)
    assert templates[stage]["Outputs"]["DecisionEventsBusArn"]["Value"] == {
        "Fn::GetAtt": [BUS.logical_id, "Arn"]
    }


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_webhook_is_off_unless_a_url_is_given(templates: dict[str, Template], stage: str) -> None:
    template = templates[stage]
    parameter = template["Parameters"]["LenderWebhookUrl"]
    assert parameter["Type"] == "String" and parameter["Default"] == ""
    assert _condition(template, "HasLenderWebhook", {}) is False
    assert (
        _condition(template, "HasLenderWebhook", {"LenderWebhookUrl": "https://lender.example/hook"}) is True
    )
    # In a region without API destinations it stays off (and the output says so).
    assert (
        _condition(template, "HasLenderWebhook", {"LenderWebhookUrl": "https://x.example"}, "il-central-1")
        is False
    )
    assert template["Outputs"]["LenderWebhookForwarding"]["Value"] == {
        "Fn::If": ["HasLenderWebhook", "on", "off"]
    }
    # Everything that forwards events carries the condition; nothing else does.
    conditional = {
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("Condition") == "HasLenderWebhook"
    }
    assert conditional == set(events.WEBHOOK_RESOURCE_IDS) | {"LenderWebhookDeadLetterQueueNotEmptyAlarm"}
    types = {template["Resources"][logical_id]["Type"] for logical_id in conditional}
    assert {
        "AWS::Events::Connection",
        "AWS::Events::ApiDestination",
        "AWS::Events::Rule",
        "AWS::IAM::Role",
        "AWS::SQS::Queue",
    } <= types


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_rule_forwards_the_services_events_with_retries_and_a_dead_letter_queue(
    templates: dict[str, Template], stage: str
) -> None:
    template = templates[stage]
    rule = _webhook(template, "LenderWebhookRule")["Properties"]
    assert rule["EventBusName"] == {"Ref": BUS.logical_id}
    assert rule["EventPattern"] == {"source": [BUS.source]}
    assert rule["State"] == "ENABLED"
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["LenderWebhookDestination", "Arn"]}
    assert target["RoleArn"] == {"Fn::GetAtt": ["LenderWebhookRole", "Arn"]}
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": resources.WEBHOOK_MAX_RETRIES,
        "MaximumEventAgeInSeconds": resources.WEBHOOK_MAX_EVENT_AGE_SECONDS,
    }
    # EventBridge's limits: at most 185 retries, events 60 s to 24 h old.
    assert 0 <= resources.WEBHOOK_MAX_RETRIES <= 185
    assert 60 <= resources.WEBHOOK_MAX_EVENT_AGE_SECONDS <= 86_400
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["LenderWebhookDeadLetterQueue", "Arn"]}}
    dlq = _webhook(template, "LenderWebhookDeadLetterQueue")["Properties"]
    assert dlq["QueueName"] == resources.resource_name(stage, "lender-webhook-dlq")
    assert dlq["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_only_this_rule_may_write_the_dead_letter_queue(templates: dict[str, Template], stage: str) -> None:
    policy = _webhook(templates[stage], "LenderWebhookDeadLetterQueuePolicy")["Properties"]
    assert policy["Queues"] == [{"Ref": "LenderWebhookDeadLetterQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": ["LenderWebhookDeadLetterQueue", "Arn"]}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["LenderWebhookRule", "Arn"]}}
    }


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_api_destination_and_its_key(templates: dict[str, Template], stage: str) -> None:
    template = templates[stage]
    destination = _webhook(template, "LenderWebhookDestination")["Properties"]
    assert destination["InvocationEndpoint"] == {"Ref": "LenderWebhookUrl"}
    assert destination["HttpMethod"] == "POST"
    assert destination["InvocationRateLimitPerSecond"] == resources.WEBHOOK_INVOCATIONS_PER_SECOND
    assert destination["ConnectionArn"] == {"Fn::GetAtt": ["LenderWebhookConnection", "Arn"]}
    connection = _webhook(template, "LenderWebhookConnection")["Properties"]
    assert connection["AuthorizationType"] == "API_KEY"
    key = connection["AuthParameters"]["ApiKeyAuthParameters"]
    assert key["ApiKeyName"] == {"Ref": "LenderWebhookHeader"}
    # The value is resolved from the generated secret at deploy time: never in the template.
    assert key["ApiKeyValue"] == {
        "Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "LenderWebhookSecret"}, ":SecretString:::}}"]]
    }
    secret = _webhook(template, "LenderWebhookSecret")["Properties"]
    assert secret["GenerateSecretString"]["PasswordLength"] >= 32


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_eventbridge_role_may_only_invoke_the_destination(templates: dict[str, Template], stage: str) -> None:
    role = _webhook(templates[stage], "LenderWebhookRole")["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["events:InvokeApiDestination"],
            "Resource": [{"Fn::GetAtt": ["LenderWebhookDestination", "Arn"]}],
        }
    ]


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_no_other_rule_reads_the_bus(expanded: dict[str, Template], stage: str) -> None:
    # After the SAM transform: the webhook rule is the only one on the bus (the reconciler's schedule
    # is on the default bus).
    on_bus = [
        rule_id
        for rule_id, rule in resources_of_type(expanded[stage], "AWS::Events::Rule").items()
        if rule["Properties"].get("EventBusName") == {"Ref": BUS.logical_id}
    ]
    assert on_bus == ["LenderWebhookRule"]


def test_region_guard_lists_exactly_the_regions_without_api_destinations() -> None:
    """Without the region guard, cfn-lint refuses the webhook resources in exactly these regions:
    the guard is needed, and a region that gains API destinations is noticed here."""
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Connection": {
                "Type": "AWS::Events::Connection",
                "Properties": {
                    "AuthorizationType": "API_KEY",
                    "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}},
                },
            }
        },
    }
    refused = {
        str(match.message).split("' does not exist in '")[1].rstrip("'")
        for match in lint_all(json.dumps(template))
        if match.rule.id == "E3006"
    }
    assert refused == set(events.API_DESTINATION_UNSUPPORTED_REGIONS)


def test_make_deploy_passes_the_webhook_parameters() -> None:
    _, stack = deploy.deploy_commands(
        "prod",
        "artifacts",
        None,
        lender_webhook_url="https://lender.example/hooks/decisions",
        lender_webhook_header="X-Lender-Key",
    )
    overrides = stack[stack.index("--parameter-overrides") + 1 :]
    assert overrides == [
        "LenderWebhookUrl=https://lender.example/hooks/decisions",
        "LenderWebhookHeader=X-Lender-Key",
    ]
    # Unset: the stack keeps its current value; set but empty: switched off explicitly.
    _, unchanged = deploy.deploy_commands("prod", "artifacts", None)
    assert "--parameter-overrides" not in unchanged
    _, off = deploy.deploy_commands("prod", "artifacts", "ops@example.com", lender_webhook_url="")
    assert off[off.index("--parameter-overrides") + 1 :] == [
        "AlarmEmail=ops@example.com",
        "LenderWebhookUrl=",
    ]


def test_deploy_refuses_a_plain_http_webhook(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "sam.json").write_text("{}")
    monkeypatch.setattr(deploy, "output_dir", lambda stage: tmp_path)
    argv = ["--stage", "prod", "--bucket", "b", "--dry-run", "--lender-webhook-url"]
    with pytest.raises(SystemExit, match="https://"):
        deploy.main([*argv, "http://lender.example"])
    deploy.main([*argv, "https://lender.example"])  # prints the commands, deploys nothing
