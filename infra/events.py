"""The decision-events bus and the optional rule forwarding its events to the lender's webhook.

The functions publish one event per decision to the bus (``events:PutEvents``, named by
``DECISION_EVENTS_BUS`` in their environment). Forwarding to the lender is an EventBridge API
destination: EventBridge retries (``WEBHOOK_MAX_RETRIES`` over ``WEBHOOK_MAX_EVENT_AGE_SECONDS``),
rate-limits (``WEBHOOK_INVOCATIONS_PER_SECOND``) and parks what it could not deliver in a
dead-letter queue, so the functions never call the lender themselves and a slow or down lender
never slows a decision.

Forwarding is off unless the stack parameter ``LenderWebhookUrl`` is set (``LENDER_WEBHOOK_URL=...
make deploy``): every webhook resource carries the ``HasLenderWebhook`` condition. The bus itself
always exists, because the code publishes whether or not anyone listens.
"""

from __future__ import annotations

from typing import Any

from chalicelib import resources
from infra import names

Resource = dict[str, Any]
BUS = resources.DECISION_EVENTS_BUS

WEBHOOK_URL_PARAMETER = "LenderWebhookUrl"
WEBHOOK_HEADER_PARAMETER = "LenderWebhookHeader"
WEBHOOK_CONDITION = "HasLenderWebhook"
# The header carrying the shared key when the lender does not ask for another name.
DEFAULT_WEBHOOK_HEADER = "X-Loan-Decisions-Key"

WEBHOOK_SECRET_ID = "LenderWebhookSecret"
WEBHOOK_CONNECTION_ID = "LenderWebhookConnection"
WEBHOOK_DESTINATION_ID = "LenderWebhookDestination"
WEBHOOK_ROLE_ID = "LenderWebhookRole"
WEBHOOK_RULE_ID = "LenderWebhookRule"
WEBHOOK_DLQ_ID = "LenderWebhookDeadLetterQueue"
WEBHOOK_DLQ_POLICY_ID = "LenderWebhookDeadLetterQueuePolicy"
WEBHOOK_TARGET_ID = "lender-webhook"
WEBHOOK_SUFFIX = "lender-webhook"
WEBHOOK_DLQ_SUFFIX = "lender-webhook-dlq"
# Undelivered events wait as long as SQS allows, for a redrive after the lender is fixed.
WEBHOOK_DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# Every webhook resource, for the tests and the docs: all carry WEBHOOK_CONDITION.
WEBHOOK_RESOURCE_IDS = (
    WEBHOOK_SECRET_ID,
    WEBHOOK_CONNECTION_ID,
    WEBHOOK_DESTINATION_ID,
    WEBHOOK_ROLE_ID,
    WEBHOOK_RULE_ID,
    WEBHOOK_DLQ_ID,
    WEBHOOK_DLQ_POLICY_ID,
)

PARAMETERS: dict[str, Any] = {
    WEBHOOK_URL_PARAMETER: {
        "Type": "String",
        "Default": "",
        "Description": "HTTPS endpoint receiving every decision event (empty: no forwarding)",
        # EventBridge API destinations call HTTPS endpoints only.
        "AllowedPattern": "^(https://.+)?$",
    },
    WEBHOOK_HEADER_PARAMETER: {
        "Type": "String",
        "Default": DEFAULT_WEBHOOK_HEADER,
        "Description": "Header carrying the shared key (the value is the LenderWebhookSecret secret)",
        "AllowedPattern": "^[A-Za-z0-9-]+$",
    },
}
# Regions without EventBridge connections / API destinations (CloudFormation's regional resource
# specification as cfn-lint 1.58 ships it; tests/infra check each one is still refused). There the
# webhook stays off even with a URL: the stack output LenderWebhookForwarding says so.
API_DESTINATION_UNSUPPORTED_REGIONS = (
    "ap-east-2",
    "ap-southeast-5",
    "ap-southeast-6",
    "ca-west-1",
    "il-central-1",
    "mx-central-1",
    "us-gov-east-1",
    "us-gov-west-1",
)
WEBHOOK_URL_CONDITION = "HasLenderWebhookUrl"
API_DESTINATION_REGION_CONDITION = "HasApiDestinations"
CONDITIONS: dict[str, Any] = {
    WEBHOOK_URL_CONDITION: {"Fn::Not": [{"Fn::Equals": [{"Ref": WEBHOOK_URL_PARAMETER}, ""]}]},
    API_DESTINATION_REGION_CONDITION: {
        "Fn::Not": [
            {
                "Fn::Or": [
                    {"Fn::Equals": [{"Ref": "AWS::Region"}, region]}
                    for region in API_DESTINATION_UNSUPPORTED_REGIONS
                ]
            }
        ]
    },
    WEBHOOK_CONDITION: {
        "Fn::And": [{"Condition": WEBHOOK_URL_CONDITION}, {"Condition": API_DESTINATION_REGION_CONDITION}]
    },
}


def event_pattern() -> dict[str, Any]:
    """Everything the service publishes on its bus (decision.made, review.completed, ...)."""
    return {"source": [BUS.source]}


def bus_resources(stage: str) -> dict[str, Resource]:
    return {
        BUS.logical_id: {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": names.event_bus_name(stage)},
        }
    }


def secret_reference() -> dict[str, Any]:
    # Resolved by CloudFormation at deploy time: the key never appears in the template. Written the
    # way the CDK writes SecretValue.secretsManager (valid on AWS and on LocalStack): Fn::Join, not
    # Fn::Sub, because LocalStack 4.8's engine resolves the dynamic reference in the Sub's template
    # string before substituting ${...} (it asks Secrets Manager for "${LenderWebhookSecret}"); and
    # the empty json-key, version-stage and version-id segments (``:::``, the same as leaving them
    # out on AWS), without which its parser fails ("list index out of range").
    return {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": WEBHOOK_SECRET_ID}, ":SecretString:::}}"]]}


def _conditional(resource: Resource) -> Resource:
    return {"Condition": WEBHOOK_CONDITION, **resource}


def webhook_resources(stage: str) -> dict[str, Resource]:
    name = resources.resource_name(stage, WEBHOOK_SUFFIX)
    delete = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}
    return {
        # The key the lender checks on every delivery, generated so nobody invents or handles it
        # (``aws secretsmanager get-secret-value`` hands it to the lender). EventBridge keeps its own
        # copy in the connection; a new value needs a connection update (docs/DEPLOYMENT.md).
        WEBHOOK_SECRET_ID: _conditional(
            {
                "Type": "AWS::SecretsManager::Secret",
                **delete,
                "Properties": {
                    "Name": f"{resources.SERVICE}/{stage}/lender-webhook-key",
                    "Description": "Shared key sent in the lender webhook's header",
                    "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
                },
            }
        ),
        WEBHOOK_CONNECTION_ID: _conditional(
            {
                "Type": "AWS::Events::Connection",
                "Properties": {
                    "Name": name,
                    "Description": "Authorization for the lender webhook",
                    "AuthorizationType": "API_KEY",
                    "AuthParameters": {
                        "ApiKeyAuthParameters": {
                            "ApiKeyName": {"Ref": WEBHOOK_HEADER_PARAMETER},
                            "ApiKeyValue": secret_reference(),
                        }
                    },
                },
            }
        ),
        WEBHOOK_DESTINATION_ID: _conditional(
            {
                "Type": "AWS::Events::ApiDestination",
                "Properties": {
                    "Name": name,
                    "Description": "The lender's webhook: one POST per decision event",
                    "ConnectionArn": {"Fn::GetAtt": [WEBHOOK_CONNECTION_ID, "Arn"]},
                    "InvocationEndpoint": {"Ref": WEBHOOK_URL_PARAMETER},
                    "HttpMethod": "POST",
                    # The lender's endpoint is not sized for our bursts: EventBridge queues the rest.
                    "InvocationRateLimitPerSecond": resources.WEBHOOK_INVOCATIONS_PER_SECOND,
                },
            }
        ),
        WEBHOOK_ROLE_ID: _conditional(
            {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "Description": "EventBridge invokes the lender webhook API destination",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                                # Only this account's EventBridge (no confused deputy).
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                                },
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "InvokeLenderWebhook",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": ["events:InvokeApiDestination"],
                                        "Resource": [{"Fn::GetAtt": [WEBHOOK_DESTINATION_ID, "Arn"]}],
                                    }
                                ],
                            },
                        }
                    ],
                },
            }
        ),
        WEBHOOK_DLQ_ID: _conditional(
            {
                "Type": "AWS::SQS::Queue",
                **delete,
                "Properties": {
                    "QueueName": resources.resource_name(stage, WEBHOOK_DLQ_SUFFIX),
                    "MessageRetentionPeriod": WEBHOOK_DLQ_RETENTION_SECONDS,
                    # SQS-managed keys: EventBridge cannot send to a queue under the AWS-managed KMS key.
                    "SqsManagedSseEnabled": True,
                },
            }
        ),
        # A rule's dead-letter queue is written by EventBridge itself (not the target's role).
        WEBHOOK_DLQ_POLICY_ID: _conditional(
            {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": WEBHOOK_DLQ_ID}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "UndeliveredLenderEvents",
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": {"Fn::GetAtt": [WEBHOOK_DLQ_ID, "Arn"]},
                                "Condition": {
                                    "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [WEBHOOK_RULE_ID, "Arn"]}}
                                },
                            }
                        ],
                    },
                },
            }
        ),
        WEBHOOK_RULE_ID: _conditional(
            {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": name,
                    "Description": "Forward every decision event to the lender's webhook",
                    "EventBusName": {"Ref": BUS.logical_id},
                    "EventPattern": event_pattern(),
                    "State": "ENABLED",
                    "Targets": [
                        {
                            "Id": WEBHOOK_TARGET_ID,
                            "Arn": {"Fn::GetAtt": [WEBHOOK_DESTINATION_ID, "Arn"]},
                            "RoleArn": {"Fn::GetAtt": [WEBHOOK_ROLE_ID, "Arn"]},
                            "RetryPolicy": {
                                "MaximumRetryAttempts": resources.WEBHOOK_MAX_RETRIES,
                                "MaximumEventAgeInSeconds": resources.WEBHOOK_MAX_EVENT_AGE_SECONDS,
                            },
                            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [WEBHOOK_DLQ_ID, "Arn"]}},
                        }
                    ],
                },
            }
        ),
    }


def event_resources(stage: str) -> dict[str, Resource]:
    return {**bus_resources(stage), **webhook_resources(stage)}


def outputs() -> dict[str, Any]:
    return {
        "DecisionEventsBusArn": {"Value": {"Fn::GetAtt": [BUS.logical_id, "Arn"]}},
        "LenderWebhookForwarding": {
            "Description": "on: decision events go to LenderWebhookUrl; off: no URL, or a region "
            "without EventBridge API destinations",
            "Value": {"Fn::If": [WEBHOOK_CONDITION, "on", "off"]},
        },
        "LenderWebhookSecretArn": {
            "Condition": WEBHOOK_CONDITION,
            "Description": "The key the lender checks: aws secretsmanager get-secret-value --secret-id <arn>",
            "Value": {"Ref": WEBHOOK_SECRET_ID},
        },
        "LenderWebhookDeadLetterQueueUrl": {
            "Condition": WEBHOOK_CONDITION,
            "Value": {"Ref": WEBHOOK_DLQ_ID},
        },
    }
