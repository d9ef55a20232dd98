"""The batches' AWS implementations on moto in-process: the conditional transitions and set-based
counting of the batch item (DynamoDB), ranged reads and presigned URLs (S3), ten messages per
SendMessageBatch (SQS), and a whole batch run through the real queue."""

from __future__ import annotations

import gzip
import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.dal.batches import BatchRecord, input_key, part_key
from chalicelib.dal.batches_aws import DynamoDBBatchStore, S3BatchObjects, SQSChunkQueue
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.errors import ServiceError
from chalicelib.http import console_config
from chalicelib.service import batches
from chalicelib.service.batches import Batches
from tests.support.batch_files import run_chunk_queue

DATA = Path(__file__).resolve().parents[3] / "data" / "loan_applications.csv"
BATCH = "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00"


@pytest.fixture
def configured(aws: Any) -> Batches:
    assert aws.batches is not None
    return aws.batches  # type: ignore[no-any-return]


def new_record(
    batch_id: str = BATCH, owner: str = "client-a", created_at: str = "2026-12-07T00:00:00.000Z"
) -> BatchRecord:
    return {
        "batch_id": batch_id,
        "owner": owner,
        "status": "PENDING",
        "format": "csv",
        "versions": ["v1", "v2"],
        "counteroffers": False,
        "created_at": created_at,
        "expires_at": 2_000_000_000,
        "chunks_done": [],
        "chunks_failed": [],
        "rows_read": 0,
        "rows_scored": 0,
        "rows_invalid": 0,
        "errors": [],
    }


def test_the_item_round_trips_and_moves_only_along_its_transitions(configured: Batches) -> None:
    store = configured.store
    assert isinstance(store, DynamoDBBatchStore)
    store.create(new_record())
    assert store.get(BATCH) == new_record()
    assert not store.complete(BATCH, "COMPLETED", "t")  # not RUNNING
    assert store.claim_start(BATCH, "2026-12-07T00:00:01.000Z", 1234, ["age", "monthly_income"])
    assert not store.claim_start(BATCH, "2026-12-07T00:00:02.000Z", 1234, None)  # twice
    assert store.set_plan(BATCH, 3, 250)
    assert not store.set_plan(BATCH, 4, 300)  # planned once
    running = store.get(BATCH)
    assert running is not None
    assert (running["status"], running["chunks_total"], running["rows_total"]) == ("RUNNING", 3, 250)
    assert running["columns"] == ["age", "monthly_income"] and running["input_bytes"] == 1234


def test_a_chunk_counts_once_and_a_failed_chunk_names_its_error(configured: Batches) -> None:
    store = configured.store
    store.create(new_record())
    store.claim_start(BATCH, "2026-12-07T00:00:01.000Z", 10, None)
    first = store.record_chunk(BATCH, 0, 100, 98, 2)
    assert first is not None and first["chunks_done"] == [0] and first["rows_read"] == 100
    assert store.record_chunk(BATCH, 0, 100, 98, 2) is None  # redelivered
    failed = store.record_failed_chunk(BATCH, 1, "chunk 1 (rows 101-200) failed")
    assert (
        failed is not None
        and failed["chunks_failed"] == [1]
        and failed["errors"] == ["chunk 1 (rows 101-200) failed"]
    )
    assert store.record_failed_chunk(BATCH, 1, "again") is None
    assert store.record_chunk(BATCH, 1, 100, 100, 0) is None  # failed already: never both
    assert store.record_failed_chunk(BATCH, 0, "late") is None  # done already
    second = store.record_chunk(BATCH, 2, 50, 50, 0)
    assert second is not None
    assert (second["chunks_done"], second["rows_read"], second["rows_scored"], second["rows_invalid"]) == (
        [0, 2],
        150,
        148,
        2,
    )
    assert store.complete(BATCH, "COMPLETED_WITH_ERRORS", "2026-12-07T00:01:00.000Z")
    assert not store.complete(BATCH, "COMPLETED", "2026-12-07T00:01:01.000Z")  # one completer
    assert not store.fail(BATCH, "too late", "t")


def test_lists_are_one_owners_newest_first_across_pages(configured: Batches) -> None:
    store = configured.store
    for number in range(5):
        batch_id = f"0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0{number}"
        store.create(new_record(batch_id, created_at=f"2026-12-07T00:00:0{number}.000Z"))
    store.create(new_record("0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1b00", owner="client-b"))
    page, after = store.owned("client-a", 3, None)
    assert after is not None
    rest, end = store.owned("client-a", 3, after)
    assert end is None
    assert [record["created_at"][-6] for record in page + rest] == ["4", "3", "2", "1", "0"]


def test_objects_read_ranges_and_presign_against_the_bucket(configured: Batches) -> None:
    objects = configured.objects
    assert isinstance(objects, S3BatchObjects)
    key = input_key(BATCH)
    assert objects.size(key) is None and objects.get(key) is None
    objects.put(key, b"0123456789" * 300_000, "text/csv")
    assert objects.size(key) == 3_000_000
    assert objects.read(key, 5, 12) == b"5678901"
    assert objects.read(key, 7, 7) == b""
    assert b"".join(objects.stream(key)) == b"0123456789" * 300_000
    for url in (objects.upload_url(key, 60), objects.download_url(key, 60)):
        parsed = urllib.parse.urlsplit(url)
        assert parsed.path.endswith(f"/{key}")
        assert "Signature" in parsed.query  # SigV2 Signature= or SigV4 X-Amz-Signature=
        assert resources.resource_name("local", resources.BATCHES_BUCKET.suffix) in url


def test_the_queue_sends_ten_messages_per_call(configured: Batches, aws: Any) -> None:
    queue = configured.queue
    assert isinstance(queue, SQSChunkQueue)
    queue.send_all([{"kind": "chunk", "index": index} for index in range(23)])
    sqs = aws.aws_clients["sqs"]
    url = sqs.get_queue_url(QueueName=configured.settings.queue_name)["QueueUrl"]
    received: list[int] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(message["Body"])["index"] for message in messages]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
    assert sorted(received) == list(range(23))
    assert queue.check()[0].ok and configured.store.check()[0].ok


def test_a_batch_runs_through_the_real_queue_to_completed(configured: Batches, aws: Any) -> None:
    configured.settings.rows_per_chunk = 60
    with DATA.open("rb") as handle:
        body = b"".join(next(handle) for _ in range(201))
    created = batches.create(configured, "client-a", {"format": "csv", "versions": [PACKAGED_VERSION_ID]})
    batch_id = created["batch_id"]
    configured.objects.put(input_key(batch_id), body, "text/csv")
    batches.start(configured, "client-a", batch_id)
    run_chunk_queue(configured, aws.aws_clients["sqs"])
    view = batches.get(configured, "client-a", batch_id)
    assert view["status"] == "COMPLETED"
    assert view["chunks"] == {"done": 4, "failed": 0, "total": 4}
    assert view["rows"]["read"] == 200 and view["summary"]["rows"]["read"] == 200
    part = configured.objects.get(part_key(batch_id, 3))
    assert part is not None
    assert [json.loads(line)["row"] for line in gzip.decompress(part).splitlines()] == list(range(181, 201))


def test_a_range_past_the_end_reads_nothing_instead_of_an_outage(configured: Batches) -> None:
    """S3 answers 416 InvalidRange to any range of an empty object (and to one starting past the
    end): that is no bytes, as in the in-memory twin, not "s3 is unavailable"."""
    objects = configured.objects
    empty, short = input_key(BATCH), f"batches/{BATCH}/short"
    objects.put(empty, b"", "text/csv")
    objects.put(short, b"abc", "text/csv")
    assert objects.size(empty) == 0
    assert objects.read(empty, 0, resources.BATCH_HEAD_BYTES) == b""
    assert objects.read(empty) == b""
    assert objects.read(short, 0, 10) == b"abc"
    assert objects.read(short, 5, 10) == b""


def test_an_empty_upload_is_a_422_and_the_batch_failed(configured: Batches) -> None:
    created = batches.create(configured, "client-a", {"format": "csv"})
    batch_id = created["batch_id"]
    configured.objects.put(input_key(batch_id), b"", "text/csv")
    with pytest.raises(ServiceError) as error:
        batches.start(configured, "client-a", batch_id)
    assert (error.value.status, error.value.code) == (422, "bad_file")
    assert "the file is empty" in error.value.message
    view = batches.get(configured, "client-a", batch_id)
    assert view["status"] == "FAILED" and view["error"] == error.value.message
    with pytest.raises(ServiceError) as again:  # a retry is not an outage either
        batches.start(configured, "client-a", batch_id)
    assert (again.value.status, again.value.code) == (409, "already_started")


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_in_aws_the_upload_url_is_sigv4_on_the_origin_the_consoles_csp_allows(
    monkeypatch: pytest.MonkeyPatch, region: str
) -> None:
    """The browser PUTs to this URL under the console's CSP (connect-src names
    ``console_config.s3_bucket_origin``): the regional virtual-hosted host, signed with SigV4 (S3
    refuses SigV2 on new buckets; botocore's default presigns SigV2 on the global host)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = f"{resources.resource_name('prod', resources.BATCHES_BUCKET.suffix)}-123456789012"
    url = S3BatchObjects(bucket, region).upload_url(input_key(BATCH), 60)
    assert console_config.origin_of(url) == console_config.s3_bucket_origin(bucket, region)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    # Only the host is signed: the browser's Content-Type header does not break the signature.
    assert query["X-Amz-SignedHeaders"] == ["host"]
