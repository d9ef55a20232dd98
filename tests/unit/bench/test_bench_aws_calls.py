"""Smoke test of the AWS-call benchmark on moto in-process: it counts real calls (no timing)."""

from __future__ import annotations

import pytest

from bench import bench_aws_calls


@pytest.fixture(scope="module")
def measured() -> bench_aws_calls.Measurement:
    return bench_aws_calls.measure(runs=1, operations=("sync_miss", "sync_hit"), timing=False)


def test_a_cache_miss_makes_at_least_one_dynamodb_call(measured: bench_aws_calls.Measurement) -> None:
    miss = measured.operations["sync_miss"]
    assert miss.calls_to("dynamodb") >= 1
    assert miss.items_written >= 1 and miss.wcu >= 1


def test_a_cache_hit_writes_less_to_dynamodb_than_a_miss(measured: bench_aws_calls.Measurement) -> None:
    miss, hit = measured.operations["sync_miss"], measured.operations["sync_hit"]
    # A hit skips the cache write: fewer items and fewer (estimated) write units.
    assert hit.items_written < miss.items_written
    assert hit.wcu < miss.wcu


def test_every_counted_call_names_its_service_and_has_payload_bytes(
    measured: bench_aws_calls.Measurement,
) -> None:
    for profile in measured.operations.values():
        for call in profile.calls:
            assert call.service and call.operation and call.request_bytes > 0


def test_item_sizes_follow_dynamodbs_rules() -> None:
    item = {"id": {"S": "abc"}, "n": {"N": "12345"}, "ok": {"BOOL": True}, "m": {"M": {"k": {"S": "v"}}}}
    # id: 2 + 3; n: 1 + (5 digits + 1) // 2 + 1 = 4; ok: 2 + 1; m: 1 + (3 + 1 + 1 + 1)
    assert bench_aws_calls.item_size(item) == 5 + 5 + 3 + 7
    assert bench_aws_calls.write_units(1024) == 1 and bench_aws_calls.write_units(1025) == 2
    assert bench_aws_calls.read_units(5000, consistent=False) == 1.0
    assert bench_aws_calls.read_units(100, consistent=True) == 1.0
