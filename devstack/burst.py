"""Bursts of applications against a running local stack, and the proof of what became of them.

Shared by the burst benchmark (``bench/bench_burst.py``, 10,000 applications) and its small
integration test: plan submissions (optionally with repeated ``Idempotency-Key`` values), submit
them over HTTP from concurrent clients (retrying 409/429/503 as a client would), inject poison
messages straight into the queue, and verify from the tables that every accepted application was
DECIDED exactly once, none lost, no stray records, every poison message dead-lettered.
"""

from __future__ import annotations

import collections
import json
import random
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from devstack.client import ApiClient
from devstack.samples import applications

SUBMIT_ATTEMPTS = 20  # per submission, for 409 (duplicate still in flight), 429 and 503 answers


@dataclass(frozen=True)
class Submission:
    idempotency_key: str | None
    payload: dict[str, Any]


@dataclass
class SubmitResult:
    seconds: float = 0.0
    accepted: dict[str, str] = field(default_factory=dict)  # idempotency key (or index) -> application id
    replayed: int = 0  # 202s marked Idempotent-Replayed
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)  # every answer
    failed: int = 0  # submissions that never got a 202
    mismatched_replays: int = 0  # a replay that returned a different application id (must be 0)


def plan_submissions(count: int, duplicate_ratio: float, seed: int = 7) -> list[Submission]:
    """``count`` submissions; ``duplicate_ratio`` of them repeat an earlier key with the same body."""
    rng = random.Random(seed)
    duplicates = int(count * duplicate_ratio)
    originals = [
        Submission(str(uuid.uuid4()) if duplicate_ratio else None, payload)
        for payload in applications(count - duplicates, with_personal_data=True)
    ]
    repeats = [rng.choice(originals) for _ in range(duplicates)]
    planned = originals + repeats
    rng.shuffle(planned)
    return planned


def submit_all(
    api_url: str, headers: dict[str, str], submissions: list[Submission], clients: int
) -> SubmitResult:
    result = SubmitResult()
    lock = threading.Lock()
    local = threading.local()

    def client() -> ApiClient:
        if not hasattr(local, "client"):
            local.client = ApiClient(api_url, headers)
        return local.client  # type: ignore[no-any-return]

    def submit(index: int, submission: Submission) -> None:
        headers = {"Idempotency-Key": submission.idempotency_key} if submission.idempotency_key else {}
        for _ in range(SUBMIT_ATTEMPTS):
            response = client().post("/v1/applications", submission.payload, headers=headers)
            with lock:
                result.statuses[response.status_code] += 1
            if response.status_code == 202:
                break
            if response.status_code not in (409, 429, 503):
                break
            time.sleep(min(float(response.headers.get("Retry-After", "0.2")), 1.0))
        else:
            response = None
        with lock:
            if response is None or response.status_code != 202:
                result.failed += 1
                return
            application_id = response.json()["application_id"]
            key = submission.idempotency_key or str(index)
            if response.headers.get("Idempotent-Replayed") == "true":
                result.replayed += 1
            if key in result.accepted and result.accepted[key] != application_id:
                result.mismatched_replays += 1
            result.accepted.setdefault(key, application_id)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(submit, i, s) for i, s in enumerate(submissions)]:
            future.result()
    result.seconds = time.perf_counter() - started
    return result


def inject_poison(sqs: Any, queue_url: str, count: int, marker: str) -> set[str]:
    """Undecidable messages (invalid application, unknown id), as a broken producer would send."""
    bodies = [
        json.dumps({"application_id": f"poison-{marker}-{i}", "application": {"cibil_score": "n/a"}})
        for i in range(count)
    ]
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
    return set(bodies)


def scan_all(dynamodb: Any, table: str, projection: str, names: dict[str, str] | None = None) -> list[dict]:
    request: dict[str, Any] = {"TableName": table, "ProjectionExpression": projection, "ConsistentRead": True}
    if names:
        request["ExpressionAttributeNames"] = names
    return [item for page in dynamodb.get_paginator("scan").paginate(**request) for item in page["Items"]]


def count_decided(dynamodb: Any, table: str) -> int:
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        Select="COUNT",
        FilterExpression="#s = :decided",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":decided": {"S": "DECIDED"}},
    )
    return sum(page["Count"] for page in pages)


def queue_depth(sqs: Any, queue_url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def dlq_bodies(sqs: Any, dlq_url: str, expected: int) -> set[str]:
    """Read the DLQ (the bench owns the stack): receive until ``expected`` distinct bodies or empty."""
    bodies: set[str] = set()
    while len(bodies) < expected:
        batch = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600
        ).get("Messages", [])
        if not batch:
            break
        bodies.update(message["Body"] for message in batch)
    return bodies


@dataclass
class Verification:
    accepted: int
    decided: int
    lost: list[str]  # accepted but not DECIDED
    decided_twice: list[str]  # more than one decision record
    without_decision_record: list[str]
    strays: int  # application records nobody was told about (e.g. a 503 that left a record)


def application_ids(dynamodb: Any, table: str) -> set[str]:
    """Every application id in the table (what was there before a burst)."""
    return {item["application_id"]["S"] for item in scan_all(dynamodb, table, "application_id")}


def verify(
    dynamodb: Any, names: dict[str, str], accepted_ids: set[str], earlier: set[str] | None = None
) -> Verification:
    """``earlier``: application ids that were in the table before the burst (not strays)."""
    applications_table = scan_all(
        dynamodb, names["APPLICATIONS_TABLE"], "application_id, #s", {"#s": "status"}
    )
    status = {item["application_id"]["S"]: item["status"]["S"] for item in applications_table}
    per_application = collections.Counter(
        item["application_id"]["S"]
        for item in scan_all(dynamodb, names["DECISIONS_TABLE"], "decision_id, application_id")
        if "application_id" in item
    )
    return Verification(
        accepted=len(accepted_ids),
        decided=sum(1 for i in accepted_ids if status.get(i) == "DECIDED"),
        lost=sorted(i for i in accepted_ids if status.get(i) != "DECIDED"),
        decided_twice=sorted(i for i, n in per_application.items() if n > 1),
        without_decision_record=sorted(i for i in accepted_ids if per_application[i] == 0),
        strays=len(set(status) - accepted_ids - (earlier or set())),
    )


def decided_at_span(dynamodb: Any, table: str, ids: set[str]) -> float:
    """Seconds between the first and the last decision among ``ids`` (the workers' steady state)."""
    stamps = [
        datetime.fromisoformat(item["decided_at"]["S"].replace("Z", "+00:00")).timestamp()
        for item in scan_all(dynamodb, table, "application_id, decided_at")
        if item["application_id"]["S"] in ids and "decided_at" in item
    ]
    return max(stamps) - min(stamps) if len(stamps) > 1 else 0.0


class EventsConsumer:
    """Takes the decision events off the bus's local queue as they arrive, as the lender's webhook
    takes them in AWS, and counts them (distinct message ids).

    moto's SendMessage scans every message of the queue (``Queue.messages``), and its PutEvents
    sends each entry to the rule's queue: left to fill up (``make run`` never reads it), the queue
    made a PutEvents of 10 entries cost 80 ms at 200 messages and 290 ms at 1,200, so the burst
    and the ceiling loops would measure how full that queue got, not the service."""

    def __init__(self, sqs: Any, queue_url: str, wait_seconds: int = 1) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.wait_seconds = wait_seconds
        self.seen: set[str] = set()
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="events-consumer", daemon=True)

    @property
    def count(self) -> int:
        return len(self.seen)

    def start(self) -> EventsConsumer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.wait_seconds + 10)

    def take_once(self) -> int:
        """One receive and the delete of what it got; returns how many messages that was."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=self.wait_seconds
        ).get("Messages", [])
        if messages:
            # Counted before the delete: once the queue reads empty, ``count`` has them all.
            self.seen.update(message["MessageId"] for message in messages)
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(messages)

    def settled(self) -> int:
        """The count once the queue is empty (call it with nothing publishing): what was delivered."""
        while queue_depth(self.sqs, self.queue_url):
            time.sleep(0.2)
        return self.count

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.take_once()
            except Exception:  # the endpoint restarted or is busy: try again, never die silently
                self.errors += 1
                self._stop.wait(1.0)


# The local queue worker's line per batch (devstack.sqs_poller.QueuePoller.run).
_BATCH_LINE = re.compile(r"batch: (\d+) received, \d+ deleted, \d+ left on the queue")


def batch_sizes(log_paths: list[Path]) -> list[int]:
    """Messages per batch the queue workers received, read from their logs: full batches (the
    queue's batch size) cost one receive per ten decisions, shallow queues more per decision."""
    sizes: list[int] = []
    for path in log_paths:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        sizes.extend(int(found.group(1)) for found in _BATCH_LINE.finditer(text))
    return sizes
