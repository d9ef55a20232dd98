"""Helpers for the edge tests: a valid application from the data file, JSON requests."""

from __future__ import annotations

import json
from typing import Any

from tests.sample_applicants import application_row

# Distinctive personal data: none of these strings may ever appear in a log or a stored record.
PERSONAL_DATA = {
    "applicant_name": "Zorawar Quixotic-Pemberton",
    "pan": "QZXPK7391M",
    "aadhaar": "7391 8264 5173",
    "phone": "9735108642",
    "email": "zorawar.quixotic@example.org",
}
# How each value may appear once normalised by a careless logger or serialiser.
PERSONAL_DATA_VARIANTS = (
    "Zorawar",
    "Quixotic",
    "Pemberton",
    "QZXPK7391M",
    "7391 8264 5173",
    "739182645173",
    "9735108642",
    "zorawar.quixotic",
)


def sample_application(row: int = 0) -> dict[str, Any]:
    """One row of the data file as an API payload (label dropped, no personal fields)."""
    return {name: value for name, value in application_row(row).items() if name != "applicant_name"}


def post_json(client: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return client.http.post(
        path, headers={"Content-Type": "application/json", **(headers or {})}, body=json.dumps(body)
    )


def drain_queue_into_worker(client: Any) -> int:
    """Receive every queued application and hand them to the SQS worker as one Lambda event.

    Each record gets its own messageId (chalice's generate_sqs_event repeats one id)."""
    import hashlib

    from chalicelib.config import get_settings
    from chalicelib.dal.clients import sqs_client

    sqs = sqs_client()
    queue_name = get_settings().applications_queue
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    records = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            records.append(
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
                    "messageAttributes": {},
                    "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue_name}",
                    "awsRegion": "us-east-1",
                }
            )
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    if records:
        client.lambda_.invoke("process_application_queue", {"Records": records})
    return len(records)
