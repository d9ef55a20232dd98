"""What does a page of a list cost? ``GET /v1/decisions`` and ``GET /v1/applications`` through the real
handler (in-process proxy events), with ``--records`` records of one client and as many of another.

Storage: the in-memory twin, and moto in-process (``devstack.fake_aws``). Baselines in the same run,
on moto: the bare botocore Query the handler issues (the floor of any list on this storage), and a
Scan + filter + sort of the whole table (what a list without the per-client index would cost).
moto evaluates a Query by reading the whole table in Python, so on moto the Query grows with the
table like the Scan; DynamoDB reads only the page from the index (O(page)), which is why the
service Queries: compare the handler with the bare Query, not with DynamoDB.

Run: ``python -m bench.bench_lists [--records N] [--requests N]``.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from devstack import fake_aws

fake_aws.install_environment()  # before the app or botocore is imported

from bench.common import proxy_event, stdout_silenced, summary, time_each  # noqa: E402
from chalicelib import resources  # noqa: E402

CLIENT_A, CLIENT_B = "bench-client-a", "bench-client-b"
CASES = (
    ("/v1/decisions", {"limit": "20"}),
    ("/v1/decisions", {"limit": "100"}),
    ("/v1/decisions", {"outcome": "declined", "limit": "20"}),
    ("/v1/applications", {"status": "PENDING", "limit": "20"}),
)


def fill(dependencies: Any, records: int) -> None:
    """``records`` decisions and applications for each of two clients."""
    from chalicelib import engine
    from chalicelib.service.applications import pending_record
    from chalicelib.service.decisions import decision_record
    from devstack.samples import applications

    cleaned = [engine.validate_application(p) for p in applications(50, with_personal_data=False)]
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


def handler_call(path: str, query: dict[str, str]) -> Callable[[], None]:
    from app import app
    from devstack.lambda_events import LocalLambdaContext

    context = LocalLambdaContext(
        function_name=resources.API_FUNCTION.chalice_name, region=resources.LOCAL_REGION
    )
    event = proxy_event("GET", path, query=query, client=CLIENT_A)

    def call() -> None:
        response = app(event, context)
        assert response["statusCode"] == 200, response["body"][:200]
        assert len(json.loads(response["body"])["items"]) == int(query["limit"])

    return call


def baselines(dynamodb: Any, table: str) -> list[tuple[str, Callable[[], None]]]:
    def bare_query() -> None:
        dynamodb.query(
            TableName=table,
            IndexName=resources.DECISIONS_BY_CLIENT.name,
            KeyConditionExpression="client_id = :c",
            ExpressionAttributeValues={":c": {"S": CLIENT_A}},
            ScanIndexForward=False,
            Limit=20,
        )

    def scan_and_filter() -> None:
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="client_id = :c",
            ExpressionAttributeValues={":c": {"S": CLIENT_A}},
        )
        mine = [item for page in pages for item in page["Items"]]
        sorted(mine, key=lambda item: item["created_at"]["S"], reverse=True)[:20]

    return [
        ("baseline: bare botocore Query, limit 20", bare_query),
        ("baseline: Scan + filter + sort", scan_and_filter),
    ]


def measure(storage: str, dependencies: Any, records: int, requests: int) -> None:
    from chalicelib.service import dependencies as current

    started = time.perf_counter()
    fill(dependencies, records)
    filled = time.perf_counter() - started
    current.use(dependencies)
    cases = [
        (f"GET {path}?{'&'.join(f'{k}={v}' for k, v in query.items())}", handler_call(path, query))
        for path, query in CASES
    ]
    if storage == "moto":
        cases += baselines(dependencies.aws_clients["dynamodb"], dependencies.settings.decisions_table)
    for name, call in cases:
        runs = max(3, requests // 20) if "Scan" in name else requests
        with stdout_silenced():
            samples = [us / 1000 for us in time_each(call, runs, warmup=1)]
        p50, p99, mean = summary(samples)
        print(f"{name:<52} {storage:<8} {p50:>9.2f} {p99:>9.2f} {mean:>9.2f}")
    print(
        f"  ({storage}: {2 * records:,} decisions + {2 * records:,} applications written in {filled:.1f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000, help="per client")
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args(argv)
    from devstack.in_memory import InMemoryDependencies

    print(f"List latency, {args.records:,} records per client x 2 clients, ms per request")
    print(f"{'case':<52} {'storage':<8} {'p50 ms':>9} {'p99 ms':>9} {'mean ms':>9}")
    measure("memory", InMemoryDependencies(), args.records, args.requests)
    with fake_aws.moto_dependencies() as moto:
        measure("moto", moto, args.records, args.requests)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
