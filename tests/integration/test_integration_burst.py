"""A small burst with repeated Idempotency-Keys and poison messages: exactly once, nothing lost.

The bench with figures is ``bench/bench_burst.py`` (same helpers, ``bench/burst.py``); this one runs in
``make test`` against the session's stack (gateway emulation on, partner usage plan).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from bench.burst import count_decided, inject_poison, plan_submissions, submit_all, verify
from chalicelib.resources import APPLICATIONS_QUEUE
from devstack.processes import wait_until
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

SUBMISSIONS = 100
DUPLICATE_RATIO = 0.2
POISON_MESSAGES = 3
SETTLED_WITHIN_SECONDS = 180


def test_duplicates_and_poison_in_a_burst(
    stack: DevStack,
    sqs: Any,
    dynamodb: Any,
    take_from_queue: Callable[[Any, str, Callable[[str], bool]], list[str]],
) -> None:
    names = stack.names
    queue_url = sqs.get_queue_url(QueueName=names[APPLICATIONS_QUEUE.env_var])["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=names[APPLICATIONS_QUEUE.dlq_env_var])["QueueUrl"]
    submissions = plan_submissions(SUBMISSIONS, DUPLICATE_RATIO, seed=11)
    keys = {submission.idempotency_key for submission in submissions}
    decided_before = count_decided(dynamodb, names["APPLICATIONS_TABLE"])

    submitted = submit_all(stack.api_url, stack.api_headers("partner"), submissions, clients=4)
    poison = inject_poison(sqs, queue_url, POISON_MESSAGES, uuid.uuid4().hex[:8])

    # Every key became exactly one application; every repeat was answered with the first response.
    accepted = set(submitted.accepted.values())
    assert submitted.failed == 0, submitted.statuses
    assert submitted.mismatched_replays == 0
    assert len(accepted) == len(keys)
    assert submitted.replayed == SUBMISSIONS - len(keys)

    wait_until(
        lambda: count_decided(dynamodb, names["APPLICATIONS_TABLE"]) >= decided_before + len(accepted),
        SETTLED_WITHIN_SECONDS,
        "every accepted application DECIDED",
        0.5,
    )
    dead_lettered: set[str] = set()

    def all_poison_dead_lettered() -> bool:
        # Our poison found and taken however many other messages the DLQ holds.
        dead_lettered.update(take_from_queue(sqs, dlq_url, lambda body: body in poison))
        return dead_lettered == poison

    wait_until(all_poison_dead_lettered, SETTLED_WITHIN_SECONDS, "every poison message in the DLQ", 0.5)

    check = verify(dynamodb, names, accepted)
    assert check.lost == []
    assert check.decided_twice == []
    assert check.without_decision_record == []
    assert check.decided == len(accepted)
