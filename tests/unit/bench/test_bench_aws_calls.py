"""The AWS-call benchmark on moto in-process: it counts the app's real calls (no timing)."""

from __future__ import annotations

import pytest

from bench import bench_aws_calls


@pytest.fixture(scope="module")
def measured() -> dict[str, bench_aws_calls.Profile]:
    return bench_aws_calls.count_calls(
        runs=1, names=("sync_miss", "sync_hit", "async_submit", "worker_record", "list_page")
    )


def test_a_cache_miss_reads_the_cache_and_writes_to_dynamodb(
    measured: dict[str, bench_aws_calls.Profile],
) -> None:
    miss = measured["sync_miss"]
    assert miss.calls["dynamodb/GetItem"] == 1
    assert miss.capacity.wcu >= 1 and miss.capacity.rcu > 0


def test_a_cache_hit_writes_less_than_a_miss(measured: dict[str, bench_aws_calls.Profile]) -> None:
    # A hit skips the cache write: fewer (estimated) write units.
    assert measured["sync_hit"].capacity.wcu < measured["sync_miss"].capacity.wcu


def test_the_worker_share_leaves_out_the_submissions_that_fed_it(
    measured: dict[str, bench_aws_calls.Profile],
) -> None:
    # The submits before each batch are not the worker's; and the bench client has no webhooks, so
    # once the worker knows it (chalicelib.service.webhooks.SubscriptionCache) it queues no event.
    assert measured["async_submit"].calls["sqs/SendMessage"] == 1
    assert measured["worker_record"].calls["sqs/SendMessage"] == 0
    assert measured["worker_record"].calls_to("sqs") == 0
    assert measured["worker_record"].calls_to("dynamodb") >= 1


def test_a_list_page_is_one_query_and_writes_nothing(measured: dict[str, bench_aws_calls.Profile]) -> None:
    page = measured["list_page"]
    assert dict(page.calls) == {"dynamodb/Query": 1}
    assert page.capacity.wcu == 0 and page.capacity.rcu > 0


def test_item_sizes_follow_dynamodbs_rules() -> None:
    item = {"id": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": True}, "m": {"M": {"k": {"S": "v"}}}}
    # id: 2 + 3; n: 1 + (5 digits + 1) // 2 + 1 = 4; ok: 2 + 1; m: 1 + (3 + 1 + 1 + 1)
    assert bench_aws_calls.item_size(item) == 5 + 5 + 3 + 7
    assert bench_aws_calls.write_units(1024) == 1 and bench_aws_calls.write_units(1025) == 2
    assert bench_aws_calls.read_units(5000, consistent=False) == 1.0
    assert bench_aws_calls.read_units(100, consistent=True) == 1.0


def test_an_index_write_costs_a_delete_and_a_put_when_its_key_changes() -> None:
    index = {"KeySchema": [{"AttributeName": "status"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}
    pending = {"id": {"S": "a"}, "status": {"S": "PENDING"}, "body": {"S": "x" * 2000}}
    decided = {**pending, "status": {"S": "DECIDED"}}
    old = bench_aws_calls.projected(["id"], index, pending)
    new = bench_aws_calls.projected(["id"], index, decided)
    assert old == {"id": {"S": "a"}, "status": {"S": "PENDING"}}  # keys only: the body is not projected
    assert bench_aws_calls.index_write_units(index, old, new) == 2
    assert bench_aws_calls.index_write_units(index, new, new) == 0
    assert bench_aws_calls.index_write_units(index, None, new) == 1
