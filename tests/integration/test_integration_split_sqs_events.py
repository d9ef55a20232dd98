"""Decision events still reach their local queue when SQS has a moto server of its own (the outage
tests' stack): the bus's target queue must live on the server that serves EventBridge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from chalicelib import resources
from devstack.processes import free_port
from devstack.stack import DevStack, DevStackConfig
from devstack.stage_env import FAKE_CREDENTIALS

pytestmark = pytest.mark.integration


@pytest.fixture
def split_stack(tmp_path: Path) -> Iterator[DevStack]:
    """moto for DynamoDB/EventBridge/Cognito plus a moto for SQS alone."""
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
    # With the target queue on the SQS-only server, this failed with QueueDoesNotExist.
    assert split_stack.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    events_sqs = boto3.client(
        "sqs",
        endpoint_url=split_stack.endpoint_for("events"),
        region_name=resources.LOCAL_REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    url = events_sqs.get_queue_url(QueueName=split_stack.resource_name(bus.local_queue_suffix))["QueueUrl"]
    messages = events_sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    assert json.loads(messages[0]["Body"])["detail"] == {"application_id": "a-1"}
    # The service's own queues stay on the SQS server.
    queue = split_stack.resource_name(resources.APPLICATIONS_QUEUE.suffix)
    assert split_stack.client("sqs").get_queue_url(QueueName=queue)["QueueUrl"]
