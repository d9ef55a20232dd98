"""Create the stage's tables and queues from ``chalicelib/resources.py`` (local stack and tests).

The one function here is shared by the unit tests (moto in-process), ``devstack`` (moto server)
and the LocalStack init hook, so every local copy of the resources has exactly the shape the
CloudFormation template declares. Idempotent: existing tables/queues are left as they are.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import resources


def create_tables(stage: str, dynamodb_client: Any) -> list[str]:
    names = []
    for spec in resources.TABLES:
        name = resources.resource_name(stage, spec.suffix)
        try:
            dynamodb_client.create_table(
                TableName=name,
                AttributeDefinitions=[{"AttributeName": spec.partition_key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": spec.partition_key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        dynamodb_client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        if spec.ttl_attribute:
            _enable_ttl(dynamodb_client, name, spec.ttl_attribute)
        names.append(name)
    return names


def _enable_ttl(dynamodb_client: Any, table: str, attribute: str) -> None:
    current = dynamodb_client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    dynamodb_client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def create_queues(stage: str, sqs_client: Any) -> dict[str, str]:
    """Create each queue and its dead-letter queue; returns {queue name: queue URL}."""
    urls: dict[str, str] = {}
    for spec in resources.QUEUES:
        dlq_name = resources.resource_name(stage, spec.dlq_suffix)
        dlq_url = sqs_client.create_queue(
            QueueName=dlq_name,
            Attributes={"MessageRetentionPeriod": str(spec.dlq_retention_seconds)},
        )["QueueUrl"]
        dlq_arn = sqs_client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        name = resources.resource_name(stage, spec.suffix)
        redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
        url = sqs_client.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(spec.visibility_timeout_seconds),
                "MessageRetentionPeriod": str(spec.retention_seconds),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        urls[dlq_name] = dlq_url
        urls[name] = url
    return urls


def create_tables_and_queues(stage: str, dynamodb_client: Any, sqs_client: Any) -> dict[str, Any]:
    """Everything the service needs for ``stage``; safe to call again on an existing stack."""
    return {"tables": create_tables(stage, dynamodb_client), "queues": create_queues(stage, sqs_client)}
