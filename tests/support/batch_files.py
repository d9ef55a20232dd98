"""Batch files for the multipart tests (import as ``tests.support.batch_files``): the shipped rows,
each with a padding column (an extra column is allowed), so that a file of several S3 parts
(5 MiB each at least) holds thousands of rows rather than tens of thousands."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "data" / "loan_applications.csv"
PADDING_BYTES = 900


def padded_csv(size: int) -> tuple[bytes, int]:
    """A CSV of at least ``size`` bytes and its number of rows (the shipped rows, cycled)."""
    header, *rows = DATA.read_bytes().splitlines()
    lines = [header + b",note\n"]
    total, count = len(lines[0]), 0
    for row in itertools.cycle(rows):
        if total >= size:
            break
        line = row + b"," + b"p" * PADDING_BYTES + b"\n"
        lines.append(line)
        total += len(line)
        count += 1
    return b"".join(lines), count


def run_chunk_queue(configured: Any, sqs: Any, per_receive: int = 1) -> None:
    """Deliver every message on the batch's chunk queue (moto SQS) to the handler as Lambda would,
    one receive at a time, until the queue is empty; each delivery must report no failure."""
    from chalicelib.service import batches

    url = sqs.get_queue_url(QueueName=configured.settings.queue_name)["QueueUrl"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=per_receive).get("Messages", []):
        for message in messages:
            event = {"Records": [{"messageId": message["MessageId"], "body": message["Body"]}]}
            assert batches.handle_batch(configured, event) == {"batchItemFailures": []}
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
