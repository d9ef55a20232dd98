"""The lenders' webhooks in the template (issue 22): the signing secrets' KMS key and the delivery
function's merge (its SQS mapping). The queue, tables and IAM come from ``chalicelib/resources.py``
like every other (data_stores, policies); the function is app.py's ``deliver_webhooks``.

KMS rather than Secrets Manager: one customer-managed key ($1 a month) serves every endpoint, where
a secret per endpoint would cost $0.40 a month each (https://aws.amazon.com/kms/pricing/,
https://aws.amazon.com/secrets-manager/pricing/).
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import functions, names

Resource = dict[str, Any]
KEY_ID = "WebhookSecretsKey"
KEY_ALIAS_ID = "WebhookSecretsKeyAlias"
# What the account's IAM may be granted on the key: named, no wildcard (tests/infra). The functions'
# roles get Encrypt and Decrypt only (infra/policies.py).
KEY_ADMIN_ACTIONS = (
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:UpdateKeyDescription",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ListResourceTags",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:DeleteAlias",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)


def key_alias(stage: str) -> str:
    return "alias/" + resources.resource_name(stage, resources.WEBHOOK_SECRETS_KEY_ALIAS_SUFFIX)


def key_resources(stage: str) -> dict[str, Resource]:
    return {
        KEY_ID: {
            "Type": "AWS::KMS::Key",
            # The secrets are useless without it: kept when the stack goes, like the tables.
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": f"{resources.SERVICE} {stage}: webhook signing secrets",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            # The account's IAM policies decide (the functions' roles: policies.py).
                            "Sid": "AccountIam",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
                            },
                            "Action": list(KEY_ADMIN_ACTIONS),
                            "Resource": "*",
                        }
                    ],
                },
            },
        },
        KEY_ALIAS_ID: {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": key_alias(stage), "TargetKeyId": {"Ref": KEY_ID}},
        },
    }


def delivery_event_properties(stage: str) -> dict[str, Any]:
    queue = resources.WEBHOOK_QUEUE
    return {
        "BatchSize": queue.batch_size,
        "MaximumBatchingWindowInSeconds": queue.batching_window_seconds,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": queue.maximum_concurrency[stage]},
    }


def function_merge(stage: str) -> Resource:
    """The delivery function's part of Chalice's resource: sizing, its log group, its mapping."""
    spec = resources.WEBHOOK_FUNCTION
    properties = functions.function_properties(stage, spec)
    event_id = f"{names.logical_id(spec)}SqsEventSource"
    properties["Events"] = {event_id: {"Properties": delivery_event_properties(stage)}}
    return {
        "DependsOn": [functions.log_group_id(spec), resources.WEBHOOK_QUEUE.logical_id, KEY_ALIAS_ID],
        "Properties": properties,
    }
