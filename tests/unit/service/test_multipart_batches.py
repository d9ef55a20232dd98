"""Multipart upload of a large batch file (issue 19) on the in-memory twin: the answer for a declared
size over the threshold, the part size's bounds, the start's checks of the parts (each offending
field named), a file over the limit refused before S3 joins it (the upload aborted), and a small
file's single PUT unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.dal.batches import input_key
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.errors import ServiceError
from chalicelib.service import batches
from chalicelib.service.batches import Batches, BatchSettings
from devstack.in_memory import InMemoryDependencies
from devstack.in_memory_batches import in_memory_batches
from tests.support.batch_files import padded_csv
from tests.support.batch_twin import objects

CLIENT = "client-a"
MIB = 1024**2
THRESHOLD = 8 * MIB


@pytest.fixture
def twin(memory: InMemoryDependencies) -> Iterator[Batches]:
    settings = BatchSettings(
        "local",
        "chunks",
        "chunks-dlq",
        rows_per_chunk=4000,
        max_bytes=40 * MIB,
        multipart_above_bytes=THRESHOLD,
        part_bytes=5 * MIB,
    )
    configured = in_memory_batches(memory.versions, settings)
    memory.batches = configured
    yield configured


def error_of(call: Any) -> ServiceError:
    with pytest.raises(ServiceError) as raised:
        call()
    return raised.value


def test_a_declared_size_over_the_threshold_answers_one_url_per_part(twin: Batches) -> None:
    size = 2 * 5 * MIB + 123
    created = batches.create(twin, CLIENT, {"format": "csv", "size_bytes": size})
    assert "upload_url" not in created
    upload = created["upload"]
    assert upload["part_size"] == 5 * MIB
    assert [part["part_number"] for part in upload["parts"]] == [1, 2, 3]
    assert all(f"partNumber={part['part_number']}" in part["url"] for part in upload["parts"])
    assert upload["upload_id"] in objects(twin).uploads
    stored = twin.store.get(created["batch_id"])
    assert stored is not None and stored["upload_parts"] == 3 and stored["upload_part_bytes"] == 5 * MIB


def test_a_small_or_undeclared_file_keeps_the_single_put(twin: Batches) -> None:
    for payload in ({"format": "csv"}, {"format": "csv", "size_bytes": THRESHOLD}):
        created = batches.create(twin, CLIENT, payload)
        assert "upload" not in created
        assert input_key(created["batch_id"]) in created["upload_url"]
    assert objects(twin).uploads == {}


@pytest.mark.parametrize(
    ("size", "preferred", "expected"),
    [
        (11 * MIB, 5 * MIB, 5 * MIB),
        (11 * MIB, 1 * MIB, resources.S3_MIN_PART_BYTES),  # never under S3's least part
        (2 * 1024**3, 5 * MIB, 21 * MIB),  # at most BATCH_MAX_PARTS parts: 2 GiB / 100, in whole MiB
        (5 * 1024**4, 64 * MIB, 52_429 * MIB),
    ],
)
def test_the_part_size_keeps_parts_within_s3s_and_the_bodys_bounds(
    size: int, preferred: int, expected: int
) -> None:
    chosen = batches.part_size(size, preferred)
    assert chosen == expected
    parts = -(-size // chosen)
    assert parts <= resources.BATCH_MAX_PARTS <= resources.S3_MAX_PARTS
    assert chosen >= resources.S3_MIN_PART_BYTES


def test_a_declared_size_over_the_limit_or_not_a_size_is_refused_naming_it(twin: Batches) -> None:
    over = error_of(lambda: batches.create(twin, CLIENT, {"format": "csv", "size_bytes": 40 * MIB + 1}))
    assert (over.status, over.details[0]["field"]) == (413, "size_bytes")
    assert str(40 * MIB) in over.details[0]["problem"]
    for bad in (0, -1, "12", 1.5, True):
        refused = error_of(lambda bad=bad: batches.create(twin, CLIENT, {"format": "csv", "size_bytes": bad}))
        assert (refused.status, [detail["field"] for detail in refused.details]) == (400, ["size_bytes"])


def uploaded(twin: Batches, body: bytes) -> tuple[str, list[dict[str, Any]]]:
    created = batches.create(
        twin, CLIENT, {"format": "csv", "versions": [PACKAGED_VERSION_ID], "size_bytes": len(body)}
    )
    upload = created["upload"]
    size = upload["part_size"]
    etags = [
        {
            "part_number": part["part_number"],
            "etag": objects(twin).upload_part(
                upload["upload_id"],
                part["part_number"],
                body[(part["part_number"] - 1) * size : part["part_number"] * size],
            ),
        }
        for part in upload["parts"]
    ]
    return created["batch_id"], etags


def test_the_start_names_each_wrong_or_missing_part_and_then_completes(twin: Batches) -> None:
    body, _ = padded_csv(2 * 5 * MIB + 1000)
    batch_id, parts = uploaded(twin, body)
    assert len(parts) == 3
    cases: list[tuple[Any, list[str]]] = [
        (None, ["parts"]),
        ({}, ["parts"]),
        ({"parts": parts[:2]}, ["parts"]),  # part 3 missing
        ({"parts": [*parts, parts[0]]}, ["parts"]),  # part 1 twice
        ({"parts": [parts[0], {**parts[1], "etag": '"0123"'}, parts[2]]}, ["parts[1].etag"]),
        ({"parts": [parts[0], parts[1], {"part_number": 4, "etag": "x"}]}, ["parts[2].part_number"]),
        (
            {"parts": [parts[0], "x", {"part_number": True}]},
            ["parts[1]", "parts[2].part_number", "parts[2].etag"],
        ),
        ({"parts": parts, "extra": 1}, ["extra"]),
        ([], ["(body)"]),
    ]
    for payload, fields in cases:
        refused = error_of(lambda payload=payload: batches.start(twin, CLIENT, batch_id, payload))
        assert refused.status == 400, payload
        assert [detail["field"] for detail in refused.details] == fields, payload
        assert twin.store.get(batch_id)["status"] == "PENDING"  # type: ignore[index]
    unquoted = [
        {**part, "etag": part["etag"].strip('"')} for part in reversed(parts)
    ]  # any order, any quoting
    answer = batches.start(twin, CLIENT, batch_id, {"parts": unquoted})
    assert answer["status"] == "RUNNING"
    assert objects(twin).get(input_key(batch_id)) == body
    assert objects(twin).uploads == {}


def test_a_part_not_uploaded_is_named_and_nothing_uploaded_is_a_409(twin: Batches) -> None:
    created = batches.create(twin, CLIENT, {"format": "csv", "size_bytes": 11 * MIB})
    batch_id, upload = created["batch_id"], created["upload"]
    claimed = [{"part_number": number, "etag": '"abc"'} for number in (1, 2, 3)]
    none = error_of(lambda: batches.start(twin, CLIENT, batch_id, {"parts": claimed}))
    assert (none.status, none.code) == (409, "no_upload")
    etag = objects(twin).upload_part(upload["upload_id"], 1, b"x" * 5 * MIB)
    missing = error_of(
        lambda: batches.start(
            twin, CLIENT, batch_id, {"parts": [{"part_number": 1, "etag": etag}, *claimed[1:]]}
        )
    )
    assert missing.status == 400
    assert [detail["field"] for detail in missing.details] == ["parts[1].part_number", "parts[2].part_number"]
    assert "part 2 was not uploaded" in missing.details[0]["problem"]


def test_a_file_over_the_limit_fails_the_batch_and_aborts_its_upload(twin: Batches) -> None:
    twin.settings.max_bytes = 12 * MIB  # the parts hold more than was declared
    created = batches.create(twin, CLIENT, {"format": "csv", "size_bytes": 11 * MIB})
    upload = created["upload"]
    parts = [
        {
            "part_number": number,
            "etag": objects(twin).upload_part(upload["upload_id"], number, b"y" * 5 * MIB),
        }
        for number in (1, 2, 3)
    ]
    over = error_of(lambda: batches.start(twin, CLIENT, created["batch_id"], {"parts": parts}))
    assert (over.status, over.code) == (413, "file_too_large")
    failed = batches.get(twin, CLIENT, created["batch_id"])
    assert failed["status"] == "FAILED" and str(12 * MIB) in failed["error"]
    assert objects(twin).aborted == [upload["upload_id"]] and objects(twin).uploads == {}
    assert objects(twin).get(input_key(created["batch_id"])) is None


def test_a_part_under_s3s_least_size_is_a_400_naming_parts(twin: Batches) -> None:
    created = batches.create(twin, CLIENT, {"format": "csv", "size_bytes": 11 * MIB})
    upload = created["upload"]
    parts = [
        {"part_number": number, "etag": objects(twin).upload_part(upload["upload_id"], number, b"z" * MIB)}
        for number in (1, 2, 3)
    ]
    small = error_of(lambda: batches.start(twin, CLIENT, created["batch_id"], {"parts": parts}))
    assert (small.status, small.code, small.details[0]["field"]) == (400, "upload_incomplete", "parts")
    assert str(resources.S3_MIN_PART_BYTES) in small.details[0]["problem"]


def test_a_single_put_batch_ignores_no_body_and_runs_as_before(twin: Batches) -> None:
    created = batches.create(twin, CLIENT, {"format": "csv"})
    objects(twin).put(input_key(created["batch_id"]), padded_csv(1)[0], "text/csv")
    assert batches.start(twin, CLIENT, created["batch_id"])["status"] == "RUNNING"
