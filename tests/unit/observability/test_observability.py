"""Logs carry no personal data; EMF metrics come out per invocation with route/status/outcome."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import app
from devstack.lambda_events import LocalLambdaContext, worker_context
from tests.support.http import post_json
from tests.support.samples import PERSONAL_DATA, PERSONAL_DATA_VARIANTS
from tests.support.sqs import queued_records, sqs_event


def api_context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="api_handler", region="us-east-1")


def proxy_event(method: str, path: str, body: Any) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": path, "httpMethod": method, "requestId": str(uuid.uuid4())},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def emf_blobs(output: str) -> list[dict[str, Any]]:
    blobs = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


@pytest.fixture
def service_log() -> Iterator[io.StringIO]:
    """Everything the service's Powertools Logger writes (its handler's stream, swapped).

    At the service's own level: another Chalice app named like the service (``chalice package``'s
    loader in tests/infra builds one) configures the same standard logger, and Chalice sets its
    level to ERROR unless it finds a handler on the current ``sys.stdout``, which pytest swaps."""
    import logging

    from chalicelib.observability import logger

    standard_logger = logging.getLogger(logger.service)
    level = standard_logger.level
    standard_logger.setLevel(logging.INFO)
    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)
    try:
        yield buffer
    finally:
        logger.registered_handler.setStream(previous)
        standard_logger.setLevel(level)


def test_no_personal_data_in_logs_queue_or_stored_records(
    chalice_client, memory, application, capfd, caplog, service_log
):
    caplog.set_level("DEBUG")
    applicant = {**application, **PERSONAL_DATA}
    assert post_json(chalice_client, "/v1/decisions", applicant).status_code == 200
    assert post_json(chalice_client, "/v1/decisions", {**applicant, "cibil_score": "bad"}).status_code == 400
    assert post_json(chalice_client, "/v1/applications", applicant).status_code == 202
    records = queued_records(memory.memory_queue)
    app.process_application_queue(sqs_event(*records), worker_context("local", "us-east-1"))

    captured = capfd.readouterr()
    stored = [list(memory.memory_store.decisions.values()), list(memory.memory_store.applications.values())]
    places = {
        "logs": service_log.getvalue() + captured.out + captured.err + caplog.text,
        "queue": json.dumps([record["body"] for record in records]),
        "tables": json.dumps(stored),
    }
    assert '"message":"request"' in places["logs"]  # the logs were captured at all
    assert "OVMPK****T" in places["tables"]  # the masked PAN is what is kept
    for where, text in places.items():
        for part in (*PERSONAL_DATA_VARIANTS, PERSONAL_DATA["phone"], PERSONAL_DATA["email"]):
            assert part not in text, f"{part!r} found in {where}"


def test_emf_metrics_by_route_status_and_outcome(memory, application, capfd, monkeypatch):
    from chalicelib.observability import metrics

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    # Service calls made outside a Lambda invocation by other tests may have left metrics unflushed.
    metrics.clear_metrics()
    context = api_context()

    response = app.app(proxy_event("POST", "/v1/decisions", application), context)

    assert response["statusCode"] == 200
    blobs = emf_blobs(capfd.readouterr().out)
    request_blob = next(blob for blob in blobs if "Requests" in blob)
    assert request_blob["route"] == "POST /v1/decisions"
    assert request_blob["status"] == "200"
    assert request_blob["CacheMisses"] == [1.0]  # EMF values are lists
    assert request_blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LoanDecisions"
    decision_blob = next(blob for blob in blobs if "Decisions" in blob)
    assert decision_blob["outcome"] == json.loads(response["body"])["outcome"]
    assert decision_blob["source"] == "sync"


def test_exception_messages_are_withheld_from_logs(chalice_client, application, monkeypatch, service_log):
    from chalicelib import engine

    def explode(cleaned, *version):
        raise ValueError(f"invalid literal for int(): {PERSONAL_DATA['applicant_name']!r}")

    monkeypatch.setattr(engine, "decide", explode)

    response = post_json(chalice_client, "/v1/decisions", application)

    assert response.status_code == 500
    log = service_log.getvalue()
    assert "builtins.ValueError" in log  # the type and the traceback are kept
    assert "explode" in log
    assert "Ottoline" not in log and "Ottoline" not in response.body.decode()


def metric_total(blobs: list[dict[str, Any]], name: str) -> float:
    """One metric summed over EMF blobs (each blob holds a list of values per metric)."""
    return sum(sum(blob[name]) for blob in blobs if name in blob)


def test_emf_metrics_for_latency_cache_queue_and_batches(
    memory, application, other_application, capfd, monkeypatch
):
    from chalicelib import observability

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    observability.metrics.clear_metrics()
    context = api_context()

    statuses = [
        app.app(proxy_event("POST", "/v1/decisions", application), context)["statusCode"],
        app.app(proxy_event("POST", "/v1/decisions", application), context)["statusCode"],
        app.app(proxy_event("POST", "/v1/applications", other_application), context)["statusCode"],
    ]
    [queued] = queued_records(memory.memory_queue)
    poison = {**queued, "messageId": str(uuid.uuid4()), "body": "not json"}
    result = app.process_application_queue(sqs_event(queued, poison), worker_context("local", "us-east-1"))

    assert statuses == [200, 200, 202]
    assert result == {"batchItemFailures": [{"itemIdentifier": poison["messageId"]}]}
    blobs = emf_blobs(capfd.readouterr().out)
    request_blobs = [blob for blob in blobs if "Requests" in blob]
    assert len(request_blobs) == 3
    assert all(len(blob["Latency"]) == 1 and blob["Latency"][0] > 0 for blob in request_blobs)
    assert metric_total(blobs, "CacheMisses") == 1
    assert metric_total(blobs, "CacheHits") == 1
    assert metric_total(blobs, "Queued") == 1
    assert metric_total(blobs, "BatchRecordsProcessed") == 1
    assert metric_total(blobs, "BatchRecordsFailed") == 1


# A fresh interpreter: this process served invocations long ago, and its first one is gone.
COLD_START_PROBE = """
import json, sys
import app
from devstack.lambda_events import LocalLambdaContext
from tests.support.http import proxy_event

context = LocalLambdaContext(function_name="api_handler", region="us-east-1")
for _ in range(3):
    assert app.app(proxy_event("GET", "/health/live", "/health/live"), context)["statusCode"] == 200
"""


def test_only_the_first_invocation_of_a_process_counts_a_cold_start(monkeypatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    done = subprocess.run(
        [sys.executable, "-c", COLD_START_PROBE],
        cwd=Path(app.__file__).resolve().parent,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    blobs = [blob for blob in emf_blobs(done.stdout) if "Requests" in blob]
    assert len(blobs) == 3
    assert metric_total(blobs, "ColdStart") == 1
    assert "ColdStart" in blobs[0] and all("ColdStart" not in blob for blob in blobs[1:])


def test_log_lines_carry_the_gateway_request_id_and_cold_start(memory, application, service_log):
    event = proxy_event("POST", "/v1/decisions", application)
    event["requestContext"]["requestId"] = "apigw-request-for-logs"

    response = app.app(event, api_context())

    assert response["headers"]["X-Request-ID"] == "apigw-request-for-logs"
    lines = [json.loads(line) for line in service_log.getvalue().splitlines() if line.startswith("{")]
    [access_line] = [line for line in lines if line["message"] == "request"]
    assert access_line["correlation_id"] == "apigw-request-for-logs"
    assert isinstance(access_line["cold_start"], bool)
    assert access_line["function_name"] == "api_handler"
    assert access_line["route"] == "POST /v1/decisions" and access_line["status"] == 200
    assert all(line.get("correlation_id") == "apigw-request-for-logs" for line in lines)


@pytest.mark.parametrize(
    ("environment", "enabled"),
    [
        ({}, False),  # outside Lambda: chalice local, the local worker, tests
        ({"AWS_LAMBDA_FUNCTION_NAME": "api_handler", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "api_handler"}, True),
    ],
)
def test_tracer_runs_only_on_lambda_unless_disabled(monkeypatch, environment, enabled):
    from chalicelib import observability

    for name in ("AWS_LAMBDA_FUNCTION_NAME", "POWERTOOLS_TRACE_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert observability._tracing_enabled() is enabled
    # This test process is not a Lambda: no tracer, so no tracing middleware either.
    assert observability.tracer is None
    assert len(observability.lambda_middlewares()) == 2
