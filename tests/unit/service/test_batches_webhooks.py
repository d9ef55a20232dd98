"""``batch.completed`` to the lender's webhooks (issue 19 with issue 22): a client's completed batch is
one delivery per subscribed endpoint and batch (keyed by the batch id, so two batches are two
deliveries), with ids and counts only; a staff backtest goes to no client's webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import resources
from chalicelib.dal.batches import input_key
from chalicelib.service import batches, webhooks
from chalicelib.service.batches import Batches, BatchSettings
from devstack.in_memory import InMemoryDependencies
from devstack.in_memory_batches import InMemoryBatchObjects, InMemoryChunkQueue, in_memory_batches
from devstack.in_memory_webhooks import InMemoryDeliveryQueue, InMemoryWebhookStore, in_memory_webhooks

CLIENT = "client-a"
DATA = Path(__file__).resolve().parents[3] / "data" / "loan_applications.csv"


@pytest.fixture
def twin(memory: InMemoryDependencies) -> Iterator[Batches]:
    configured = in_memory_batches(memory.versions, BatchSettings("local", "chunks", "chunks-dlq"))
    configured.webhooks = memory.webhooks = in_memory_webhooks()
    memory.batches = configured
    yield configured


def run(twin: Batches, owner: str, body: bytes) -> str:
    batch_id = batches.create(twin, owner, {"format": "csv"})["batch_id"]
    assert isinstance(twin.objects, InMemoryBatchObjects) and isinstance(twin.queue, InMemoryChunkQueue)
    twin.objects.put(input_key(batch_id), body, "text/csv")
    batches.start(twin, owner, batch_id)
    while messages := twin.queue.take():
        for message in messages:
            event = {"Records": [{"messageId": "m", "body": json.dumps(message)}]}
            assert batches.handle_batch(twin, event) == {"batchItemFailures": []}
    assert batches.get(twin, owner, batch_id)["status"] == "COMPLETED"
    return batch_id


def test_each_completed_batch_is_its_own_delivery_with_ids_and_counts_only(twin: Batches) -> None:
    hooks = twin.webhooks
    assert hooks is not None
    endpoint = webhooks.create_endpoint(
        hooks, CLIENT, {"url": "http://127.0.0.1:9/hook", "events": [resources.BATCH_COMPLETED]}
    )
    with DATA.open("rb") as data:
        rows = b"".join(next(data) for _ in range(4))  # the header and three applications
    first, second = run(twin, CLIENT, rows), run(twin, CLIENT, rows)
    run(twin, resources.STAFF_BATCH_OWNER, rows)  # a backtest: no client's webhook
    assert isinstance(hooks.queue, InMemoryDeliveryQueue) and isinstance(hooks.store, InMemoryWebhookStore)
    events = [message for message in hooks.queue.due() if message["kind"] == "event"]
    assert [message["client_id"] for message in events] == [CLIENT, CLIENT]
    for message in events:
        webhooks.handle_message(hooks, message)
    deliveries = list(hooks.store.deliveries.values())
    assert {stored["delivery"]["event_id"] for stored in deliveries} == {first, second}
    assert {stored["delivery"]["event_type"] for stored in deliveries} == {resources.BATCH_COMPLETED}
    assert {stored["delivery"]["webhook_id"] for stored in deliveries} == {endpoint["webhook_id"]}
    payload = json.loads(deliveries[0]["payload"])
    assert payload["type"] == resources.BATCH_COMPLETED
    assert set(payload["data"]) == {
        "batch_id",
        "status",
        "versions",
        "chunks_total",
        "chunks_failed",
        "rows_read",
        "rows_scored",
        "rows_invalid",
        "completed_at",
    }
    assert payload["data"]["rows_read"] == 3
    assert "Rahul" not in deliveries[0]["payload"]  # the file's first applicant: no personal data
