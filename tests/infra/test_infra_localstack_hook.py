"""The LocalStack READY hook, run as LocalStack runs it (a script), against a moto server process.

Proves the hook creates the stage's tables (with their GSIs), queues and decision-events bus with
the settings of chalicelib/resources.py, and that running it again (a LocalStack restart with
persisted state) changes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from infra_process_support import REGION, client, moto_server

from chalicelib import resources

PROJECT_DIR = Path(__file__).resolve().parents[2]
HOOK = PROJECT_DIR / "localstack" / "ready.d" / "01_create_tables_and_queues.py"
STAGE = "local"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


def _run_hook(endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LOAN_DECISIONS_PROJECT": str(PROJECT_DIR),
        "STAGE": STAGE,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
    }
    # Run from elsewhere so only LOAN_DECISIONS_PROJECT can make chalicelib importable.
    return subprocess.run(
        [sys.executable, str(HOOK)], env=env, cwd="/", capture_output=True, text=True, check=True, timeout=120
    )


@pytest.fixture(scope="module")
def hooked_endpoint(moto_endpoint: str) -> str:
    _run_hook(moto_endpoint)
    return moto_endpoint


@pytest.mark.parametrize("spec", resources.TABLES, ids=lambda spec: spec.logical_id)
def test_hook_creates_each_table(hooked_endpoint: str, spec: resources.TableSpec) -> None:
    dynamodb = client("dynamodb", hooked_endpoint)
    name = resources.resource_name(STAGE, spec.suffix)
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": spec.partition_key, "KeyType": "HASH"}] + (
        [{"AttributeName": spec.sort_key, "KeyType": "RANGE"}] if spec.sort_key else []
    )
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # The same GSIs as the template: the local lists and the reconciler Query them.
    indexes = {
        index["IndexName"]: (
            [(key["AttributeName"], key["KeyType"]) for key in index["KeySchema"]],
            index["Projection"]["ProjectionType"],
        )
        for index in table.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        index.name: (
            [(index.partition_key, "HASH"), (index.sort_key, "RANGE")],
            "ALL" if index.projected is None else "INCLUDE",
        )
        for index in spec.indexes
    }
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if spec.ttl_attribute:
        assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == spec.ttl_attribute
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_hook_creates_the_queue_and_its_dead_letter_queue(hooked_endpoint: str) -> None:
    sqs = client("sqs", hooked_endpoint)
    spec = resources.APPLICATIONS_QUEUE
    dlq_url = sqs.get_queue_url(QueueName=resources.resource_name(STAGE, spec.dlq_suffix))["QueueUrl"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    url = sqs.get_queue_url(QueueName=resources.resource_name(STAGE, spec.suffix))["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(queue["VisibilityTimeout"]) == spec.visibility_timeout_seconds
    assert int(queue["MessageRetentionPeriod"]) == spec.retention_seconds
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == spec.max_receive_count
    assert int(dlq["MessageRetentionPeriod"]) == spec.dlq_retention_seconds


def test_hook_creates_the_bus_and_delivers_its_events_to_the_local_queue(hooked_endpoint: str) -> None:
    events, sqs = client("events", hooked_endpoint), client("sqs", hooked_endpoint)
    bus = resources.DECISION_EVENTS_BUS
    bus_name = resources.resource_name(STAGE, bus.suffix)
    assert events.describe_event_bus(Name=bus_name)["Name"] == bus_name
    (rule,) = events.list_rules(EventBusName=bus_name)["Rules"]
    assert json.loads(rule["EventPattern"]) == {"source": [bus.source]}
    # What the app publishes arrives in the local queue (where AWS would call the lender's webhook).
    entry = {"Source": bus.source, "DetailType": resources.DECISION_MADE, "Detail": '{"decision_id": "d-1"}'}
    assert events.put_events(Entries=[{**entry, "EventBusName": bus_name}])["FailedEntryCount"] == 0
    url = sqs.get_queue_url(QueueName=resources.resource_name(STAGE, bus.local_queue_suffix))["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    delivered = json.loads(message["Body"])
    assert (delivered["source"], delivered["detail-type"], delivered["detail"]) == (
        bus.source,
        resources.DECISION_MADE,
        {"decision_id": "d-1"},
    )


def test_hook_is_idempotent(hooked_endpoint: str) -> None:
    dynamodb, sqs = client("dynamodb", hooked_endpoint), client("sqs", hooked_endpoint)
    events = client("events", hooked_endpoint)
    bus_name = resources.resource_name(STAGE, resources.DECISION_EVENTS_BUS.suffix)

    def state() -> tuple:
        return (
            sorted(dynamodb.list_tables()["TableNames"]),
            sorted(sqs.list_queues()["QueueUrls"]),
            sorted(rule["Name"] for rule in events.list_rules(EventBusName=bus_name)["Rules"]),
        )

    before = state()
    second = _run_hook(hooked_endpoint)
    assert f"{resources.SERVICE} {STAGE}" in second.stdout
    assert state() == before
    assert len(before[0]) == len(resources.TABLES)
    assert len(before[2]) == 1


def test_the_container_runs_every_service_the_hook_uses() -> None:
    # LocalStack starts only the services in SERVICES: a client the hook needs must be among them.
    import re

    import yaml

    compose = yaml.safe_load((PROJECT_DIR / "localstack" / "docker-compose.yml").read_text())
    services = set(compose["services"]["localstack"]["environment"]["SERVICES"].split(","))
    used = set(re.findall(r'session\.client\("([a-z0-9-]+)"', HOOK.read_text()))
    assert used == {"dynamodb", "sqs", "events"}
    assert used <= services
