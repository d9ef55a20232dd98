"""In-process handler benchmark: API Gateway proxy event -> ``app(event, context)`` -> response.

Storage is moto in-process (``mock_aws``), so the figures are the handler's own cost plus moto's
in-process DynamoDB (≈0.1-0.6 ms per call here; real DynamoDB in-region is ≈3-6 ms per call, so a
deployed cache miss pays ~3 round trips, a hit ~2). Baselines measured in the same run:

- ``engine only``: ``validate_application`` + ``decide`` called directly (no HTTP, no storage);
- ``bare chalice route``: a one-route Chalice app with no middleware (the framework floor);
- ``GET /health/live``: this app's full middleware stack around a trivial view;
- the original system: ≈4 ms (4000 µs) per predict + SHAP explanation (../shared/SEED.md).

Logger/EMF output goes to /dev/null while timing (on Lambda it goes to CloudWatch, at similar cost).
Run: ``python -m bench.bench_handler [--requests N]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib import resources

PROJECT_DIR = Path(__file__).resolve().parents[1]
ORIGINAL_PREDICT_AND_EXPLAIN_US = 4000.0
WORKER_BATCH = 10  # = resources.APPLICATIONS_QUEUE.batch_size, checked in run()

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "STAGE": "local",
        "POWERTOOLS_SERVICE_NAME": resources.SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": resources.METRICS_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
        # The local stage's API-key/throttle emulation is not part of the deployed handler.
        "LOCAL_GATEWAY_EMULATION": "off",
    }
)
for _variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(_variable, None)


def sample_application() -> dict[str, Any]:
    with (PROJECT_DIR / "data" / "loan_applications.csv").open(newline="") as handle:
        row = next(csv.DictReader(handle))
    typed: dict[str, Any] = {}
    for name, value in row.items():
        if name == "loan_approved":
            continue
        typed[name] = (
            value == "True" if value in ("True", "False") else int(value) if value.isdigit() else value
        )
    return typed


def sqs_record(body: str) -> dict[str, Any]:
    """One record of a Lambda SQS event (unique messageId)."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "bench",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:"
        + resources.resource_name("local", resources.APPLICATIONS_QUEUE.suffix),
        "awsRegion": "us-east-1",
    }


def proxy_event(method: str, path: str, body: Any | None = None) -> dict[str, Any]:
    """An API Gateway REST proxy event as Lambda receives it."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {
            "content-type": "application/json",
            "host": "example.execute-api.us-east-1.amazonaws.com",
        },
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            # What API Gateway adds on a method that requires an API key: the key's id (the client).
            "identity": {"sourceIp": "203.0.113.9", "apiKeyId": "bench-client"},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


@contextmanager
def stdout_silenced() -> Iterator[None]:
    # Powertools writes to the stdout file descriptor it captured at import: redirect the fd.
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def timed(
    call: Callable[[int], Any], requests: int, warmup: int, untimed: Callable[[int], Any] | None = None
) -> list[float]:
    """Per-call µs of ``call(i)``; ``untimed(i)`` (if any) runs before each call, off the clock."""
    for i in range(warmup):
        call(-1 - i)
    samples = []
    for i in range(requests):
        if untimed is not None:
            untimed(i)
        started = time.perf_counter_ns()
        call(i)
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run(requests: int, warmup: int) -> list[tuple[str, list[float]]]:
    from chalice import Chalice
    from moto import mock_aws

    from chalicelib import engine
    from chalicelib.service import dependencies
    from devstack.bootstrap import create_tables_and_queues
    from devstack.in_memory import InMemoryDependencies
    from devstack.lambda_events import LocalLambdaContext, worker_context

    assert resources.APPLICATIONS_QUEUE.batch_size == WORKER_BATCH
    application = sample_application()
    results: list[tuple[str, list[float]]] = []
    with mock_aws():
        aws = dependencies.Dependencies.from_environment()
        create_tables_and_queues("local", aws.aws_clients["dynamodb"], aws.aws_clients["sqs"])
        dependencies.use(aws)
        from app import app, process_application_queue
        from chalicelib.privacy import mask_personal_fields
        from chalicelib.service.applications import queued_application

        context = LocalLambdaContext(function_name="api_handler", region="us-east-1")

        def engine_only(i: int) -> None:
            engine.decide(engine.validate_application(application), *engine.packaged_version())

        bare = Chalice(app_name="bare")

        @bare.route("/ping")
        def ping() -> dict[str, bool]:
            return {"ok": True}

        ping_event = proxy_event("GET", "/ping")

        def bare_route(i: int) -> None:
            assert bare(ping_event, context)["statusCode"] == 200

        live_event = proxy_event("GET", "/health/live")

        def live(i: int) -> None:
            response = app(live_event, context)
            assert response["statusCode"] == 200, response

        def decision_miss(i: int) -> None:
            # A scoring input no earlier request used: every call misses the cache.
            payload = {**application, "savings_balance": 1_000_000 + i * 7 + (0 if i >= 0 else 500_000)}
            response = app(proxy_event("POST", "/v1/decisions", payload), context)
            assert response["statusCode"] == 200 and '"cache": "miss"' in response["body"], response["body"][
                :200
            ]

        hit_event = proxy_event("POST", "/v1/decisions", application)

        def decision_hit(i: int) -> None:
            response = app(hit_event, context)
            # The first warm-up call fills the cache; every timed call must be a hit.
            assert response["statusCode"] == 200 and (i < 0 or '"cache": "hit"' in response["body"])

        submit_event = proxy_event("POST", "/v1/applications", application)
        sqs = aws.aws_clients["sqs"]
        queue_url = sqs.get_queue_url(QueueName=aws.settings.applications_queue)["QueueUrl"]

        def submit(i: int) -> None:
            assert app(submit_event, context)["statusCode"] == 202

        def keep_queue_short(i: int) -> None:
            # moto's SendMessage reads every queued message (Queue.attributes computes the
            # approximate counts), so it slows down as the queue grows; a Lambda-fed queue stays
            # short. Drained every 50 submissions, off the clock (PurgeQueue: once a minute only).
            if i % 50:
                return
            while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
                entries = [
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)
                ]
                sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)

        cleaned = engine.validate_application(application)
        masked, submitted_at = mask_personal_fields(cleaned), "2026-01-01T00:00:00.000Z"

        def worker_batches(count: int) -> Iterator[dict[str, Any]]:
            """``count`` batches of WORKER_BATCH queued messages, their applications PENDING."""
            store = dependencies.current().store
            for _ in range(count):
                records = []
                for _ in range(WORKER_BATCH):
                    application_id = str(uuid.uuid4())
                    store.create_pending_application(application_id, masked, submitted_at)
                    queued = queued_application(application_id, cleaned, masked, submitted_at)
                    records.append(sqs_record(json.dumps(queued.to_message())))
                yield {"Records": records}

        def worker_case(batches: Iterator[dict[str, Any]]) -> Callable[[int], None]:
            context = worker_context("local", "us-east-1")

            def worker_batch(i: int) -> None:
                assert process_application_queue(next(batches), context) == {"batchItemFailures": []}

            return worker_batch

        cases: list[tuple[str, Callable[[int], None]]] = [
            ("engine only: validate + decide", engine_only),
            ("bare chalice route (no middleware)", bare_route),
            ("GET /health/live (full middleware)", live),
            ("POST /v1/decisions, cache miss", decision_miss),
            ("POST /v1/decisions, cache hit", decision_hit),
        ]
        batch_count = max(1, requests // WORKER_BATCH)
        worker_name = f"SQS worker, per record ({WORKER_BATCH}-record batches)"
        with stdout_silenced():
            for name, call in cases:
                results.append((name, timed(call, requests, warmup)))
            submit_name = "POST /v1/applications (PENDING + SQS send)"
            results.append((submit_name, timed(submit, requests, warmup, keep_queue_short)))
            # Applications are made PENDING before timing; only the worker's batch is timed.
            batches = list(worker_batches(batch_count + warmup))
            per_batch = timed(worker_case(iter(batches)), batch_count, warmup)
            results.append((worker_name, [sample / WORKER_BATCH for sample in per_batch]))
            dependencies.use(InMemoryDependencies())
            for name, call in cases[3:]:
                results.append((f"{name} [dict store]", timed(call, requests, warmup)))
            batches = list(worker_batches(batch_count + warmup))
            per_batch = timed(worker_case(iter(batches)), batch_count, warmup)
            results.append((f"{worker_name} [dict store]", [sample / WORKER_BATCH for sample in per_batch]))
            dependencies.use(None)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    args = parser.parse_args(argv)
    results = run(args.requests, args.warmup)
    print(
        f"In-process handler latency, {args.requests} requests each, µs per request "
        "(storage: moto in-process, or the in-memory twin where marked)"
    )
    print(f"{'case':<53} {'p50 µs':>10} {'p99 µs':>10} {'mean µs':>10} {'p50 vs original 4 ms':>22}")
    for name, samples in results:
        p50, p99 = percentile(samples, 0.50), percentile(samples, 0.99)
        ratio = ORIGINAL_PREDICT_AND_EXPLAIN_US / p50
        print(f"{name:<53} {p50:>10.0f} {p99:>10.0f} {statistics.fmean(samples):>10.0f} {ratio:>20.1f}x")
    print(f"{'original: predict + SHAP explanation':<53} {ORIGINAL_PREDICT_AND_EXPLAIN_US:>10.0f}")
    for name, samples in results:
        if name.startswith("SQS worker"):
            print(f"{name}: {1e6 / statistics.fmean(samples):,.0f} decisions/s in one process (mean)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
