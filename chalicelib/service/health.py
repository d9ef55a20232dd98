"""Health: liveness, readiness of every table and the queue, and the detailed view."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from chalicelib import engine, resources
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.errors import ErrorDetail
from chalicelib.observability import is_cold_start, process, uptime_seconds
from chalicelib.records import (
    DependencyCheckBody,
    DetailedHealth,
    HealthSummary,
    Liveness,
    MemoryUse,
    QueueDepth,
)
from chalicelib.service import clock
from chalicelib.service.dependencies import Dependencies

# The original reported "degraded" when its database took longer than this to answer.
DEGRADED_LATENCY_MS = 100.0


def summary(dependencies: Dependencies) -> HealthSummary:
    settings = dependencies.settings
    return {
        "status": "ok",
        "service": resources.SERVICE,
        "version": settings.code_version,
        "stage": settings.stage,
        "model_version": engine.model_info()["version"],
    }


def live() -> Liveness:
    return {"status": "alive", "time": clock.now_iso()}


def dependency_checks(dependencies: Dependencies) -> list[DependencyCheck]:
    """DynamoDB and SQS probed at the same time (see ``DynamoDBLoanStore.check``)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        queue_checks = pool.submit(dependencies.queue.check)
        fraud_checks = pool.submit(dependencies.fraud_counters.check)
        # The decision-version registry: every decision reads its routing document (issue 18).
        registry = dependencies.versions.check if dependencies.has_versions else list
        registry_checks = pool.submit(registry)
        # The webhooks' tables and queue (chalicelib.service.webhooks), when configured.
        webhooks = dependencies.webhooks
        webhook_checks = pool.submit(webhooks.check) if webhooks is not None else None
        # The batches' table and chunk queue (chalicelib.service.batches, issue 19), when configured.
        batch_checks = pool.submit(dependencies.batches.check) if dependencies.batches is not None else None
        checks = dependencies.store.check() + fraud_checks.result() + registry_checks.result()
        checks += queue_checks.result()
        # The monitoring reports' table (issue 20), when configured.
        if dependencies.monitoring is not None:
            checks += dependencies.monitoring.reports.check()
            parts = dependencies.monitoring.parts  # the runs' parts queue (issue 20, fanned out)
            checks += parts.check() if parts is not None else []
        checks += webhook_checks.result() if webhook_checks is not None else []
        return checks + (batch_checks.result() if batch_checks is not None else [])


def check_body(check: DependencyCheck) -> DependencyCheckBody:
    return {
        "name": check.name,
        "ok": check.ok,
        "latency_ms": round(check.latency_ms, 3),
        "problem": check.problem,
    }


def failed_check_details(checks: list[DependencyCheck]) -> list[ErrorDetail]:
    return [
        {"field": check.name, "problem": check.problem or "unreachable"} for check in checks if not check.ok
    ]


def public_checks(checks: list[DependencyCheck]) -> list[DependencyCheckBody]:
    """The checks per kind of dependency ("dynamodb", "sqs"), for the public readiness probe: a load
    balancer needs ready or not; table and queue names and the client's error names (which say what
    runs behind the API) stay in the detailed health."""
    kinds: dict[str, list[DependencyCheck]] = {}
    for check in checks:
        kinds.setdefault(check.name.split(":", 1)[0], []).append(check)
    return [
        {
            "name": kind,
            "ok": all(check.ok for check in members),
            "latency_ms": round(max(check.latency_ms for check in members), 3),
            "problem": None if all(check.ok for check in members) else "unreachable",
        }
        for kind, members in kinds.items()
    ]


def _memory(lambda_context: Any) -> MemoryUse:
    peak_mb = process.peak_memory_mb()
    limit_mb = process.memory_limit_mb(lambda_context)
    return {
        "peak_used_mb": round(peak_mb, 1),
        "limit_mb": limit_mb,
        "used_ratio": round(peak_mb / limit_mb, 3) if limit_mb else None,
    }


def detailed(dependencies: Dependencies, lambda_context: Any) -> DetailedHealth:
    checks = dependency_checks(dependencies)
    queue_depth: QueueDepth | None
    try:
        queue_depth = dependencies.queue.depth()
    except DependencyUnavailable:
        queue_depth = None
    status: Literal["ok", "degraded", "unhealthy"]
    if any(not check.ok for check in checks):
        status = "unhealthy"
    elif any(check.latency_ms > DEGRADED_LATENCY_MS for check in checks):
        status = "degraded"
    else:
        status = "ok"
    return {
        "status": status,
        "version": dependencies.settings.code_version,
        "stage": dependencies.settings.stage,
        "model": engine.model_info(),
        "dependencies": [check_body(check) for check in checks],
        "queue_depth": queue_depth,
        "cold_start": is_cold_start(),
        "memory": _memory(lambda_context),
        "uptime_seconds": round(uptime_seconds(), 3),
    }
