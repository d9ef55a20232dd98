"""Helpers for tests on moto (in-process): the stage's DynamoDB store on a given client, a closed
port (an outage, for real), everything on a real SQS queue."""

from __future__ import annotations

import socket
from typing import Any

from chalicelib.config import load_settings
from chalicelib.dal.aws import DynamoDBLoanStore
from tests.support.sqs import sqs_record


def stage_store(dynamodb: Any) -> DynamoDBLoanStore:
    """The stage's DynamoDB store on the client ``dynamodb`` (e.g. one for a closed port: an outage)."""
    return DynamoDBLoanStore.for_settings(dynamodb, load_settings())


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable_client(service: str) -> Any:
    """A botocore client for ``service`` pointed at a closed local port."""
    from botocore.session import Session

    from chalicelib.dal.clients import client_config

    return Session().create_client(
        service,
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        region_name="us-east-1",
        config=client_config(),
    )


def receive_all(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message currently on the queue, as SQS records for the worker (then deleted)."""
    records = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"]
        )
        messages = response.get("Messages", [])
        if not messages:
            return records
        for message in messages:
            count = int(message["Attributes"]["ApproximateReceiveCount"])
            records.append(sqs_record(message["Body"], count, message["MessageId"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def readable(items: Any) -> str:
    """DynamoDB items as text, compressed document attributes (``B``) expanded: what a search
    for personal data must look through."""
    import json
    import zlib

    def expand(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"B"} and isinstance(value["B"], bytes | bytearray):
                return zlib.decompress(value["B"]).decode()
            return {name: expand(inner) for name, inner in value.items()}
        if isinstance(value, list):
            return [expand(inner) for inner in value]
        return value

    return json.dumps(expand(items), ensure_ascii=False, default=str)


def document(attribute: dict[str, Any]) -> Any:
    """A stored document attribute (compressed JSON) as its value."""
    import json
    import zlib

    return json.loads(zlib.decompress(attribute["B"]))
