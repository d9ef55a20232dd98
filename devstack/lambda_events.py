"""Lambda-shaped SQS events and a Lambda context, as the SQS event source mapping would pass them.

Shapes follow the AWS documentation for the SQS event (``Records[]`` with ``messageId``,
``receiptHandle``, ``body``, ``attributes`` incl. ``ApproximateReceiveCount``, ``messageAttributes``,
``md5OfBody``, ``eventSource``, ``eventSourceARN``, ``awsRegion``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.resources import SERVICE, WORKER_FUNCTION

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

LOCAL_ACCOUNT_ID = "123456789012"  # moto's and LocalStack's default account


def _message_attribute(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    # SQS API: {"DataType", "StringValue"|"BinaryValue"}; Lambda event: camelCase + list fields.
    converted: dict[str, Any] = {
        "dataType": value["DataType"],
        "stringListValues": [],
        "binaryListValues": [],
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = value["BinaryValue"]
    return converted


def sqs_record(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """One ``ReceiveMessage`` result (boto3 shape) as a Lambda SQS event record."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def sqs_event(messages: Sequence[MessageTypeDef], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [sqs_record(message, queue_arn, region) for message in messages]}


@dataclass
class LocalLambdaContext:
    """The attributes of Lambda's context object that Chalice and Powertools read."""

    function_name: str
    region: str
    memory_limit_in_mb: int = WORKER_FUNCTION.memory_mb
    timeout_seconds: int = WORKER_FUNCTION.timeout_seconds
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def worker_context(stage: str, region: str) -> LocalLambdaContext:
    """A fresh context per invocation, named as Chalice names the deployed worker function."""
    name = f"{SERVICE}-{stage}-{WORKER_FUNCTION.chalice_name}"
    return LocalLambdaContext(function_name=name, region=region)
