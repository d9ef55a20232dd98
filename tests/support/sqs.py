"""Lambda-shaped SQS records for the worker, and handing the in-memory queue to it."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from chalicelib import resources
from devstack.in_memory import InMemoryQueue


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


def queued_records(queue: InMemoryQueue, receive_count: int = 1) -> list[dict[str, Any]]:
    """Every message on the in-memory queue as SQS records (and the queue emptied)."""
    return [sqs_record(body, receive_count, message_id) for message_id, body in queue.drain()]


def drain_queue_into_worker(client: Any, queue: InMemoryQueue) -> int:
    """Hand every queued application to the SQS worker as one Lambda event, as Lambda would."""
    records = queued_records(queue)
    if records:
        client.lambda_.invoke(resources.WORKER_FUNCTION.chalice_name, sqs_event(*records))
    return len(records)
