"""What the burst bench relies on from the local stack: decision events delivered when SQS has a
moto server of its own, the events consumer's count, and moto's SQS deletes serialised per queue
(concurrent deletes otherwise bring deleted messages back). Nothing here times anything."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources
from devstack.burst import EventsConsumer
from devstack.moto_server import SerialiseDynamoDB, locked_delete
from devstack.processes import free_port
from devstack.stack import DevStack, DevStackConfig


@pytest.fixture
def split_stack(tmp_path: Path) -> Iterator[DevStack]:
    """moto for DynamoDB/EventBridge/Cognito plus a moto for SQS alone, as the burst bench runs."""
    stack = DevStack(DevStackConfig.on_free_ports(sqs_port=free_port(), log_dir=tmp_path))
    try:
        stack.start_aws()
        yield stack
    finally:
        stack.stop()


def test_decision_events_reach_their_queue_when_sqs_has_its_own_server(split_stack: DevStack) -> None:
    bus = resources.DECISION_EVENTS_BUS
    entry = {
        "Source": bus.source,
        "DetailType": "decision.made",
        "Detail": json.dumps({"application_id": "a-1"}),
        "EventBusName": split_stack.resource_name(bus.suffix),
    }
    # Before the fix the rule's target queue was on the SQS-only server: QueueDoesNotExist here.
    assert split_stack.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    sqs = split_stack.events_sqs_client()
    url = sqs.get_queue_url(QueueName=split_stack.resource_name(bus.local_queue_suffix))["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)["Messages"]
    assert json.loads(messages[0]["Body"])["detail"] == {"application_id": "a-1"}
    # The service's own queues stay on the SQS server.
    queue = split_stack.resource_name(resources.APPLICATIONS_QUEUE.suffix)
    assert split_stack.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]


def test_the_events_consumer_counts_each_event_once_and_empties_the_queue() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="events-local")["QueueUrl"]
        for start in range(0, 25, 10):
            entries = [{"Id": str(i), "MessageBody": f"e{start + i}"} for i in range(min(10, 25 - start))]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
        consumer = EventsConsumer(sqs, url, wait_seconds=0)
        while consumer.take_once():
            pass
        assert consumer.count == 25 and consumer.settled() == 25 and consumer.errors == 0


def _sqs(client: Any, target: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {
        "X-Amz-Target": f"AmazonSQS.{target}",
        "Content-Type": "application/x-amz-json-1.0",
        "Host": "sqs.us-east-1.amazonaws.com",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    answer: dict[str, Any] = json.loads(
        client.post("/", data=json.dumps(body), headers=headers).get_data() or b"{}"
    )
    return answer


def test_concurrent_batch_deletes_on_the_moto_server_leave_nothing_to_redeliver(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """moto's Queue.delete_message rebuilds the message list without a lock: unpatched, this left
    ~10% of the successfully deleted messages in flight, due again after the visibility timeout
    (the burst's "deleted, yet redelivered after 180 s"). A short GIL switch interval makes the
    interleaving a loaded server sees likely."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.sqs.models import Queue
    from werkzeug.test import Client

    # As devstack.moto_server's main() patches it; undone after the test.
    monkeypatch.setattr(Queue, "delete_message", locked_delete(Queue.delete_message))
    assert locked_delete(Queue.delete_message) is Queue.delete_message  # patching twice is a no-op
    app = SerialiseDynamoDB(DomainDispatcherApplication(create_backend_app))  # type: ignore[arg-type]
    client = Client(app)
    url = _sqs(
        client, "CreateQueue", {"QueueName": "delete-race", "Attributes": {"VisibilityTimeout": "180"}}
    )["QueueUrl"]
    for _ in range(40):
        entries = [{"Id": str(i), "MessageBody": "m"} for i in range(10)]
        _sqs(client, "SendMessageBatch", {"QueueUrl": url, "Entries": entries})
    batches = []
    while messages := _sqs(client, "ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10}).get(
        "Messages"
    ):
        batches.append([message["ReceiptHandle"] for message in messages])
    deleted: list[str] = []

    def delete(mine: list[list[str]]) -> None:
        own = Client(app)
        for handles in mine:
            entries = [{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(handles)]
            deleted.extend(
                _sqs(own, "DeleteMessageBatch", {"QueueUrl": url, "Entries": entries})["Successful"]
            )

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=delete, args=(batches[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    attributes = _sqs(client, "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})[
        "Attributes"
    ]
    assert len(deleted) == 400
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_other_processes_cpu_is_the_machines_minus_ours() -> None:
    from bench.bench_burst import MACHINE, machine_busy_seconds, other_cores

    assert machine_busy_seconds() > 0
    window = {MACHINE: 30.0, "moto-dynamodb": 8.0, "bench-clients": 2.0}
    assert other_cores(window, 10.0) == 2.0  # 30 - 10 CPU seconds over 10 s
    assert other_cores(window, 10.0, ours_elsewhere=5.0) == 1.5  # e.g. the ceiling loops
    assert other_cores(window, 10.0, ours_elsewhere=50.0) == 0.0  # never negative (sampling skew)
    assert other_cores({"moto-dynamodb": 1.0}, 10.0) == 0.0 and other_cores(window, 0.0) == 0.0
