"""DynamoDB tables and SQS queues, from the same specs the local stack bootstraps from."""

from __future__ import annotations

from typing import Any

from chalicelib import resources

Resource = dict[str, Any]


def table_resource(stage: str, spec: resources.TableSpec) -> Resource:
    prod = stage == "prod"
    properties: dict[str, Any] = {
        "TableName": resources.resource_name(stage, spec.suffix),
        "BillingMode": "PAY_PER_REQUEST",  # on-demand: no capacity to scale or throttle at
        "AttributeDefinitions": [{"AttributeName": spec.partition_key, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": spec.partition_key, "KeyType": "HASH"}],
        "SSESpecification": {"SSEEnabled": True},
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "DeletionProtectionEnabled": prod,
        "Tags": [{"Key": "purpose", "Value": spec.purpose}] if spec.purpose else [],
    }
    if spec.ttl_attribute:
        properties["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    # Prod data survives a stack deletion or a replacement; dev tables go with the stack.
    policy = "Retain" if prod else "Delete"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": policy,
        "UpdateReplacePolicy": policy,
        "Properties": properties,
    }


def queue_resources(stage: str, spec: resources.QueueSpec) -> dict[str, Resource]:
    # Queues hold work in flight only (the applications table keeps the state): deleted with the stack.
    lifecycle = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    dead_letter_queue: Resource = {
        "Type": "AWS::SQS::Queue",
        **lifecycle,
        "Properties": {
            "QueueName": resources.resource_name(stage, spec.dlq_suffix),
            "MessageRetentionPeriod": spec.dlq_retention_seconds,
            "SqsManagedSseEnabled": True,
        },
    }
    queue: Resource = {
        "Type": "AWS::SQS::Queue",
        **lifecycle,
        "Properties": {
            "QueueName": resources.resource_name(stage, spec.suffix),
            "VisibilityTimeout": spec.visibility_timeout_seconds,
            "MessageRetentionPeriod": spec.retention_seconds,
            "SqsManagedSseEnabled": True,
            "RedrivePolicy": {
                "deadLetterTargetArn": {"Fn::GetAtt": [spec.dlq_logical_id, "Arn"]},
                "maxReceiveCount": spec.max_receive_count,
            },
        },
    }
    return {spec.dlq_logical_id: dead_letter_queue, spec.logical_id: queue}


def data_store_resources(stage: str) -> dict[str, Resource]:
    out: dict[str, Resource] = {spec.logical_id: table_resource(stage, spec) for spec in resources.TABLES}
    for spec in resources.QUEUES:
        out.update(queue_resources(stage, spec))
    return out
