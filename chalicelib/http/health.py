"""HTTP handlers of /health, /health/live, /health/ready, /health/detailed and /metrics."""

from __future__ import annotations

from chalice.app import Request, Response

from chalicelib import resources
from chalicelib.errors import error_body
from chalicelib.http.errors import json_response
from chalicelib.http.middleware import request_id_of
from chalicelib.observability import process
from chalicelib.observability.prometheus import CONTENT_TYPE, DECISION_METRICS, REQUEST_METRICS
from chalicelib.service import health
from chalicelib.service.dependencies import current


def summary() -> Response:
    return json_response(health.summary(current()))


def live() -> Response:
    return json_response(health.live())


def ready(request: Request) -> Response:
    """Public: ready or not per kind of dependency, never a table or queue name (``/health/detailed``)."""
    bodies = health.public_checks(health.dependency_checks(current()))
    if all(body["ok"] for body in bodies):
        return json_response({"status": "ready", "checks": bodies})
    failed = [body["name"] for body in bodies if not body["ok"]]
    body = {
        **error_body(
            "not_ready",
            f"not ready: {', '.join(failed)} unreachable",
            request_id_of(request),
            [{"field": name, "problem": "unreachable"} for name in failed],
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
    body = REQUEST_METRICS.render(memory_limit) + DECISION_METRICS.render() + review_metrics()
    return Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def review_metrics() -> str:
    """The review desk's oversight figures: this instance's completed reviews and overrides, and
    the desk's backlog as the reviews table has it now (absent when it cannot be read)."""
    from chalicelib.dal import DependencyUnavailable
    from chalicelib.service import reviews

    counters = reviews.REVIEW_COUNTERS
    lines = [
        "# HELP loan_reviews_completed_total Manual reviews decided through this instance.",
        "# TYPE loan_reviews_completed_total counter",
        f"loan_reviews_completed_total {counters.completed_total}",
        "# HELP loan_review_overrides_total Reviews whose outcome differs from the model's leaning.",
        "# TYPE loan_review_overrides_total counter",
        f"loan_review_overrides_total {counters.overrides_total}",
        "# HELP loan_review_time_to_decide_seconds_sum Seconds from opening to decision, summed.",
        "# TYPE loan_review_time_to_decide_seconds_sum counter",
        f"loan_review_time_to_decide_seconds_sum {counters.time_to_decide_seconds_sum:.3f}",
    ]
    try:
        backlog = reviews.backlog(current())
    except (DependencyUnavailable, RuntimeError):
        return "\n".join(lines) + "\n"
    lines += [
        "# HELP loan_reviews_open Open and claimed review cases.",
        "# TYPE loan_reviews_open gauge",
        f"loan_reviews_open {backlog['open']:.0f}",
        "# HELP loan_review_oldest_open_age_seconds Age of the oldest open review case.",
        "# TYPE loan_review_oldest_open_age_seconds gauge",
        f"loan_review_oldest_open_age_seconds {backlog['oldest_open_age_seconds']:.3f}",
        "# HELP loan_reviews_sla_breached Open or claimed cases past their SLA.",
        "# TYPE loan_reviews_sla_breached gauge",
        f"loan_reviews_sla_breached {backlog['sla_breached']:.0f}",
    ]
    return "\n".join(lines) + "\n"
