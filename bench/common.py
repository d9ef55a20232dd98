"""What the benchmarks share: percentiles, per-call timing, API Gateway proxy events, quiet stdout.

Not a benchmark itself (``make bench`` runs the ``bench_*.py`` modules). The in-process benches get
their fake AWS environment from ``devstack.fake_aws``, the one the unit tests use.
"""

from __future__ import annotations

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

from chalicelib.resources import LOCAL_REGION

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The API key id API Gateway puts in requestContext.identity (the records' owner).
BENCH_CLIENT = "bench-client"

# Peak RSS of a child process, from /proc (VmHWM): getrusage's ru_maxrss survives fork+exec and
# would report the parent's.
PEAK_RSS = """
def peak_rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def time_each(call: Callable[[], Any], runs: int, warmup: int = 0) -> list[float]:
    """Microseconds of each of ``runs`` calls (after ``warmup`` untimed ones)."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def summary(samples: list[float]) -> tuple[float, float, float]:
    """(p50, p99, mean)."""
    return percentile(samples, 0.5), percentile(samples, 0.99), statistics.fmean(samples)


def proxy_event(
    method: str,
    path: str,
    body: Any | None = None,
    *,
    query: dict[str, str] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    client: str = BENCH_CLIENT,
) -> dict[str, Any]:
    """An API Gateway REST proxy event as Lambda receives it, from a client with an API key."""
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": {
            "content-type": "application/json",
            "host": f"example.execute-api.{LOCAL_REGION}.amazonaws.com",
            **(headers or {}),
        },
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/api{path}",
            "stage": "api",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.9", "apiKeyId": client},
        },
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


@contextmanager
def stdout_to(fd: int) -> Iterator[None]:
    """Powertools writes to the stdout file descriptor it captured at import: redirect the fd."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(fd, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


@contextmanager
def stdout_silenced() -> Iterator[None]:
    with open(os.devnull, "wb") as devnull, stdout_to(devnull.fileno()):
        yield


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
