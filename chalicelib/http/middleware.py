"""The API's HTTP middleware: request id, the one error shape for every error, access log, metrics.

Views read the request with ``current_request()``, not ``app.current_request``: the latter is one
attribute shared by all threads, and ``chalice local`` serves requests on threads, so under
concurrent requests a view could read another request's body.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Request, Response

from chalicelib import observability
from chalicelib.http.errors import error_response, normalise_error_response
from chalicelib.observability import logger, metrics
from chalicelib.observability.prometheus import REQUEST_METRICS

_current_request: ContextVar[Request] = ContextVar("current_request")
_current_request_id: ContextVar[str] = ContextVar("current_request_id", default="")


def current_request() -> Request:
    """This invocation's request (set by ``http_middleware``; safe under chalice local's threads)."""
    return _current_request.get()


def current_request_id() -> str:
    return _current_request_id.get() or str(uuid.uuid4())


def request_id_of(request: Request) -> str:
    """API Gateway's request id; chalice local has none in the event, so the Lambda context's."""
    request_id = request.context.get("requestId")
    if not request_id and request.lambda_context is not None:
        request_id = getattr(request.lambda_context, "aws_request_id", None)
    return str(request_id or uuid.uuid4())


def http_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Request id, our error shape for every error, access log line, EMF and Prometheus metrics."""
    observability.mark_invocation()
    started = time.perf_counter()
    _current_request.set(request)
    request_id = request_id_of(request)
    _current_request_id.set(request_id)
    logger.set_correlation_id(request_id)
    try:
        response = get_response(request)
    except Exception:
        # Never a stack trace to the client; the log has it (without the request body).
        logger.exception("unhandled error", extra={"route": request.path, "method": request.method})
        response = error_response(500, "internal_error", "internal error", request_id)
    response = normalise_error_response(response, request_id)
    response.headers["X-Request-ID"] = request_id
    duration = time.perf_counter() - started
    status = response.status_code
    REQUEST_METRICS.observe(status, duration)
    route = f"{request.method} {request.path}"
    if observability.emf_enabled():
        metrics.add_dimension(name="route", value=route)
        metrics.add_dimension(name="status", value=str(status))
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=duration * 1000)
    logger.info("request", extra={"route": route, "status": status, "duration_ms": round(duration * 1000, 3)})
    return response
