"""Helpers for the API unit tests: the stage's store on a given client, SQS records/events, JSON posts.

Valid applications come from ``tests.sample_applicants`` (rows of the data file via devstack.samples).
"""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from typing import Any

from chalicelib.config import get_settings
from chalicelib.dal.aws import DynamoDBLoanStore


def stage_store(dynamodb: Any) -> DynamoDBLoanStore:
    """The stage's DynamoDB store on the client ``dynamodb`` (e.g. one for a closed port: an outage)."""
    settings = get_settings()
    return DynamoDBLoanStore(
        dynamodb, settings.decision_cache_table, settings.decisions_table, settings.applications_table
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sqs_record(body: str, receive_count: int = 1, message_id: str | None = None) -> dict[str, Any]:
    """One Lambda SQS record with a UNIQUE messageId (chalice's generate_sqs_event repeats ids)."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"handle-{uuid.uuid4()}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1700000000000",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:loan-decisions-local-applications",
        "awsRegion": "us-east-1",
    }


def sqs_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


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


def post_json(client: Any, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, headers={"Content-Type": "application/json", **(headers or {})}, body=json.dumps(payload)
    )
