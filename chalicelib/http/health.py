"""HTTP handlers of /health, /health/live, /health/ready, /health/detailed and /metrics."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib import resources
from chalicelib.errors import error_body
from chalicelib.http.errors import json_response
from chalicelib.http.middleware import request_id_of
from chalicelib.observability import process
from chalicelib.observability.prometheus import CONTENT_TYPE, REQUEST_METRICS
from chalicelib.service import health
from chalicelib.service.dependencies import current


def summary() -> Response:
    return json_response(health.summary(current()))


def live() -> Response:
    return json_response(health.live())


def ready(request: Request) -> Response:
    checks = health.dependency_checks(current())
    failed = [check for check in checks if not check.ok]
    bodies = [health.check_body(check) for check in checks]
    if not failed:
        return json_response({"status": "ready", "checks": bodies})
    names = ", ".join(check.name for check in failed)
    body = {
        **error_body(
            "not_ready",
            f"not ready: {names} unreachable",
            request_id_of(request),
            health.failed_check_details(failed),
        ),
        "status": "not_ready",
        "checks": bodies,
    }
    # The same hint as every other 503 caused by a dependency (chalicelib.errors).
    return json_response(body, 503, {"Retry-After": str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)})


def detailed(request: Request) -> Response:
    return json_response(health.detailed(current(), request.lambda_context))


def metrics(request: Request) -> Response:
    memory_limit = process.memory_limit_mb(request.lambda_context)
    return Response(body=REQUEST_METRICS.render(memory_limit), headers={"Content-Type": CONTENT_TYPE})
