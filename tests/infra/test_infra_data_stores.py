"""DynamoDB tables and SQS queues in the packaged templates, against chalicelib/resources.py."""

from __future__ import annotations

import pytest
from infra_template_support import Template

from chalicelib import resources


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
@pytest.mark.parametrize("spec", resources.TABLES, ids=lambda spec: spec.logical_id)
def test_table(templates: dict[str, Template], stage: str, spec: resources.TableSpec) -> None:
    table = templates[stage]["Resources"][spec.logical_id]
    properties = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert properties["TableName"] == resources.resource_name(stage, spec.suffix)
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    if spec.ttl_attribute:
        assert properties["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in properties
    prod = stage == "prod"
    assert properties["DeletionProtectionEnabled"] is prod
    assert table["DeletionPolicy"] == ("Retain" if prod else "Delete")


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_table_is_in_the_template(templates: dict[str, Template], stage: str) -> None:
    tables = {
        r["Properties"]["TableName"]
        for r in templates[stage]["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    }
    assert tables == {resources.resource_name(stage, spec.suffix) for spec in resources.TABLES}


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_queue_and_dead_letter_queue(templates: dict[str, Template], stage: str) -> None:
    spec = resources.APPLICATIONS_QUEUE
    queue = templates[stage]["Resources"][spec.logical_id]["Properties"]
    dlq = templates[stage]["Resources"][spec.dlq_logical_id]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [spec.dlq_logical_id, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert spec.max_receive_count == 5
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert queue["MessageRetentionPeriod"] == spec.retention_seconds
    assert dlq["MessageRetentionPeriod"] == spec.dlq_retention_seconds == 14 * 24 * 3600
    assert queue["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
