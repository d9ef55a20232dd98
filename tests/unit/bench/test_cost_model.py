"""The cost model's arithmetic on hand-made usages and prices (no moto, no app import, no timing)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cost_model as cm
from infra.events import WEBHOOK_CONDITION

GB_S_X86 = 0.0000166667
ROOT = Path(__file__).resolve().parents[3]


def usage(**overrides: object) -> cm.Usage:
    values: dict[str, object] = {
        "name": "op",
        "function": "api",
        "api_requests": 1.0,
        "lambda_invocations": 1.0,
        "cpu_ms": 0.0,
        "calls": {},
        "wru": 0.0,
        "rru": 0.0,
        "sqs_requests": 0.0,
        "events": 0.0,
        "log_bytes": 0.0,
        "log_events": 0.0,
    }
    values.update(overrides)
    return cm.Usage(**values)  # type: ignore[arg-type]


# Nothing but what each test names: no platform log lines, no log event overhead.
QUIET = cm.Assumptions(
    latency_ms={"dynamodb": 4.0, "sqs": 8.0},
    platform_log_bytes_per_invocation=0,
    platform_log_events_per_invocation=0,
    log_event_overhead_bytes=0,
    log_retention_months=0.0,
)
CONFIG = cm.LambdaConfig({"api": 512, "worker": 1024}, "x86_64")


def test_the_model_imports_neither_the_app_nor_moto() -> None:
    code = "import sys, bench.cost_model; print(sorted({'app', 'moto', 'botocore'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_known_set_of_calls_gives_the_hand_computed_cost() -> None:
    # 1 API request, 1 invocation of 20 ms (2 DynamoDB calls x 4 ms + 12 ms of I/O-free CPU at
    # 1769 MB), 3 WRU, 1 RRU, 2 SQS requests, 1 event, 1 GiB of logs.
    one = usage(
        cpu_ms=12.0,
        calls={"dynamodb": 2.0},
        wru=3.0,
        rru=1.0,
        sqs_requests=2.0,
        events=1.0,
        log_bytes=float(cm.GIB),
    )
    config = cm.LambdaConfig({"api": 1769, "worker": 1769}, "x86_64")
    lines = cm.cost_lines(one, cm.Prices(), config, QUIET, storage=False)
    expected = {
        "API Gateway REST requests": 3.50e-6,
        "WAF requests": 0.60e-6,
        "Lambda requests": 0.20e-6,
        "Lambda duration (GB-s)": 0.020 * 1769 / 1024 * GB_S_X86,
        "DynamoDB writes (WRU)": 3 * 0.625e-6,
        "DynamoDB reads (RRU)": 1 * 0.125e-6,
        "SQS requests": 2 * 0.40e-6,
        "EventBridge events": 1.00e-6,
        "CloudWatch Logs (ingestion + storage)": 0.50,
    }
    assert lines == pytest.approx(expected)


def test_cpu_scales_with_memory_up_to_one_vcpu_and_io_does_not() -> None:
    one = usage(cpu_ms=10.0, calls={"dynamodb": 3.0, "sqs": 1.0})
    io = 3 * 4.0 + 8.0
    assert cm.duration_ms(one, 1769, QUIET) == pytest.approx(10.0 + io)
    assert cm.duration_ms(one, 3538, QUIET) == pytest.approx(10.0 + io)  # single-threaded
    assert cm.duration_ms(one, 512, QUIET) == pytest.approx(10.0 * 1769 / 512 + io)


def test_billed_duration_rounds_each_invocation_up_to_the_millisecond() -> None:
    # A worker record: a tenth of a 10-record batch; the batch takes 10 x 1.05 ms = 10.5 -> 11 ms.
    record = usage(function="worker", lambda_invocations=0.1, cpu_ms=1.05)
    memory = 1769
    gb_s = cm.billed_gb_seconds(record, memory, QUIET)
    assert gb_s == pytest.approx(0.1 * 11 / 1000 * memory / 1024)


def test_arm64_is_priced_at_its_own_gb_second_rate() -> None:
    one = usage(cpu_ms=100.0)
    x86 = cm.cost_lines(one, cm.Prices(), CONFIG, QUIET)["Lambda duration (GB-s)"]
    arm = cm.cost_lines(one, cm.Prices(), cm.LambdaConfig(CONFIG.memory_mb, "arm64"), QUIET)[
        "Lambda duration (GB-s)"
    ]
    assert arm / x86 == pytest.approx(0.0000133334 / GB_S_X86)


def test_a_path_weights_its_parts_and_prices_each_on_its_own_function() -> None:
    submit = usage(name="submit", wru=2.0, cpu_ms=5.0)
    worker = usage(name="worker", function="worker", api_requests=0.0, lambda_invocations=0.1, wru=10.0)
    path = [(submit, 1.0), (worker, 1.0), (usage(name="poll", rru=1.0), 2.0)]
    lines = cm.path_cost(path, cm.Prices(), CONFIG, QUIET, storage=False)
    assert lines["API Gateway REST requests"] == pytest.approx(3 * 3.50e-6)
    assert lines["Lambda requests"] == pytest.approx(3.1 * 0.20e-6)
    assert lines["DynamoDB writes (WRU)"] == pytest.approx(12 * 0.625e-6)
    assert lines["DynamoDB reads (RRU)"] == pytest.approx(2 * 0.125e-6)
    # The submit's 5 ms at 512 MB: CPU x 1769/512 = 17.27 -> billed 18 ms; the worker: 0 ms.
    assert lines["Lambda duration (GB-s)"] == pytest.approx(18 / 1000 * 0.5 * GB_S_X86)


def test_retained_storage_adds_table_indexes_and_point_in_time_recovery() -> None:
    one = usage(byte_months=float(10 * cm.GIB), table_byte_months=float(4 * cm.GIB))
    lines = cm.cost_lines(one, cm.Prices(), CONFIG, QUIET)
    assert lines["DynamoDB storage + PITR, retained records"] == pytest.approx(10 * 0.25 + 4 * 0.20)
    assert "DynamoDB storage + PITR, retained records" not in cm.cost_lines(
        one, cm.Prices(), CONFIG, QUIET, storage=False
    )


def test_the_crossover_is_where_the_two_cost_lines_meet() -> None:
    # Serverless: $50 fixed + $20 per million; always-on: $250 flat -> they meet at 10 M.
    def serverless(n: float) -> float:
        return 50 + 20 * n / 1e6

    def always_on(n: float) -> float:
        return 250.0

    point = cm.crossover(serverless, always_on)
    assert point == pytest.approx(10e6, abs=2)
    assert serverless(point) == pytest.approx(always_on(point), abs=1e-4)


def test_no_crossover_when_serverless_is_not_cheaper_at_zero_or_never_dearer() -> None:
    assert cm.crossover(lambda n: 300.0, lambda n: 250.0) is None
    assert cm.crossover(lambda n: 10.0, lambda n: 250.0 + n) is None


def test_crossover_of_the_monthly_model_matches_the_closed_form_without_xray() -> None:
    one = usage(wru=8.0, cpu_ms=1.0)
    no_xray = cm.replace(QUIET, xray_rate=0.0, xray_reservoir_per_second=0.0, health_probes_per_month=0.0)
    prices = cm.Prices()
    variable = sum(cm.path_cost([(one, 1.0)], prices, CONFIG, no_xray, storage=False).values())
    fixed, always = 40.0, 250.0

    def serverless(n: float) -> float:
        return cm.monthly_serverless(n, [(one, 1.0)], fixed, prices, CONFIG, no_xray, storage=False)

    point = cm.crossover(serverless, lambda n: always)
    assert point == pytest.approx((always - fixed) / variable, rel=1e-6)


def test_xray_default_sampling_keeps_the_first_request_each_second_and_five_percent() -> None:
    # At 1 request/s on average (Poisson): 1 - 1/e of the seconds give the reservoir a request.
    per_month = cm.SECONDS_PER_MONTH
    taken = 1 - math.exp(-1)
    expected = cm.SECONDS_PER_MONTH * (taken + 0.05 * (1 - taken))
    assert cm.xray_traces(per_month, cm.Assumptions()) == pytest.approx(expected)
    assert cm.xray_traces(0, cm.Assumptions()) == 0.0
    # Far above 1/s almost everything is the 5%.
    assert cm.xray_traces(1e9, cm.Assumptions()) / 1e9 == pytest.approx(0.05, rel=0.05)


def test_template_counts_alarm_metrics_waf_rules_secrets_and_skips_conditional_resources() -> None:
    template = {
        "Resources": {
            "A": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 60, "MetricName": "Errors"}},
            "B": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Metrics": [
                        {"Id": "e", "MetricStat": {"Period": 60}},
                        {"Id": "r", "MetricStat": {"Period": 60}},
                        {"Id": "ratio", "Expression": "e / r"},
                    ]
                },
            },
            "C": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"Metrics": [{"Id": "q", "Expression": "SELECT SUM(x) FROM y", "Period": 60}]},
            },
            "D": {
                "Type": "AWS::CloudWatch::Alarm",
                "Condition": WEBHOOK_CONDITION,
                "Properties": {"Period": 60},
            },
            "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {"Rules": [{}, {}]}},
            # Conditional, but paid for either way (created here, or passed in from us-east-1).
            "EdgeAcl": {
                "Type": "AWS::WAFv2::WebACL",
                "Condition": "CreateConsoleWebAcl",
                "Properties": {"Rules": [{}]},
            },
            "S": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
            "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
        }
    }
    counts = cm.template_counts(template, cm.Assumptions(metrics_per_insights_alarm=10))
    assert (counts.alarms, counts.alarm_metrics, counts.alarm_high_resolution_metrics) == (3, 1 + 2 + 10, 0)
    assert (counts.web_acls, counts.waf_rules, counts.secrets, counts.dashboards) == (2, 3, 1, 1)
    fixed = cm.serverless_fixed(
        counts,
        cm.Prices(),
        CONFIG,
        QUIET,
        provisioned=2,
        api_memory_mb=512,
        custom_metric_series=0,
        health_probe=None,
    )
    assert fixed["WAF web ACLs (2) + rules"] == pytest.approx(2 * 5.00 + 3 * 1.00)
    assert fixed["CloudWatch alarms (3)"] == pytest.approx(13 * 0.10)
    assert fixed["Provisioned concurrency (2 x 512 MB)"] == pytest.approx(
        2 * 0.5 * cm.SECONDS_PER_MONTH * 0.0000041667
    )


def test_the_worker_pays_one_receive_and_one_delete_per_batch() -> None:
    assert cm.worker_sqs_share(10, 1_300) == pytest.approx(0.2)
    assert cm.worker_sqs_share(10, 10_000) == pytest.approx((2 + 1) / 10)  # 100 KB: two 64 KB chunks
