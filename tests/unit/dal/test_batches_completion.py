"""Completion at scale on moto in-process: the completer reads every chunk's aggregates with a
bounded thread pool on the one S3 client, in chunk order, so the summary is the same bytes as read
one by one; a missing aggregates document is still an outage (retried), never a partial summary."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.dal.batches import aggregates_key, input_key, summary_key
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.engine import batch as engine_batch
from chalicelib.service import batches
from chalicelib.service.batches import Batches
from tests.support.batch_files import run_chunk_queue

DATA = Path(__file__).resolve().parents[3] / "data" / "loan_applications.csv"
CHUNKS = 25


@pytest.fixture
def completed(aws: Any) -> tuple[Batches, str, list[int]]:
    """A batch of 500 rows in 25 chunks run through the real queue to COMPLETED."""
    configured: Batches = aws.batches
    configured.settings.rows_per_chunk = 20
    with DATA.open("rb") as handle:
        body = b"".join(next(handle) for _ in range(20 * CHUNKS + 1))
    created = batches.create(configured, "client-a", {"format": "csv", "versions": [PACKAGED_VERSION_ID]})
    batch_id = created["batch_id"]
    configured.objects.put(input_key(batch_id), body, "text/csv")
    batches.start(configured, "client-a", batch_id)
    run_chunk_queue(configured, aws.aws_clients["sqs"], per_receive=10)
    record = configured.store.get(batch_id)
    assert record is not None and record["status"] == "COMPLETED"
    assert record["chunks_done"] == list(range(CHUNKS))
    return configured, batch_id, record["chunks_done"]


def test_concurrent_reads_give_the_same_summary_as_one_by_one(
    completed: tuple[Batches, str, list[int]],
) -> None:
    configured, batch_id, indexes = completed
    one_by_one = batches.read_aggregates(configured.objects, batch_id, indexes, readers=1)
    concurrent = batches.read_aggregates(configured.objects, batch_id, indexes, readers=16)
    assert concurrent == one_by_one and len(concurrent) == CHUNKS
    # In chunk order: each part's first row is the chunk's (rows 1, 21, 41, ...).
    assert one_by_one != list(reversed(one_by_one))
    summary = engine_batch.summarise(engine_batch.merge_aggregates(concurrent), [PACKAGED_VERSION_ID])
    stored = configured.objects.get(summary_key(batch_id))
    assert stored is not None
    assert json.dumps(summary, separators=(",", ":"), sort_keys=True).encode() == stored
    assert summary["rows"]["read"] == 20 * CHUNKS


def test_a_missing_aggregates_document_is_an_outage_not_a_partial_summary(
    completed: tuple[Batches, str, list[int]], aws: Any
) -> None:
    configured, batch_id, indexes = completed
    bucket = resources.resource_name(configured.settings.stage, resources.BATCHES_BUCKET.suffix)
    s3 = boto3.client("s3", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    s3.delete_object(Bucket=bucket, Key=aggregates_key(batch_id, 17))
    with pytest.raises(DependencyUnavailable, match="chunk 17"):
        batches.read_aggregates(configured.objects, batch_id, indexes, readers=16)
