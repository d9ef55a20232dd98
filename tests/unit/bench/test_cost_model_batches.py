"""The batch part of the cost model (issue 19) on hand-made runs: no timing, no app import."""

from __future__ import annotations

import pytest

from bench import cost_model as cm


def run(**overrides: object) -> cm.BatchRun:
    figures: dict[str, object] = {
        "rows": 10_000_000,
        "versions": 2,
        "rows_per_chunk": 10_000,
        "chunk_cpu_ms": 1000.0,
        "memory_mb": 1769,
        "concurrency": 50,
        "input_bytes": 1_000_000_000,
        "result_bytes_per_row": 60.0,
        "plan_cpu_ms_per_mb": 2.0,
        "summary_cpu_ms": 500.0,
    }
    figures.update(overrides)
    return cm.BatchRun(**figures)  # type: ignore[arg-type]


def test_chunks_round_up() -> None:
    assert run().chunks == 1000
    assert run(rows=10_001).chunks == 2


def test_one_chunk_is_its_cpu_at_full_share_plus_the_calls() -> None:
    waits_ms = 3 * cm.LATENCY_MS["s3"] + cm.LATENCY_MS["dynamodb"] + cm.LATENCY_MS["sqs"]
    assert cm.chunk_seconds(run()) == pytest.approx((1000 + waits_ms) / 1000)
    # Half the memory: half a vCPU, the CPU part takes twice as long.
    assert cm.chunk_seconds(run(memory_mb=1769 // 2)) > 1.9


def test_chunks_run_in_waves_of_the_concurrency() -> None:
    one_wave = cm.batch_seconds(run(rows=500_000))["chunks"]  # 50 chunks, 50 scorers: one wave
    assert cm.batch_seconds(run())["chunks"] == pytest.approx(20 * one_wave)  # 1000 chunks: 20 waves
    assert cm.batch_seconds(run(concurrency=100))["chunks"] == pytest.approx(10 * one_wave)


def test_the_bill_counts_each_request_once_per_chunk() -> None:
    lines = cm.batch_cost_lines(run())
    assert lines["Lambda requests"] == pytest.approx(1000 * 0.20 / 1e6)
    assert lines["S3 PUT requests"] == pytest.approx((2 * 1000 + 2) * 0.005 / 1000)
    assert lines["S3 GET requests"] == pytest.approx((2 * 1000 + 1) * 0.0004 / 1000)
    assert lines["SQS requests"] == pytest.approx((100 + 2000) * 0.40 / 1e6)
    gb_seconds = 1000 * cm.chunk_seconds(run()) * 1769 / 1024
    assert lines["Lambda duration"] == pytest.approx(gb_seconds * 0.0000166667, rel=1e-3)
    storage_gb = 10_000_000 * 60 / 1e9 + 1.0
    assert lines["S3 storage, retention"] == pytest.approx(storage_gb * 0.023)


def test_doubling_the_cpu_about_doubles_the_duration_line_only() -> None:
    slow = cm.batch_cost_lines(run(chunk_cpu_ms=2000.0))
    fast = cm.batch_cost_lines(run())
    assert slow["Lambda duration"] > 1.9 * fast["Lambda duration"]
    assert slow["S3 PUT requests"] == fast["S3 PUT requests"]


def test_a_batch_is_priced_with_the_same_unit_prices_as_a_request() -> None:
    list_prices = cm.Prices()
    dearer = cm.Prices(lambda_gb_second=2 * list_prices.lambda_gb_second, s3_put_per_thousand=0.01)
    listed, raised = cm.batch_cost_lines(run()), cm.batch_cost_lines(run(), dearer)
    assert raised["Lambda duration"] == pytest.approx(2 * listed["Lambda duration"])
    assert raised["S3 PUT requests"] == pytest.approx(2 * listed["S3 PUT requests"])
    assert raised["SQS requests"] == listed["SQS requests"]
