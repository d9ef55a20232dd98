"""/health, /health/live, /health/ready, /health/detailed."""

from __future__ import annotations

import json
import os
from typing import Any

from chalice.app import Request, Response

from chalicelib import dal, engine, resources
from chalicelib.api import clock, process
from chalicelib.api.errors import JSON_HEADERS, error_body
from chalicelib.config import get_settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.observability import is_cold_start, request_id_of, uptime_seconds

SERVICE_VERSION = os.environ.get("SERVICE_VERSION", "1.0.0")
# The original reported "degraded" when its database took longer than this to answer.
DEGRADED_LATENCY_MS = 100.0


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(body=json.dumps(body), status_code=status, headers=dict(JSON_HEADERS))


def health() -> Response:
    settings = get_settings()
    return _json(
        {
            "status": "ok",
            "service": "loan-decisions",
            "version": SERVICE_VERSION,
            "stage": settings.stage,
            "model_version": engine.model_info()["version"],
        }
    )


def live() -> Response:
    return _json({"status": "alive", "time": clock.now_iso()})


def dependency_checks() -> list[DependencyCheck]:
    """DynamoDB and SQS probed at the same time (see ``DynamoDBLoanStore.check``)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        queue_checks = pool.submit(dal.get_queue().check)
        return dal.get_store().check() + queue_checks.result()


def _check_dict(check: DependencyCheck) -> dict[str, Any]:
    return {
        "name": check.name,
        "ok": check.ok,
        "latency_ms": round(check.latency_ms, 3),
        "problem": check.problem,
    }


def ready(request: Request) -> Response:
    checks = dependency_checks()
    failed = [check for check in checks if not check.ok]
    if not failed:
        return _json({"status": "ready", "checks": [_check_dict(check) for check in checks]})
    names = ", ".join(check.name for check in failed)
    body = error_body(
        "not_ready",
        f"not ready: {names} unreachable",
        request_id_of(request),
        [{"field": check.name, "problem": check.problem or "unreachable"} for check in failed],
    )
    body.update(status="not_ready", checks=[_check_dict(check) for check in checks])
    response = _json(body, 503)
    # The same hint as every other 503 caused by a dependency (chalicelib.api.errors).
    response.headers["Retry-After"] = str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)
    return response


def _memory(request: Request) -> dict[str, Any]:
    peak_mb = process.peak_memory_mb()
    limit_mb = process.memory_limit_mb(request.lambda_context)
    return {
        "peak_used_mb": round(peak_mb, 1),
        "limit_mb": limit_mb,
        "used_ratio": round(peak_mb / limit_mb, 3) if limit_mb else None,
    }


def detailed(request: Request) -> Response:
    checks = dependency_checks()
    try:
        queue_depth: dict[str, int] | None = dal.get_queue().depth()
    except DependencyUnavailable:
        queue_depth = None
    if any(not check.ok for check in checks):
        status = "unhealthy"
    elif any(check.latency_ms > DEGRADED_LATENCY_MS for check in checks):
        status = "degraded"
    else:
        status = "ok"
    return _json(
        {
            "status": status,
            "version": SERVICE_VERSION,
            "stage": get_settings().stage,
            "model": engine.model_info(),
            "dependencies": [_check_dict(check) for check in checks],
            "queue_depth": queue_depth,
            "cold_start": is_cold_start(),
            "memory": _memory(request),
            "uptime_seconds": round(uptime_seconds(), 3),
        }
    )
