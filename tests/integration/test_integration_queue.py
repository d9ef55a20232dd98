"""Asynchronous applications through the real queue: API -> SQS -> local worker -> DynamoDB.

The worker is ``devstack.sqs_poller`` invoking ``app.process_application_queue`` as Lambda's event
source mapping would; the visibility timeout is shortened for the session (tests only) so that
redelivery and the dead-letter queue are reached in seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.resources import APPLICATIONS_QUEUE
from devstack.client import ApiClient
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

# Generous: a 2-core CI machine runs moto, chalice local, the worker and pytest at once. A poison
# message needs maxReceiveCount receives, each after the (test) visibility timeout.
DECIDED_WITHIN_SECONDS = 90
DEAD_LETTERED_WITHIN_SECONDS = 180


def status_of(api: ApiClient, application_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/applications/{application_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def queue_url(sqs: Any, stack: DevStack, env_var: str) -> str:
    return str(sqs.get_queue_url(QueueName=stack.names[env_var])["QueueUrl"])


def test_an_application_goes_pending_to_decided(api: ApiClient, stack: DevStack, dynamodb: Any) -> None:
    payload = applications(30)[25]

    response = api.post("/v1/applications", payload)

    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "PENDING"
    assert accepted["status_url"].endswith(accepted["application_id"])
    decided = wait_until(
        lambda: (s := status_of(api, accepted["application_id"]))["status"] == "DECIDED" and s,
        timeout=DECIDED_WITHIN_SECONDS,
        what="application DECIDED",
        interval=0.25,
    )
    assert decided["decision"]["outcome"] in {"approved", "manual_review", "declined"}
    assert decided["decision_id"]
    # Every page: a Scan returns at most 1 MB, and the session's earlier tests fill the table.
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=stack.names["DECISIONS_TABLE"],
        FilterExpression="application_id = :id",
        ExpressionAttributeValues={":id": {"S": accepted["application_id"]}},
        ConsistentRead=True,
    )
    decisions = [item for page in pages for item in page["Items"]]
    assert [item["decision_id"]["S"] for item in decisions] == [decided["decision_id"]]


def test_poison_messages_end_in_the_dead_letter_queue(
    sqs: Any, stack: DevStack, take_from_queue: Callable[[Any, str, Callable[[str], bool]], list[str]]
) -> None:
    marker = uuid.uuid4().hex
    unreadable = f"not json {marker}"
    invalid = json.dumps({"application_id": f"poison-{marker}", "application": {"cibil_score": "high"}})
    url = queue_url(sqs, stack, APPLICATIONS_QUEUE.env_var)
    dlq_url = queue_url(sqs, stack, APPLICATIONS_QUEUE.dlq_env_var)
    for body in (unreadable, invalid):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    seen: set[str] = set()

    def both_dead_lettered() -> bool:
        # Our own two, found and taken however many other messages the DLQ holds.
        seen.update(take_from_queue(sqs, dlq_url, lambda body: marker in body))
        return seen == {unreadable, invalid}

    wait_until(both_dead_lettered, DEAD_LETTERED_WITHIN_SECONDS, "both poison messages in the DLQ", 0.5)
    assert seen == {unreadable, invalid}  # (wait_until raises if they never arrive)


def test_a_dead_lettered_application_is_marked_failed(
    api: ApiClient, sqs: Any, stack: DevStack, dynamodb: Any
) -> None:
    # A PENDING application whose queued message turns out to be undecidable: on the last receive
    # before the DLQ the worker marks it FAILED, so its status URL does not say PENDING forever.
    from chalicelib import engine
    from chalicelib.config import load_settings
    from chalicelib.dal.aws import DynamoDBLoanStore
    from chalicelib.service import clock
    from chalicelib.service.applications import pending_record
    from devstack.gateway import local_api_key_id

    application_id = str(uuid.uuid4())
    client_id = local_api_key_id(stack.api_key())
    store = DynamoDBLoanStore.for_settings(dynamodb, load_settings(stack.env()))
    [payload] = applications(1, with_personal_data=False)
    # Submitted just now: the reconciler leaves it to the queue (it only takes over old ones).
    record = pending_record(
        application_id, client_id, engine.validate_application(payload), clock.now_iso(), 3600
    )
    store.create_pending_application(record)
    sqs.send_message(
        QueueUrl=queue_url(sqs, stack, APPLICATIONS_QUEUE.env_var),
        MessageBody=json.dumps(
            {"application_id": application_id, "client_id": client_id, "application": {"age": -1}}
        ),
    )

    failed = wait_until(
        lambda: (s := status_of(api, application_id))["status"] == "FAILED" and s,
        timeout=DEAD_LETTERED_WITHIN_SECONDS,
        what="application FAILED",
        interval=0.5,
    )
    assert failed["failure"]
