"""Bursts of applications against a running local stack, and the proof of what became of them.

Shared by the burst benchmark (``bench/bench_burst.py``) and its small integration test
(``tests/integration/test_integration_burst.py``): plan submissions (optionally with repeated
``Idempotency-Key`` values), submit them over HTTP from concurrent clients (retrying 409/429/503 as
a client would), inject poison messages straight into the queue, and verify from the tables that
every accepted application was DECIDED exactly once, none lost, no stray records.
"""

from __future__ import annotations

import collections
import json
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
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


def scan_all(
    dynamodb: Any, table: str, projection: str, names: dict[str, str] | None = None
) -> list[dict[str, Any]]:
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


@dataclass
class Verification:
    accepted: int
    decided: int
    lost: list[str]  # accepted but not DECIDED
    decided_twice: list[str]  # more than one decision record
    without_decision_record: list[str]
    strays: int  # application records nobody was told about (e.g. a 503 that left a record)


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
