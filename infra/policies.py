"""Least-privilege IAM policies for ``.chalice/policy-<stage>.json`` (``autogen_policy: false``).

    python -m infra.policies          # rewrite the three files from this module

Only the actions the code calls (chalicelib/dal, Powertools Idempotency, the SQS event source,
Lambda logging, X-Ray), on the stage's own tables, queues and log groups. Chalice gives the same
policy to both functions' roles. The files are generated so the names stay those of
chalicelib/resources.py; tests/infra check the files equal this output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib import resources
from infra import names

# dal/aws.py (GetItem/PutItem/UpdateItem/DeleteItem; TransactWriteItems is authorised per item as
# PutItem/UpdateItem) and Powertools' DynamoDBPersistenceLayer (Get/Put/Update/DeleteItem).
DYNAMODB_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
# The API resolves the queue URL by name, sends, and reads the depth for /health/detailed.
SQS_SEND_ACTIONS = ("sqs:GetQueueUrl", "sqs:SendMessage", "sqs:GetQueueAttributes")
# What the Lambda SQS event source mapping needs on the consuming role (with GetQueueAttributes).
SQS_CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage")
LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
# X-Ray has no resource-level permissions: these two actions only accept Resource "*".
XRAY_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")


def _arn(service: str, resource: str) -> str:
    # Region and account are left open so one file serves any account/region the stack lands in;
    # the resource names pin the stage.
    return f"arn:aws:{service}:*:*:{resource}"


def policy_document(stage: str) -> dict[str, Any]:
    tables = [_arn("dynamodb", f"table/{name}") for name in names.table_names(stage).values()]
    queues = [_arn("sqs", resources.resource_name(stage, spec.suffix)) for spec in resources.QUEUES]
    log_groups = [
        _arn("logs", f"log-group:{names.function_log_group(stage, spec)}:*") for spec in names.FUNCTION_SPECS
    ]
    statements: list[dict[str, Any]] = [
        {"Sid": "Tables", "Effect": "Allow", "Action": list(DYNAMODB_ACTIONS), "Resource": tables},
        {
            "Sid": "ApplicationsQueue",
            "Effect": "Allow",
            "Action": list(SQS_SEND_ACTIONS + SQS_CONSUME_ACTIONS),
            "Resource": queues,
        },
        {"Sid": "FunctionLogs", "Effect": "Allow", "Action": list(LOG_ACTIONS), "Resource": log_groups},
        {"Sid": "Tracing", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"},
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def policy_path(stage: str) -> Path:
    return names.CHALICE_CONFIG.parent / names.policy_file_name(stage)


def render(stage: str) -> str:
    return json.dumps(policy_document(stage), indent=2) + "\n"


def main() -> None:
    for stage in resources.STAGES:
        policy_path(stage).write_text(render(stage))
        print(policy_path(stage))


if __name__ == "__main__":
    main()
