"""Multipart upload of a batch file on moto in-process (S3's CreateMultipartUpload, presigned
UploadPart URLs, ListParts, CompleteMultipartUpload): a real round trip of 2 x 5 MiB parts and the
last, PUT over HTTP to the presigned URLs, started and scored through the real queue with every row
counted; a wrong ETag named; a batch failed over the limit leaves no upload behind."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
import requests

from chalicelib import resources
from chalicelib.dal.batches import input_key
from chalicelib.dal.batches_aws import S3BatchObjects
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.errors import ServiceError
from chalicelib.service import batches
from chalicelib.service.batches import Batches
from tests.support.batch_files import padded_csv, run_chunk_queue

MIB = 1024**2
CLIENT = "client-a"


@pytest.fixture
def configured(aws: Any) -> Batches:
    assert aws.batches is not None
    settings = aws.batches.settings
    settings.multipart_above_bytes, settings.part_bytes = 8 * MIB, 5 * MIB
    settings.max_bytes, settings.rows_per_chunk = 64 * MIB, 4000
    return aws.batches  # type: ignore[no-any-return]


def put_parts(upload: dict[str, Any], body: bytes) -> list[dict[str, Any]]:
    """What a client does: PUT each slice to its presigned URL, keep each answer's ETag."""
    size, parts = upload["part_size"], []
    for part in upload["parts"]:
        number = part["part_number"]
        answer = requests.put(part["url"], data=body[(number - 1) * size : number * size], timeout=60)
        assert answer.status_code == 200, answer.text
        parts.append({"part_number": number, "etag": answer.headers["ETag"]})
    return parts


def run_queue(configured: Batches, aws: Any) -> None:
    run_chunk_queue(configured, aws.aws_clients["sqs"])


def bucket_uploads(configured: Batches, aws: Any) -> list[dict[str, Any]]:
    objects = configured.objects
    assert isinstance(objects, S3BatchObjects)
    s3 = boto3.client("s3", region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    listed = s3.list_multipart_uploads(Bucket=objects._bucket)
    return list(listed.get("Uploads", []))


def test_a_file_of_three_parts_round_trips_and_every_row_is_counted(configured: Batches, aws: Any) -> None:
    body, rows = padded_csv(2 * 5 * MIB + 600_000)
    payload = {"format": "csv", "versions": [PACKAGED_VERSION_ID], "size_bytes": len(body)}
    created = batches.create(configured, CLIENT, payload)
    assert "upload_url" not in created
    upload = dict(created["upload"])
    assert upload["part_size"] == 5 * MIB and len(upload["parts"]) == 3
    parts = put_parts(upload, body)
    wrong = [parts[0], {**parts[1], "etag": parts[2]["etag"]}, parts[2]]
    with pytest.raises(ServiceError) as refused:
        batches.start(configured, CLIENT, created["batch_id"], {"parts": wrong})
    assert refused.value.status == 400 and refused.value.details[0]["field"] == "parts[1].etag"
    assert batches.start(configured, CLIENT, created["batch_id"], {"parts": parts})["status"] == "RUNNING"
    assert configured.objects.get(input_key(created["batch_id"])) == body
    assert bucket_uploads(configured, aws) == []
    run_queue(configured, aws)
    view = batches.get(configured, CLIENT, created["batch_id"])
    assert view["status"] == "COMPLETED", view
    assert view["rows"]["read"] == view["rows"]["total"] == rows
    assert view["rows"]["scored"] == rows and view["summary"]["rows"]["read"] == rows


def test_a_multipart_batch_over_the_limit_fails_and_its_upload_is_aborted(
    configured: Batches, aws: Any
) -> None:
    configured.settings.max_bytes = 12 * MIB
    created = batches.create(configured, CLIENT, {"format": "csv", "size_bytes": 11 * MIB})
    parts = put_parts(dict(created["upload"]), b"y" * 13 * MIB)  # more than was declared
    assert len(bucket_uploads(configured, aws)) == 1
    with pytest.raises(ServiceError) as over:
        batches.start(configured, CLIENT, created["batch_id"], {"parts": parts})
    assert over.value.status == 413
    assert batches.get(configured, CLIENT, created["batch_id"])["status"] == "FAILED"
    assert bucket_uploads(configured, aws) == []
    assert configured.objects.size(input_key(created["batch_id"])) is None


def test_the_bucket_aborts_an_unfinished_upload_after_a_day() -> None:
    from infra import data_stores

    rule = data_stores.lifecycle_rule(resources.BATCH_RESULT_RETENTION_DAYS)
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
