"""Health endpoints, /metrics and X-Request-ID on every response.

Readiness names DynamoDB tables and SQS queues, so its tests run on moto (``aws_client``); the rest
on the in-memory twin.
"""

from __future__ import annotations

import json
import re

import pytest

from chalicelib import engine, resources
from chalicelib.dal.aws import DynamoDBLoanStore, SQSApplicationQueue
from chalicelib.observability.prometheus import REQUEST_METRICS
from chalicelib.service import dependencies
from devstack.lambda_events import LocalLambdaContext
from tests.support.aws import stage_store, unreachable_client
from tests.support.http import assert_error_shape, post_json


def test_health_names_version_and_stage(chalice_client):
    body = json.loads(chalice_client.http.get("/health").body)
    assert body["status"] == "ok"
    assert body["stage"] == "local"
    assert body["version"]


def test_live(chalice_client):
    response = chalice_client.http.get("/health/live")
    assert response.status_code == 200
    assert json.loads(response.body)["status"] == "alive"


def test_ready_when_every_dependency_answers(aws_client, aws):
    response = aws_client.http.get("/health/ready")
    assert response.status_code == 200
    checks = json.loads(response.body)["checks"]
    assert [check["name"] for check in checks] == ["dynamodb", "sqs"]
    assert all(check["ok"] for check in checks)
    assert_no_resource_names(response.body, aws.settings)


def assert_no_resource_names(body: bytes, settings) -> None:
    """The public probe says what kind of dependency failed, never which table or queue, nor how."""
    text = body.decode()
    names = [value for field, value in settings._asdict().items() if field.endswith(("_table", "_queue"))]
    # The webhooks' and batches' tables and queues (issues 22, 19) are named outside Settings.
    webhook_specs = (
        resources.WEBHOOK_ENDPOINTS_TABLE,
        resources.WEBHOOK_DELIVERIES_TABLE,
        resources.WEBHOOK_QUEUE,
        resources.MONITORING_REPORTS_TABLE,  # issue 20: named outside Settings too
        resources.BATCHES_TABLE,  # issue 19
        resources.BATCH_CHUNKS_QUEUE,
        resources.MONITORING_PARTS_QUEUE,  # issue 20: monitoring runs' parts
    )
    names += [resources.resource_name(settings.stage, spec.suffix) for spec in webhook_specs]
    assert len(names) == len(resources.TABLES) + len(resources.QUEUES)
    for name in names:
        assert name not in text
    assert "Exception" not in text and "botocore" not in text


def test_not_ready_says_dynamodb_not_which_table(aws_client, aws):
    aws.aws_clients["dynamodb"].delete_table(TableName=aws.settings.decisions_table)

    response = aws_client.http.get("/health/ready")

    body = assert_error_shape_with_checks(response)
    assert body["error"]["details"] == [{"field": "dynamodb", "problem": "unreachable"}]
    assert_no_resource_names(response.body, aws.settings)
    # The detailed health names the table and the error.
    detailed = json.loads(aws_client.http.get("/health/detailed").body)
    failed = [check for check in detailed["dependencies"] if not check["ok"]]
    assert [(check["name"], check["problem"]) for check in failed] == [
        (f"dynamodb:{aws.settings.decisions_table}", "ResourceNotFoundException")
    ]


def _with(aws, *, store: DynamoDBLoanStore | None = None, queue: SQSApplicationQueue | None = None) -> None:
    dependencies.use(
        dependencies.Dependencies(
            aws.settings, store or aws.store, queue or aws.queue, aws.events, lambda: None
        )
    )


def test_not_ready_names_sqs_when_its_endpoint_is_down(aws_client, aws):
    _with(aws, queue=SQSApplicationQueue.for_settings(unreachable_client("sqs"), aws.settings))

    body = assert_error_shape_with_checks(aws_client.http.get("/health/ready"))

    assert body["error"]["details"] == [{"field": "sqs", "problem": "unreachable"}]


def test_not_ready_names_every_table_when_dynamodb_is_down(aws_client, aws):
    _with(aws, store=stage_store(unreachable_client("dynamodb")))
    response = aws_client.http.get("/health/ready")
    body = assert_error_shape_with_checks(response)
    assert body["error"]["details"] == [{"field": "dynamodb", "problem": "unreachable"}]
    assert_no_resource_names(response.body, aws.settings)


def assert_error_shape_with_checks(response) -> dict:
    assert response.status_code == 503
    body = json.loads(response.body)
    assert body["error"]["code"] == "not_ready"
    assert body["request_id"] == response.headers["X-Request-ID"]
    assert body["status"] == "not_ready"
    assert any(not check["ok"] for check in body["checks"])
    assert response.headers["Retry-After"] == str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)
    return body


def test_detailed_reports_model_dependencies_queue_memory_uptime(aws_client, application):
    post_json(aws_client, "/v1/applications", application)

    body = json.loads(aws_client.http.get("/health/detailed").body)

    assert body["model"] == engine.model_info()
    assert body["queue_depth"] == {"visible": 1, "in_flight": 0}
    assert len(body["dependencies"]) == len(resources.TABLES) + len(resources.QUEUES) and all(
        d["latency_ms"] >= 0 for d in body["dependencies"]
    )
    assert body["status"] in {"ok", "degraded"}
    assert isinstance(body["cold_start"], bool)
    assert body["memory"]["limit_mb"] == 512
    assert body["memory"]["peak_used_mb"] > 0
    assert body["uptime_seconds"] > 0


PROMETHEUS_LINE = re.compile(r'^[a-z_]+(\{[a-z]+="[^"]*"\})? [0-9.e+-]+$')


def test_metrics_is_prometheus_text_with_the_original_names(chalice_client):
    before = REQUEST_METRICS.requests_total
    chalice_client.http.get("/health")
    chalice_client.http.get("/v1/applications/unknown")

    response = chalice_client.http.get("/metrics")

    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    lines = (
        response.body.decode().splitlines()
        if isinstance(response.body, bytes)
        else response.body.splitlines()
    )
    samples = [line for line in lines if not line.startswith("#")]
    assert all(PROMETHEUS_LINE.match(line) for line in samples), samples
    values = dict(line.rsplit(" ", 1) for line in samples)
    assert int(values["loan_api_requests_total"]) == before + 2
    assert int(values['loan_api_requests_by_status{status="404"}']) >= 1
    assert "# TYPE loan_api_request_duration_seconds histogram" in lines
    assert (
        values['loan_api_request_duration_seconds_bucket{le="+Inf"}']
        == values["loan_api_request_duration_seconds_count"]
    )
    buckets = [int(v) for k, v in values.items() if k.startswith("loan_api_request_duration_seconds_bucket")]
    assert buckets == sorted(buckets)
    assert float(values["loan_api_memory_percent"]) > 0  # present: the local stage sets 512 MB
    # The review desk's figures: this instance's counters and the desk's backlog (none open here).
    assert int(values["loan_reviews_completed_total"]) >= 0
    assert values["loan_reviews_open"] == "0" and values["loan_reviews_sla_breached"] == "0"
    assert float(values["loan_api_cpu_percent"]) >= 0


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("GET", "/health", None, None),
        ("GET", "/health/ready", None, None),
        ("GET", "/metrics", None, None),
        ("GET", "/v1/applications/nope", None, None),
        ("POST", "/v1/decisions", "{", "application/json"),
        ("POST", "/v1/decisions", "{}", "text/csv"),
        ("PUT", "/v1/applications", "{}", "application/json"),
    ],
)
def test_every_response_carries_a_request_id(chalice_client, method, path, body, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = chalice_client.http.request(method, path, headers=headers, body=body or b"")
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["X-Request-ID"])
    if response.status_code >= 400:
        assert json.loads(response.body)["request_id"] == response.headers["X-Request-ID"]


def test_api_gateway_request_id_is_used_when_present(memory):
    from app import app

    event = {
        "resource": "/health/live",
        "path": "/health/live",
        "httpMethod": "GET",
        "headers": {},
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": "/health/live", "httpMethod": "GET", "requestId": "apigw-req-1"},
        "body": None,
        "isBase64Encoded": False,
    }
    response = app(event, LocalLambdaContext(function_name="api_handler", region="us-east-1"))
    assert response["headers"]["X-Request-ID"] == "apigw-req-1"


def test_unexpected_exception_is_500_in_our_shape(chalice_client, monkeypatch, application):
    def explode(payload, *version):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "decide", explode)
    response = post_json(chalice_client, "/v1/decisions", application)
    body = assert_error_shape(response, 500, "internal_error")
    assert "boom" not in json.dumps(body)
