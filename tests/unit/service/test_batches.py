"""Batches (issue 19) on the in-memory twin: create, start, the scorer's plan and chunks, completion,
the summary and ``batch.completed``, redelivery, the dead-letter queue, and every bad input."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.dal.batches import input_key, part_key, summary_key
from chalicelib.dal.versions import PACKAGED_VERSION_ID
from chalicelib.errors import ServiceError
from chalicelib.service import batches
from chalicelib.service.batches import Batches, BatchSettings
from devstack.batch_poller import with_part_faults
from devstack.in_memory import InMemoryDependencies
from devstack.in_memory_batches import (
    InMemoryBatchEvents,
    in_memory_batches,
)
from tests.support.batch_twin import objects, queue

DATA = Path(__file__).resolve().parents[3] / "data" / "loan_applications.csv"
CLIENT, OTHER = "client-a", "client-b"
ROWS_PER_CHUNK = 40


def csv_rows(count: int) -> bytes:
    with DATA.open("rb") as handle:
        lines = [next(handle) for _ in range(count + 1)]
    return b"".join(lines)


@pytest.fixture
def twin(memory: InMemoryDependencies) -> Iterator[Batches]:
    settings = BatchSettings(
        "local", "chunks", "chunks-dlq", rows_per_chunk=ROWS_PER_CHUNK, max_bytes=200_000
    )
    configured = in_memory_batches(memory.versions, settings)
    memory.batches = configured
    yield configured


def events(twin: Batches) -> InMemoryBatchEvents:
    assert isinstance(twin.events, InMemoryBatchEvents)
    return twin.events


def sqs_event(messages: list[dict[str, object]]) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{number}", "body": json.dumps(message)}
            for number, message in enumerate(messages)
        ]
    }


def run_queue(twin: Batches) -> list[dict[str, object]]:
    """Deliver every queued message (and those it queues) once; the messages that failed."""
    failed: list[dict[str, object]] = []
    while messages := queue(twin).take():
        for message in messages:
            answer = batches.handle_batch(twin, sqs_event([message]))
            if answer["batchItemFailures"]:
                failed.append(message)
    return failed


def started(twin: Batches, body: bytes, versions: list[str] | None = None, owner: str = CLIENT) -> str:
    payload: dict[str, Any] = {"format": "csv"}
    if versions is not None:
        payload["versions"] = versions
    created = batches.create(twin, owner, payload)
    objects(twin).put(input_key(created["batch_id"]), body, "text/csv")
    answer = batches.start(twin, owner, created["batch_id"])
    assert answer == {"batch_id": created["batch_id"], "status": "RUNNING", "chunks_total": None}
    return created["batch_id"]


def result_rows(twin: Batches, batch_id: str, chunks: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for index in range(chunks):
        body = objects(twin).get(part_key(batch_id, index))
        assert body is not None
        rows += [json.loads(line) for line in gzip.decompress(body).splitlines()]
    return rows


def test_create_answers_a_presigned_put_and_the_champion_by_default(twin: Batches) -> None:
    created = batches.create(twin, CLIENT, {"format": "csv"})
    assert created["status"] == "PENDING"
    assert created["versions"] == [PACKAGED_VERSION_ID]
    assert created["upload_method"] == "PUT"
    assert input_key(created["batch_id"]) in created["upload_url"]
    assert created["max_bytes"] == 200_000
    view = batches.get(twin, CLIENT, created["batch_id"])
    assert view["status"] == "PENDING"
    assert view["chunks"] == {"done": 0, "failed": 0, "total": None}


def test_a_batch_runs_to_completed_with_totals_equal_to_the_input(twin: Batches) -> None:
    batch_id = started(twin, csv_rows(150), [PACKAGED_VERSION_ID])
    assert run_queue(twin) == []
    view = batches.get(twin, CLIENT, batch_id)
    assert view["status"] == "COMPLETED"
    assert view["chunks"] == {"done": 4, "failed": 0, "total": 4}  # 40 + 40 + 40 + 30 rows
    assert view["rows"]["read"] == 150
    assert view["rows"]["scored"] + view["rows"]["invalid"] == 150
    assert view["rows"]["total"] == 150
    summary = view["summary"]
    assert summary["rows"]["read"] == 150
    assert summary == json.loads(objects(twin).objects[summary_key(batch_id)])
    assert len(view["results"]["parts"]) == 4
    rows = result_rows(twin, batch_id, 4)
    assert [row["row"] for row in rows] == list(range(1, 151))
    assert all(PACKAGED_VERSION_ID in row["versions"] for row in rows if row["valid"])
    (published,) = events(twin).published
    assert published[0] == resources.BATCH_COMPLETED
    assert published[1]["batch_id"] == batch_id and published[1]["rows_read"] == 150
    assert published[1]["status"] == "COMPLETED"
    # No personal data in the event: ids and counts only.
    assert "Rahul" not in json.dumps(published[1])


def test_a_redelivered_chunk_is_scored_again_but_never_counted_twice(twin: Batches) -> None:
    batch_id = started(twin, csv_rows(100))
    (plan,) = queue(twin).take()
    batches.handle_batch(twin, sqs_event([plan]))
    chunks = queue(twin).take()
    assert len(chunks) == 3
    # The first chunk twice (SQS delivers at least once), the last one never yet.
    for message in [chunks[0], chunks[0], chunks[1]]:
        assert batches.handle_batch(twin, sqs_event([message])) == {"batchItemFailures": []}
    view = batches.get(twin, CLIENT, batch_id)
    assert view["status"] == "RUNNING"
    assert view["chunks"] == {"done": 2, "failed": 0, "total": 3}
    assert view["rows"]["read"] == 80
    assert view["eta_seconds"] is not None
    batches.handle_batch(twin, sqs_event([chunks[2]]))
    done = batches.get(twin, CLIENT, batch_id)
    assert done["status"] == "COMPLETED" and done["rows"]["read"] == 100
    assert len(events(twin).published) == 1


def test_a_handler_that_dies_after_writing_its_part_is_retried_and_counted_once(twin: Batches) -> None:
    crashed: list[int] = []

    def crash_once(batch_id: str, index: int) -> None:
        if index == 1 and not crashed:
            crashed.append(index)
            raise RuntimeError("killed mid-chunk")

    twin.objects = with_part_faults(twin.objects, crash_once)
    batch_id = started(twin, csv_rows(120))
    (plan,) = queue(twin).take()
    batches.handle_batch(twin, sqs_event([plan]))
    chunks = queue(twin).take()
    answers = [batches.handle_batch(twin, sqs_event([message])) for message in chunks]
    assert answers[1] == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert batches.get(twin, CLIENT, batch_id)["status"] == "RUNNING"
    batches.handle_batch(twin, sqs_event([chunks[1]]))  # the redelivery
    view = batches.get(twin, CLIENT, batch_id)
    assert view["status"] == "COMPLETED"
    assert view["rows"]["read"] == 120
    assert [row["row"] for row in result_rows(twin, batch_id, 3)] == list(range(1, 121))


def test_a_chunk_in_the_dead_letter_queue_completes_the_batch_with_errors_naming_its_rows(
    twin: Batches,
) -> None:
    batch_id = started(twin, csv_rows(100))
    (plan,) = queue(twin).take()
    batches.handle_batch(twin, sqs_event([plan]))
    first, second, third = queue(twin).take()
    batches.handle_batch(twin, sqs_event([first]))
    batches.handle_batch(twin, sqs_event([third]))
    assert batches.handle_dead_letters(twin, sqs_event([second])) == {"batchItemFailures": []}
    view = batches.get(twin, CLIENT, batch_id)
    assert view["status"] == "COMPLETED_WITH_ERRORS"
    assert view["chunks"] == {"done": 2, "failed": 1, "total": 3}
    assert view["rows"]["read"] == 60
    (error,) = view["errors"]
    assert "rows 41-80" in error
    assert len(view["results"]["parts"]) == 2
    assert events(twin).published[0][1]["status"] == "COMPLETED_WITH_ERRORS"
    # The DLQ message delivered again changes nothing.
    batches.handle_dead_letters(twin, sqs_event([second]))
    assert batches.get(twin, CLIENT, batch_id)["errors"] == [error]


def test_an_unknown_version_is_a_400_naming_it(twin: Batches) -> None:
    with pytest.raises(ServiceError) as error:
        batches.create(twin, CLIENT, {"format": "csv", "versions": [PACKAGED_VERSION_ID, "v404"]})
    assert error.value.status == 400
    assert error.value.details == [{"field": "versions", "problem": "unknown decision version(s): v404"}]


def test_a_bad_body_names_every_field(twin: Batches) -> None:
    with pytest.raises(ServiceError) as error:
        batches.create(twin, CLIENT, {"format": "xlsx", "versions": [], "counteroffers": "yes", "extra": 1})
    assert error.value.status == 400
    assert [detail["field"] for detail in error.value.details] == [
        "extra",
        "format",
        "counteroffers",
        "versions",
    ]


def test_another_owners_batch_is_the_same_404_as_none(twin: Batches) -> None:
    batch_id = batches.create(twin, CLIENT, {"format": "csv"})["batch_id"]
    for owner, wanted in ((OTHER, batch_id), (CLIENT, "6b0f3c8e-0000-4000-8000-000000000000"), (CLIENT, "x")):
        for call in (batches.get, batches.start):
            with pytest.raises(ServiceError) as error:
                call(twin, owner, wanted)
            assert error.value.status == 404
    staff = batches.create(twin, resources.STAFF_BATCH_OWNER, {"format": "csv"})["batch_id"]
    with pytest.raises(ServiceError):
        batches.get(twin, CLIENT, staff)


def test_starting_without_an_upload_or_twice_is_a_409(twin: Batches) -> None:
    batch_id = batches.create(twin, CLIENT, {"format": "csv"})["batch_id"]
    with pytest.raises(ServiceError) as error:
        batches.start(twin, CLIENT, batch_id)
    assert (error.value.status, error.value.code) == (409, "no_upload")
    assert batches.get(twin, CLIENT, batch_id)["status"] == "PENDING"
    objects(twin).put(input_key(batch_id), csv_rows(5), "text/csv")
    batches.start(twin, CLIENT, batch_id)
    with pytest.raises(ServiceError) as error:
        batches.start(twin, CLIENT, batch_id)
    assert (error.value.status, error.value.code) == (409, "already_started")
    assert len(queue(twin).messages) == 1  # one plan, not two


def test_a_file_over_the_limit_is_a_413_and_the_batch_failed_naming_the_limit(twin: Batches) -> None:
    batch_id = batches.create(twin, CLIENT, {"format": "csv"})["batch_id"]
    objects(twin).put(input_key(batch_id), csv_rows(2000), "text/csv")
    with pytest.raises(ServiceError) as error:
        batches.start(twin, CLIENT, batch_id)
    assert error.value.status == 413
    view = batches.get(twin, CLIENT, batch_id)
    assert view["status"] == "FAILED"
    assert "200000 bytes" in view["error"]
    assert queue(twin).messages == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"\x00\x01\x02binary\xff\xfe", "not"),
        (b"applicant_id,age\nA1,30\n", "monthly_income"),
        (b"", "the file is empty"),  # 0 bytes: a 422 like any bad file, never "s3 unavailable"
        (b" \r\n\n", "the file is empty"),
    ],
)
def test_a_bad_file_fails_fast_with_the_reason(twin: Batches, body: bytes, words: str) -> None:
    batch_id = batches.create(twin, CLIENT, {"format": "csv"})["batch_id"]
    objects(twin).put(input_key(batch_id), body, "text/csv")
    with pytest.raises(ServiceError) as error:
        batches.start(twin, CLIENT, batch_id)
    assert (error.value.status, error.value.code) == (422, "bad_file")
    assert queue(twin).messages == []
    view = batches.get(twin, CLIENT, batch_id)
    assert view["status"] == "FAILED"
    assert words in view["error"]
    assert view["error"] == error.value.details[0]["problem"]


def test_lists_are_the_owners_newest_first_with_a_cursor(twin: Batches) -> None:
    ids = [batches.create(twin, CLIENT, {"format": "jsonl"})["batch_id"] for _ in range(3)]
    batches.create(twin, OTHER, {"format": "csv"})
    first = batches.list_batches(twin, CLIENT, "2", None)
    assert len(first["items"]) == 2 and first["next_cursor"] is not None
    second = batches.list_batches(twin, CLIENT, "2", first["next_cursor"])
    assert second["next_cursor"] is None
    listed = [item["batch_id"] for item in first["items"] + second["items"]]
    assert sorted(listed) == sorted(ids)
    with pytest.raises(ServiceError) as error:
        batches.list_batches(twin, OTHER, "2", first["next_cursor"])  # another owner's cursor
    assert error.value.status == 400


def test_a_file_of_a_header_only_completes_with_no_rows(twin: Batches) -> None:
    batch_id = started(twin, csv_rows(0))
    assert run_queue(twin) == []
    view = batches.get(twin, CLIENT, batch_id)
    assert (view["status"], view["chunks"]["total"], view["rows"]["read"]) == ("COMPLETED", 0, 0)
    assert view["summary"]["rows"]["read"] == 0 and view["results"]["parts"] == []


def test_a_staff_backtest_is_shared_by_staff_and_hidden_from_clients(twin: Batches) -> None:
    batch_id = started(twin, csv_rows(10), owner=resources.STAFF_BATCH_OWNER)
    run_queue(twin)
    assert batches.get(twin, resources.STAFF_BATCH_OWNER, batch_id)["status"] == "COMPLETED"
    assert [
        item["batch_id"]
        for item in batches.list_batches(twin, resources.STAFF_BATCH_OWNER, None, None)["items"]
    ] == [batch_id]
    assert batches.list_batches(twin, CLIENT, None, None)["items"] == []
    (published,) = events(twin).published
    assert published[1]["owner"] == "staff"


def test_a_summary_that_cannot_be_computed_fails_the_batch_instead_of_hanging(
    twin: Batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.engine import batch as engine_batch

    def broken(merged: object, version_ids: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(engine_batch, "summarise", broken)
    batch_id = started(twin, csv_rows(50))
    assert run_queue(twin) == []
    view = batches.get(twin, CLIENT, batch_id)
    assert view["status"] == "FAILED"
    assert "ZeroDivisionError" in view["error"]
    assert events(twin).published == []
