"""Logging, metrics and tracing (Powertools): a leaf every layer may use (it imports no other layer).

- Logger: JSON lines, correlation id = the API Gateway request id (``X-Request-ID``), cold start
  and Lambda context keys. NEVER log request bodies, applications or personal data: log ids,
  routes, statuses, outcomes and durations only.
- Metrics: CloudWatch EMF, flushed once per invocation: ``Requests``/``Latency`` by route and
  status, ``Decisions`` by outcome, cache hits/misses/bypasses, ``Queued``, worker
  ``BatchRecordsProcessed``/``BatchRecordsFailed``, ``ColdStart``. Disabled locally with
  ``POWERTOOLS_METRICS_DISABLED``.
- Tracer: X-Ray, a no-op locally (``POWERTOOLS_TRACE_DISABLED``); ``capture_response=False``
  because a Chalice ``Response`` is not JSON-serialisable.
- ``/metrics``: per-instance Prometheus counters (``chalicelib.observability.prometheus``), fed by
  the HTTP middleware (``chalicelib.http.middleware``).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from chalice.app import ConvertToMiddleware

from chalicelib.observability.prometheus import DECISION_METRICS
from chalicelib.privacy import PersonalDataRedactingFilter

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()


class WithheldExceptionMessage(Exception):
    """Stands in for a logged exception: its type and traceback are kept, its message is not."""


class ExceptionMessageFilter(logging.Filter):
    """Drops exception MESSAGES from log records (``str(exc)`` can quote input such as a name, e.g.
    ``invalid literal for int(): 'Amit'``); the exception type and the traceback's frames stay.
    Covers Chalice's own log of an unhandled view exception too: Chalice logs through
    ``logging.getLogger(app_name)``, which is this Logger's standard logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc_type, _, trace = record.exc_info
            withheld = WithheldExceptionMessage(f"{exc_type.__module__}.{exc_type.__qualname__}")
            record.exc_info = (WithheldExceptionMessage, withheld, trace)
            record.exc_text = None
        return True


# On the handler, so they apply to every record this Logger writes, whoever created it.
logger.registered_handler.addFilter(ExceptionMessageFilter())
logger.registered_handler.addFilter(PersonalDataRedactingFilter())


def _tracing_enabled() -> bool:
    # What Powertools' Tracer decides too (off outside Lambda or when POWERTOOLS_TRACE_DISABLED),
    # checked here because even a disabled Tracer imports the X-Ray SDK (~0.25 s of cold start).
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").lower() in ("1", "true", "yes", "on")
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME")) and not disabled


def _make_tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    # Only botocore (DynamoDB, SQS) makes outbound calls; patching every library X-Ray knows
    # (patch_all) costs ~25-30 ms more on each cold start for nothing we use.
    return Tracer(patch_modules=("botocore",))


tracer = _make_tracer() if _tracing_enabled() else None

PROCESS_STARTED = time.monotonic()
_invocations = 0
_emf_enabled = False


def mark_invocation() -> None:
    """Start of an invocation (API request or SQS batch): cold start, and whether EMF is on."""
    global _invocations, _emf_enabled
    _invocations += 1
    # Read once per invocation: the environment does not change within one, and the check reads
    # several variables (it was ~10% of a cached decision's cost when made per metric).
    _emf_enabled = not is_metrics_disabled()
    if _invocations == 1:
        count("ColdStart")


def emf_enabled() -> bool:
    """Whether this invocation emits EMF metrics (read once per invocation by ``mark_invocation``)."""
    return _emf_enabled


def is_cold_start() -> bool:
    """True during the first invocation served by this process."""
    return _invocations <= 1


def uptime_seconds() -> float:
    return time.monotonic() - PROCESS_STARTED


def lambda_middlewares() -> list[Callable[..., Any]]:
    """Powertools' handler decorators as Chalice middleware, for every event type (API and SQS)."""
    middlewares: list[Callable[..., Any]] = [
        ConvertToMiddleware(
            logger.inject_lambda_context(
                correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
            )
        ),
        flush_metrics_middleware,
    ]
    # A disabled Tracer would still open (no-op) X-Ray subsegments per invocation (~50 µs).
    if tracer is not None:
        middlewares.append(ConvertToMiddleware(tracer.capture_lambda_handler(capture_response=False)))
    return middlewares


def flush_metrics_middleware(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """One EMF blob per invocation (instead of ``log_metrics``, which warns on every invocation
    when metrics are disabled locally)."""
    try:
        return get_response(event)
    finally:
        if metrics.metric_set and _emf_enabled:
            metrics.flush_metrics()


def count(name: str, value: float = 1) -> None:
    """A count metric in this invocation's EMF blob (dimensions: route and status, or worker)."""
    # Skipped when disabled: Powertools then never clears the set, and prints it at 100 values.
    if _emf_enabled:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_decision(outcome: str, source: str) -> None:
    """Decisions by outcome: own EMF blob, because its dimensions differ from the request's."""
    # /metrics counts even where EMF is off (locally), so the console's Operations view has them.
    DECISION_METRICS.observe(outcome)
    if not _emf_enabled:
        return
    with single_metric(name="Decisions", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="outcome", value=outcome)
        metric.add_dimension(name="source", value=source)
