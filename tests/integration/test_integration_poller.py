"""The local queue worker settles batches exactly as Lambda's SQS event source mapping does.

Against a real moto server process, with recording handlers in place of the app's: Lambda-shaped
events, partial batch failures, a raising handler, an invalid response, and the redrive to the DLQ.
Each test gets its own queue + DLQ (same attributes as the stage's queue, short visibility).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from chalicelib.resources import APPLICATIONS_QUEUE, SERVICE, WORKER_FUNCTION
from devstack.sqs_poller import QueuePoller
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

VISIBILITY_SECONDS = 1
MAX_RECEIVES = 3


@dataclass
class ScratchQueue:
    name: str
    url: str
    arn: str
    dlq_url: str


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


@pytest.fixture
def queue(sqs: Any) -> Iterator[ScratchQueue]:
    name = f"poller-test-{uuid.uuid4().hex[:12]}"
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = queue_arn(sqs, dlq_url)
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(VISIBILITY_SECONDS), "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    arn = queue_arn(sqs, url)
    yield ScratchQueue(name, url, arn, dlq_url)
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq_url)


class RecordingHandler:
    """Stands in for ``app.process_application_queue``; fails the bodies it is told to."""

    def __init__(self, fail_bodies: frozenset[str] = frozenset(), raise_error: bool = False) -> None:
        self.fail_bodies = fail_bodies
        self.raise_error = raise_error
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.contexts.append(context)
        if self.raise_error:
            raise RuntimeError("handler crashed")
        failures = [r["messageId"] for r in event["Records"] if r["body"] in self.fail_bodies]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failures]}


def poller_for(aws_stack: DevStack, queue: ScratchQueue, handler: Any) -> QueuePoller:
    return QueuePoller(
        handler=handler,
        queue_name=queue.name,
        stage="local",
        long_poll_seconds=1,
        sqs_client=aws_stack.client("sqs"),
    )


def send(sqs: Any, queue: ScratchQueue, bodies: list[str]) -> None:
    for body in bodies:
        sqs.send_message(
            QueueUrl=queue.url,
            MessageBody=body,
            MessageAttributes={"origin": {"DataType": "String", "StringValue": "test"}},
        )


def receive_all(sqs: Any, url: str, expected: int, timeout: float = 30) -> list[dict[str, Any]]:
    """Receive (without deleting) until ``expected`` messages were seen or ``timeout`` passed.

    Messages left by a failed batch turn visible again only after the visibility timeout.
    """
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < expected and time.monotonic() < deadline:
        found += sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            VisibilityTimeout=600,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
    return found


def poll_deleting_nothing(poller: QueuePoller, until_received: int) -> None:
    """Poll until ``until_received`` messages came in; no poll may delete any of them."""
    received = 0
    while received < until_received:
        outcome = poller.poll_once()
        assert outcome.deleted == 0
        received += outcome.received


def messages_in(sqs: Any, url: str) -> int:
    counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"]
    return sum(int(attributes[name]) for name in counts)


def test_event_and_context_have_the_lambda_shape(aws_stack: DevStack, sqs: Any, queue: ScratchQueue) -> None:
    handler = RecordingHandler()
    send(sqs, queue, ["one"])

    outcome = poller_for(aws_stack, queue, handler).poll_once()

    assert (outcome.received, outcome.deleted, outcome.failed) == (1, 1, 0)
    (record,) = handler.events[0]["Records"]
    assert record["body"] == "one"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == queue.arn.split(":")[3]
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]
    assert record["messageAttributes"]["origin"]["stringValue"] == "test"
    context = handler.contexts[0]
    assert context.function_name == f"{SERVICE}-local-{WORKER_FUNCTION.chalice_name}"
    assert context.get_remaining_time_in_millis() > 0
    assert context.aws_request_id


def test_only_reported_failures_stay_on_the_queue(aws_stack: DevStack, sqs: Any, queue: ScratchQueue) -> None:
    send(sqs, queue, ["good-1", "bad", "good-2"])
    handler = RecordingHandler(fail_bodies=frozenset({"bad"}))
    poller = poller_for(aws_stack, queue, handler)

    def bodies() -> list[str]:
        return [record["body"] for event in handler.events for record in event["Records"]]

    deleted = failed = 0
    while set(bodies()) != {"good-1", "bad", "good-2"}:
        outcome = poller.poll_once()
        deleted, failed = deleted + outcome.deleted, failed + outcome.failed

    # "bad" turns visible again after the (1 s) visibility timeout: on a slow machine the poller may
    # receive it more than once before the others, and every receive is counted.
    attempts = bodies().count("bad")
    assert (deleted, failed) == (2, attempts)
    left = receive_all(sqs, queue.url, expected=1)
    assert [m["Body"] for m in left] == ["bad"]
    assert left[0]["Attributes"]["ApproximateReceiveCount"] == str(attempts + 1)


def test_a_raising_handler_leaves_the_whole_batch(aws_stack: DevStack, sqs: Any, queue: ScratchQueue) -> None:
    send(sqs, queue, ["a", "b"])
    poller = poller_for(aws_stack, queue, RecordingHandler(raise_error=True))

    poll_deleting_nothing(poller, until_received=2)

    assert sorted(m["Body"] for m in receive_all(sqs, queue.url, expected=2)) == ["a", "b"]


def test_an_unknown_item_identifier_fails_the_whole_batch(
    aws_stack: DevStack, sqs: Any, queue: ScratchQueue
) -> None:
    send(sqs, queue, ["x", "y"])

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}

    poller = poller_for(aws_stack, queue, handler)
    poll_deleting_nothing(poller, until_received=2)

    assert sorted(m["Body"] for m in receive_all(sqs, queue.url, expected=2)) == ["x", "y"]


def test_a_message_that_keeps_failing_reaches_the_dlq(
    aws_stack: DevStack, sqs: Any, queue: ScratchQueue
) -> None:
    handler = RecordingHandler(fail_bodies=frozenset({"poison"}))
    send(sqs, queue, ["poison"])
    stop = threading.Event()
    worker = threading.Thread(target=poller_for(aws_stack, queue, handler).run, args=(stop,))
    worker.start()
    try:
        in_dlq = receive_all(sqs, queue.dlq_url, expected=1, timeout=90)
    finally:
        stop.set()
        worker.join(timeout=30)

    assert [m["Body"] for m in in_dlq] == ["poison"]
    attempts = [r for event in handler.events for r in event["Records"] if r["body"] == "poison"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in attempts] == [
        str(n) for n in range(1, MAX_RECEIVES + 1)
    ]
    assert messages_in(sqs, queue.url) == 0


def test_the_stage_queue_has_the_configured_redrive(aws_stack: DevStack, sqs: Any) -> None:
    names = aws_stack.names
    url = sqs.get_queue_url(QueueName=names[APPLICATIONS_QUEUE.env_var])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":" + names[APPLICATIONS_QUEUE.dlq_env_var])
    assert int(redrive["maxReceiveCount"]) == APPLICATIONS_QUEUE.max_receive_count
    assert int(attributes["VisibilityTimeout"]) == APPLICATIONS_QUEUE.visibility_timeout_seconds
