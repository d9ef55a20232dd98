"""The cost model's arithmetic on hand-made usages (no moto, no app import, no timing)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cost_model as cm

ROOT = Path(__file__).resolve().parents[3]


def test_the_model_imports_neither_the_app_nor_moto() -> None:
    code = "import sys, bench.cost_model; print(sorted({'app', 'moto', 'botocore'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_known_usage_gives_the_hand_computed_cost() -> None:
    # At 1,769 MB the CPU share is 1: 12 ms of CPU + 2 DynamoDB calls x 4 ms = 20 ms, 1.769 GB x 0.02 s.
    usage = cm.Usage(
        api_requests=1,
        invocations=1,
        memory_mb=1769,
        cpu_ms=12.0,
        calls={"dynamodb": 2},
        wru=3,
        rru=1,
        sqs_requests=2,
        events=1,
        log_bytes=cm.GIB - cm.PLATFORM_LOG_BYTES_PER_INVOCATION,
    )
    lines = cm.cost_lines(usage)
    assert lines["API Gateway requests"] == pytest.approx(3.50e-6)
    assert lines["Lambda requests"] == pytest.approx(0.20e-6)
    assert lines["Lambda duration"] == pytest.approx(0.020 * 1769 / 1024 * 0.0000166667)
    assert lines["DynamoDB writes"] == pytest.approx(3 * 0.625e-6)
    assert lines["DynamoDB reads"] == pytest.approx(0.125e-6)
    assert lines["SQS requests"] == pytest.approx(0.80e-6)
    assert lines["EventBridge events"] == pytest.approx(1.00e-6)
    assert lines["CloudWatch Logs ingestion"] == pytest.approx(0.50)  # exactly 1 GiB with the platform lines


def test_cpu_time_scales_with_the_memory_share_and_waits_do_not() -> None:
    usage = cm.Usage(api_requests=1, invocations=1, memory_mb=1769 // 2, cpu_ms=10.0, calls={"sqs": 1})
    assert cm.duration_ms(usage) == pytest.approx(10.0 * 1769 / (1769 // 2) + 8.0)


def test_each_invocation_is_billed_in_whole_milliseconds() -> None:
    # A tenth of a batch: the batch's 10.1 ms round up to 11 ms, a tenth of it billed to this record.
    record = cm.Usage(api_requests=0, invocations=0.1, memory_mb=1769, cpu_ms=1.01)
    assert cm.gb_seconds(record) == pytest.approx(0.1 * 0.011 * 1769 / 1024)


def test_a_path_adds_its_operations_per_million() -> None:
    submit = cm.Usage(api_requests=1, invocations=1, memory_mb=512, cpu_ms=0.0, wru=2)
    record = cm.Usage(api_requests=0, invocations=0.1, memory_mb=512, cpu_ms=0.0, wru=4)
    lines = cm.path_lines([submit, record])
    assert lines["DynamoDB writes"] == pytest.approx(6 * 0.625)
    assert lines["API Gateway requests"] == pytest.approx(3.50)
    assert lines["Lambda requests"] == pytest.approx(1.1 * 0.20)


def test_the_floor_endpoint_is_the_baseline_of_every_path() -> None:
    miss = cm.Usage(api_requests=1, invocations=1, memory_mb=512, cpu_ms=5.0, calls={"dynamodb": 3}, wru=9)
    found = cm.paths({"sync_miss": miss})
    assert list(found) == ["floor endpoint (baseline)", "sync decision (cache miss)"]
    floor = sum(cm.path_lines(found["floor endpoint (baseline)"]).values())
    assert 3.50 < floor < sum(cm.path_lines([miss]).values())


def test_a_webhook_delivery_gives_the_hand_computed_cost() -> None:
    lines = cm.path_lines(cm.webhook_delivery())
    # Fan-out: 5 ms CPU at 256 MB's share + 2 DynamoDB + 1 SQS calls; attempt: + 3 DynamoDB calls and
    # the receiver's answer; each rounded up to the millisecond.
    fan_out_ms = math.ceil(5.0 * 1769 / 256 + 2 * 4.0 + 8.0)
    attempt_ms = math.ceil(5.0 * 1769 / 256 + 3 * 4.0 + cm.RECEIVER_MS)
    assert lines["Lambda requests"] == pytest.approx(2 * 0.20)
    assert lines["Lambda duration"] == pytest.approx(
        (fan_out_ms + attempt_ms) / 1000 * 0.25 * 0.0000166667 * 1e6
    )
    assert lines["DynamoDB writes"] == pytest.approx(14 * 0.625)
    assert lines["DynamoDB reads"] == pytest.approx(2.5 * 0.125)
    assert lines["SQS requests"] == pytest.approx(6 * 0.40)
    assert lines["API Gateway requests"] == 0 and lines["EventBridge events"] == 0
    assert 13 < sum(lines.values()) < 15
