"""A finished batch's view lists its result parts a page at a time (resources.
BATCH_RESULT_PARTS_PER_VIEW presigned URLs from ``parts_from``), skipping failed chunks' parts; a
bad ``parts_from`` is a 400 naming it. On the in-memory twin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib import resources
from chalicelib.dal.batches import input_key, part_key
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.errors import ServiceError
from chalicelib.service import batches
from chalicelib.service.batches import Batches, BatchSettings
from devstack.in_memory import InMemoryDependencies
from devstack.in_memory_batches import InMemoryChunkQueue, in_memory_batches

DATA = Path(__file__).resolve().parents[3] / "data" / "loan_applications.csv"
CLIENT = "client-a"
CHUNKS = resources.BATCH_RESULT_PARTS_PER_VIEW + 31


@pytest.fixture
def twin(memory: InMemoryDependencies) -> Iterator[Batches]:
    configured = in_memory_batches(
        memory.versions, BatchSettings("local", "chunks", "chunks-dlq", rows_per_chunk=2)
    )
    memory.batches = configured
    yield configured


def test_the_result_parts_come_a_page_at_a_time_without_the_failed_ones(twin: Batches) -> None:
    with DATA.open("rb") as handle:
        body = b"".join(next(handle) for _ in range(2 * CHUNKS + 1))
    created = batches.create(twin, CLIENT, {"format": "csv", "versions": [PACKAGED_VERSION_ID]})
    batch_id = created["batch_id"]
    twin.objects.put(input_key(batch_id), body, "text/csv")
    batches.start(twin, CLIENT, batch_id)
    assert isinstance(twin.queue, InMemoryChunkQueue)
    while messages := twin.queue.take():
        for message in messages:
            if message.get("index") == 7:  # this chunk kept failing: the DLQ settles it
                batches.settle_dead_letter(twin, message)
                continue
            event = {"Records": [{"messageId": "m", "body": json.dumps(message)}]}
            assert batches.handle_batch(twin, event) == {"batchItemFailures": []}
    first = batches.get(twin, CLIENT, batch_id)
    assert first["status"] == "COMPLETED_WITH_ERRORS"
    results = first["results"]
    written = [index for index in range(CHUNKS) if index != 7]
    assert results["parts_total"] == len(written) == CHUNKS - 1
    assert (results["parts_from"], results["next_parts_from"]) == (0, resources.BATCH_RESULT_PARTS_PER_VIEW)
    assert len(results["parts"]) == resources.BATCH_RESULT_PARTS_PER_VIEW
    rest = batches.get(twin, CLIENT, batch_id, str(results["next_parts_from"]))["results"]
    assert rest["next_parts_from"] is None
    urls = results["parts"] + rest["parts"]
    assert urls == [
        twin.objects.download_url(part_key(batch_id, index), resources.BATCH_RESULT_URL_SECONDS)
        for index in written
    ]
    past = batches.get(twin, CLIENT, batch_id, str(CHUNKS + 5))["results"]
    assert (past["parts"], past["next_parts_from"], past["parts_total"]) == ([], None, CHUNKS - 1)
    for bad in ("-1", "1.5", "x", "٣", str(resources.BATCH_RESULT_PARTS_FROM_MAX + 1)):
        with pytest.raises(ServiceError) as refused:
            batches.get(twin, CLIENT, batch_id, bad)
        assert (refused.value.status, refused.value.details[0]["field"]) == (400, "parts_from")
