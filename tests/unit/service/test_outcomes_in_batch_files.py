"""Loan outcomes in bulk through a batch file (issue 20) on the in-memory twin: ``POST /v1/batches``
with ``"kind": "outcomes"``, the chunks recording each row for the batch's owner, the counts in the
summary, redelivery, and the bad inputs of an outcomes batch."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.dal.batches import input_key, part_key
from chalicelib.errors import ServiceError
from chalicelib.service import batches
from chalicelib.service.batches import Batches, BatchSettings
from devstack.in_memory import InMemoryDependencies
from devstack.in_memory_batches import in_memory_batches
from tests.support.batch_twin import days_ago, objects, queue
from tests.support.batch_twin import decided_days_ago as decided

ROWS_PER_CHUNK = 4
HEADER = "decision_id,status,as_of"


@pytest.fixture
def twin(memory: InMemoryDependencies) -> Iterator[Batches]:
    settings = BatchSettings(
        "local", "chunks", "chunks-dlq", rows_per_chunk=ROWS_PER_CHUNK, max_bytes=200_000
    )
    configured = in_memory_batches(memory.versions, settings)
    configured.loans = memory
    memory.batches = configured
    yield configured


def deliver(twin: Batches, messages: list[dict[str, object]]) -> None:
    event = {"Records": [{"messageId": f"m{n}", "body": json.dumps(m)} for n, m in enumerate(messages)]}
    assert batches.handle_batch(twin, event) == {"batchItemFailures": []}


def run_queue(twin: Batches) -> None:
    while messages := queue(twin).take():
        for message in messages:
            deliver(twin, [message])


def started(twin: Batches, owner: str, body: bytes, fmt: str = "csv") -> str:
    created = batches.create(twin, owner, {"format": fmt, "kind": "outcomes"})
    assert created["kind"] == "outcomes"
    assert created["versions"] == []
    objects(twin).put(input_key(created["batch_id"]), body, "text/csv")
    batches.start(twin, owner, created["batch_id"])
    return created["batch_id"]


def test_a_file_of_mixed_rows_gives_each_count_and_records_only_the_owners_decisions(
    chalice_client: Any, memory: InMemoryDependencies, twin: Batches
) -> None:
    first, second, foreign = (decided(chalice_client, memory, row) for row in range(3))
    owner = memory.memory_store.decisions[first]["client_id"]
    memory.memory_store.decisions[foreign]["client_id"] = "another-client"
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    rows = [
        f"{first},current,{days_ago(5)}",  # recorded
        f"{first},current,{days_ago(5)}",  # replayed
        f"{second},dpd30,{days_ago(1)}",  # recorded
        f"{first},dpd60,{days_ago(20)}",  # superseded: older than the latest
        f"{foreign},default,{days_ago(1)}",  # not_found: another client's
        "",  # blank: skipped, its number kept
        f"{uuid.uuid4()},default,{days_ago(1)}",  # not_found: unknown
        f"{second},paid_off,{tomorrow}",  # invalid: in the future
        f"{second},bogus,{days_ago(1)}",  # invalid: unknown status
        "just,two",  # invalid: not three fields
        f"{second},paid_off,{days_ago(31)}",  # invalid: before the decision
    ]
    batch_id = started(twin, owner, ("\n".join([HEADER, *rows]) + "\n").encode())

    run_queue(twin)

    view = batches.get(twin, owner, batch_id)
    assert view["status"] == "COMPLETED"
    assert view["kind"] == "outcomes"
    assert view["chunks"]["total"] == 3  # 11 lines, 4 a chunk
    summary = view["summary"]
    assert summary["rows"] == {
        "read": 10,
        "recorded": 2,
        "replayed": 1,
        "superseded": 1,
        "not_found": 2,
        "invalid": 4,
    }
    assert view["rows"]["read"] == 10
    assert view["rows"]["scored"] == 4  # recorded, replayed or superseded
    assert view["rows"]["invalid"] == 6
    invalid_rows = [rows.index(line) + 1 for line in rows[7:]]
    assert [row["row"] for row in summary["invalid_rows"]] == invalid_rows
    assert [row["line"] for row in summary["invalid_rows"]] == [row + 1 for row in invalid_rows]
    fields = [{problem["field"] for problem in row["errors"]} for row in summary["invalid_rows"]]
    assert fields == [{"as_of"}, {"status"}, {"(row)"}, {"as_of"}]
    assert summary["invalid_rows_not_listed"] == 0
    decisions = memory.memory_store.decisions
    assert decisions[first]["loan_outcome"] == {"status": "current", "as_of": days_ago(5)}
    assert decisions[second]["loan_outcome"] == {"status": "dpd30", "as_of": days_ago(1)}
    assert "loan_outcome" not in decisions[foreign]
    assert memory.outcomes is not None
    assert memory.outcomes.outcome_history(foreign) == []
    assert len(memory.outcomes.outcome_history(first)) == 2
    part = objects(twin).get(part_key(batch_id, 1))
    assert part is not None
    results = [json.loads(line) for line in gzip.decompress(part).splitlines()]
    assert [result["result"] for result in results] == ["not_found", "not_found", "invalid"]
    published = twin.events.published  # type: ignore[attr-defined]
    assert [kind for kind, _ in published] == [resources.BATCH_COMPLETED]
    assert published[0][1]["rows_read"] == 10


def test_a_chunk_delivered_twice_changes_nothing(
    chalice_client: Any, memory: InMemoryDependencies, twin: Batches
) -> None:
    decision_ids = [decided(chalice_client, memory, row) for row in range(6)]
    owner = memory.memory_store.decisions[decision_ids[0]]["client_id"]
    rows = [f"{decision_id},current,{days_ago(3)}" for decision_id in decision_ids]
    batch_id = started(twin, owner, ("\n".join([HEADER, *rows]) + "\n").encode())
    deliver(twin, queue(twin).take())  # the plan
    chunks = queue(twin).take()
    assert len(chunks) == 2

    deliver(twin, [chunks[0]])
    after_first = {d: memory.outcomes.outcome_history(d) for d in decision_ids}  # type: ignore[union-attr]
    deliver(twin, [chunks[0]])  # redelivered: counted before, nothing recorded again
    assert {d: memory.outcomes.outcome_history(d) for d in decision_ids} == after_first  # type: ignore[union-attr]
    deliver(twin, [chunks[1]])
    deliver(twin, [chunks[1]])

    view = batches.get(twin, owner, batch_id)
    assert view["status"] == "COMPLETED"
    assert view["summary"]["rows"]["read"] == 6
    assert view["summary"]["rows"]["recorded"] == 6
    assert view["summary"]["rows"]["replayed"] == 0
    for decision_id in decision_ids:
        assert memory.outcomes.outcome_history(decision_id) == [  # type: ignore[union-attr]
            {"status": "current", "as_of": days_ago(3)}
        ]


def test_a_chunk_retried_after_an_outage_records_each_row_once(
    chalice_client: Any, memory: InMemoryDependencies, twin: Batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.dal import DependencyUnavailable

    decision_ids = [decided(chalice_client, memory, row) for row in range(3)]
    owner = memory.memory_store.decisions[decision_ids[0]]["client_id"]
    rows = [f"{decision_id},dpd30,{days_ago(2)}" for decision_id in decision_ids]
    batch_id = started(twin, owner, ("\n".join([HEADER, *rows]) + "\n").encode())
    deliver(twin, queue(twin).take())
    (chunk,) = queue(twin).take()
    store = memory.outcomes
    assert store is not None
    real = store.record_outcome
    calls = {"n": 0}

    def failing_on_the_third(decision_id: str, outcome: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise DependencyUnavailable("dynamodb", "throttled")
        return real(decision_id, outcome)

    monkeypatch.setattr(store, "record_outcome", failing_on_the_third)
    event = {"Records": [{"messageId": "m0", "body": json.dumps(chunk)}]}
    assert batches.handle_batch(twin, event) == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert batches.get(twin, owner, batch_id)["chunks"]["done"] == 0

    deliver(twin, [chunk])  # the retry: the first two are replays now, the third is recorded

    view = batches.get(twin, owner, batch_id)
    assert view["status"] == "COMPLETED"
    assert view["summary"]["rows"]["recorded"] + view["summary"]["rows"]["replayed"] == 3
    for decision_id in decision_ids:
        assert store.outcome_history(decision_id) == [{"status": "dpd30", "as_of": days_ago(2)}]


def test_json_lines_rows_are_checked_as_the_items_of_post_outcomes(
    chalice_client: Any, memory: InMemoryDependencies, twin: Batches
) -> None:
    decision_id = decided(chalice_client, memory, 0)
    owner = memory.memory_store.decisions[decision_id]["client_id"]
    lines = [
        {"decision_id": decision_id, "status": "paid_off", "as_of": days_ago(1)},
        {"decision_id": decision_id, "status": "paid_off", "as_of": days_ago(1), "amount": 5},
        {"status": "paid_off", "as_of": days_ago(1)},
        ["not", "an", "object"],
    ]
    body = "".join(json.dumps(line) + "\n" for line in lines).encode()
    batch_id = started(twin, owner, body, fmt="jsonl")

    run_queue(twin)

    summary = batches.get(twin, owner, batch_id)["summary"]
    assert summary["rows"]["recorded"] == 1
    assert summary["rows"]["invalid"] == 3
    assert [[p["field"] for p in row["errors"]] for row in summary["invalid_rows"]] == [
        ["amount"],
        ["decision_id"],
        ["(row)"],
    ]
    assert memory.memory_store.decisions[decision_id]["loan_outcome"]["status"] == "paid_off"


def test_an_outcomes_batch_refuses_decision_options_naming_them(twin: Batches) -> None:
    body = {"format": "csv", "kind": "outcomes", "versions": ["v1"], "counteroffers": True}
    with pytest.raises(ServiceError) as refused:
        batches.create(twin, "client-a", body)
    assert refused.value.status == 400
    assert [detail["field"] for detail in refused.value.details] == ["versions", "counteroffers"]


def test_an_unknown_kind_is_a_400_and_a_backtest_has_no_kind(twin: Batches) -> None:
    with pytest.raises(ServiceError) as unknown:
        batches.create(twin, "client-a", {"format": "csv", "kind": "repayments"})
    assert unknown.value.status == 400
    assert [detail["field"] for detail in unknown.value.details] == ["kind"]
    with pytest.raises(ServiceError) as staff:
        batches.create(twin, resources.STAFF_BATCH_OWNER, {"format": "csv", "kind": "outcomes"})
    assert staff.value.status == 400
    assert [detail["field"] for detail in staff.value.details] == ["kind"]
    assert batches.create(twin, "client-a", {"format": "csv"})["kind"] == "decisions"


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("decision_id,status", "lacks required columns: as_of"),
        ("decision_id,status,as_of,amount", "columns an outcomes file does not: amount"),
    ],
)
def test_an_outcomes_csv_without_exactly_its_columns_fails_at_the_start(
    twin: Batches, header: str, problem: str
) -> None:
    created = batches.create(twin, "client-a", {"format": "csv", "kind": "outcomes"})
    objects(twin).put(input_key(created["batch_id"]), f"{header}\n".encode(), "text/csv")
    with pytest.raises(ServiceError) as refused:
        batches.start(twin, "client-a", created["batch_id"])
    assert refused.value.status == 422
    assert problem in refused.value.message
    assert batches.get(twin, "client-a", created["batch_id"])["status"] == "FAILED"
