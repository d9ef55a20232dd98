"""The decision-events bus, and the lenders' webhooks (issue 22) in the packaged templates: the
signing secrets' KMS key and the delivery function's SQS mapping. The deployment-wide API destination
(one URL for every client's events) is gone: nothing reads the bus but consumers a deployer adds.

Expected numbers come from chalicelib/resources.py.
"""

from __future__ import annotations

import pytest
from infra_template_support import Template, resources_of_type

from chalicelib import resources
from infra import deploy, webhooks

BUS = resources.DECISION_EVENTS_BUS


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_bus_always_exists_with_the_stage_name(templates: dict[str, Template], stage: str) -> None:
    bus = templates[stage]["Resources"][BUS.logical_id]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert "Condition" not in bus
    assert bus["Properties"]["Name"] == resources.resource_name(stage, BUS.suffix)
    assert templates[stage]["Outputs"]["DecisionEventsBusArn"]["Value"] == {
        "Fn::GetAtt": [BUS.logical_id, "Arn"]
    }


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_no_api_destination_and_no_rule_on_the_bus(expanded: dict[str, Template], stage: str) -> None:
    template = expanded[stage]
    assert resources_of_type(template, "AWS::Events::ApiDestination") == {}
    assert resources_of_type(template, "AWS::Events::Connection") == {}
    assert not any(
        "LenderWebhook" in name for name in [*template["Resources"], *template.get("Parameters", {})]
    )
    on_bus = [
        rule_id
        for rule_id, rule in resources_of_type(template, "AWS::Events::Rule").items()
        if rule["Properties"].get("EventBusName") == {"Ref": BUS.logical_id}
    ]
    assert on_bus == []


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_webhook_secrets_key_rotates_is_kept_and_has_the_alias_the_code_uses(
    templates: dict[str, Template], stage: str
) -> None:
    key = templates[stage]["Resources"][webhooks.KEY_ID]
    assert key["Type"] == "AWS::KMS::Key" and key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    (statement,) = key["Properties"]["KeyPolicy"]["Statement"]
    assert all("*" not in action for action in statement["Action"])
    alias = templates[stage]["Resources"][webhooks.KEY_ALIAS_ID]["Properties"]
    # What chalicelib.service.webhooks derives when WEBHOOK_SECRETS_KEY is not set.
    assert alias == {
        "AliasName": f"alias/{resources.SERVICE}-{stage}-{resources.WEBHOOK_SECRETS_KEY_ALIAS_SUFFIX}",
        "TargetKeyId": {"Ref": webhooks.KEY_ID},
    }


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_the_delivery_function_reads_its_own_queue(expanded: dict[str, Template], stage: str) -> None:
    queue = resources.WEBHOOK_QUEUE
    queue_name = resources.resource_name(stage, queue.suffix)
    (mapping,) = [
        mapping
        for mapping in resources_of_type(expanded[stage], "AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["EventSourceArn"]["Fn::Sub"].endswith(f":{queue_name}")
    ]
    properties = mapping["Properties"]
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["BatchSize"] == queue.batch_size
    assert properties["ScalingConfig"]["MaximumConcurrency"] == queue.maximum_concurrency[stage]
    function = expanded[stage]["Resources"]["DeliverWebhooks"]["Properties"]
    assert function["Timeout"] == resources.WEBHOOK_FUNCTION.timeout_seconds
    assert function["Timeout"] >= resources.WEBHOOK_TIMEOUT_SECONDS + 5  # one attempt fits, with its writes
    assert queue.visibility_timeout_seconds >= 6 * function["Timeout"]


def test_make_deploy_has_no_webhook_parameters() -> None:
    _, unchanged = deploy.deploy_commands("prod", "artifacts", None)
    assert "--parameter-overrides" not in unchanged
    _, with_email = deploy.deploy_commands("prod", "artifacts", "ops@example.com")
    assert with_email[with_email.index("--parameter-overrides") + 1 :] == ["AlarmEmail=ops@example.com"]
