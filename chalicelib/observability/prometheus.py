"""The counters behind ``GET /metrics``: this process's requests in Prometheus text format (0.0.4).

PER INSTANCE: on Lambda every execution environment has its own counters, which start at zero on
cold start and vanish when the environment is recycled, so a scrape shows one instance only.
Fleet-wide figures come from the EMF metrics in CloudWatch (``chalicelib/observability.py``).
Under ``chalice local`` there is one process, so the figures are complete there.

The names are the original system's, so existing dashboards keep working; unlike the original,
the latency histogram has buckets, so quantile alerts can fire.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import Counter

from chalicelib.observability import process

# Upper bounds in seconds (Prometheus client defaults), +Inf is implicit.
DURATION_BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    7.5,
    10.0,
)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class RequestMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # chalice local serves requests on threads
        self.requests_total = 0
        self.by_status: Counter[int] = Counter()
        self.bucket_counts = [0] * len(DURATION_BUCKETS)
        self.duration_sum = 0.0
        self.started_at = time.time()

    def observe(self, status: int, duration_seconds: float) -> None:
        with self._lock:
            self.requests_total += 1
            self.by_status[status] += 1
            self.duration_sum += duration_seconds
            index = bisect.bisect_left(DURATION_BUCKETS, duration_seconds)
            if index < len(DURATION_BUCKETS):
                self.bucket_counts[index] += 1

    def render(self, memory_limit_mb: int | None = None) -> str:
        with self._lock:
            lines = [
                "# HELP loan_api_requests_total Requests served by this instance.",
                "# TYPE loan_api_requests_total counter",
                f"loan_api_requests_total {self.requests_total}",
                "# HELP loan_api_requests_by_status Requests served by this instance, by HTTP status.",
                "# TYPE loan_api_requests_by_status counter",
            ]
            lines += [
                f'loan_api_requests_by_status{{status="{s}"}} {n}' for s, n in sorted(self.by_status.items())
            ]
            lines += [
                "# HELP loan_api_request_duration_seconds Request latency inside the handler, this instance.",
                "# TYPE loan_api_request_duration_seconds histogram",
            ]
            cumulative = 0
            for bound, count in zip(DURATION_BUCKETS, self.bucket_counts, strict=True):
                cumulative += count
                lines.append(f'loan_api_request_duration_seconds_bucket{{le="{bound}"}} {cumulative}')
            lines += [
                f'loan_api_request_duration_seconds_bucket{{le="+Inf"}} {self.requests_total}',
                f"loan_api_request_duration_seconds_sum {self.duration_sum:.6f}",
                f"loan_api_request_duration_seconds_count {self.requests_total}",
                "# HELP loan_api_process_start_time_seconds Start of this instance, epoch seconds.",
                "# TYPE loan_api_process_start_time_seconds gauge",
                f"loan_api_process_start_time_seconds {self.started_at:.3f}",
                "# HELP loan_api_cpu_percent Average CPU use of this instance since it started.",
                "# TYPE loan_api_cpu_percent gauge",
                f"loan_api_cpu_percent {process.cpu_percent_since_start():.3f}",
            ]
            if memory_limit_mb:
                lines += [
                    "# HELP loan_api_memory_percent Peak memory of this instance, % of the Lambda limit.",
                    "# TYPE loan_api_memory_percent gauge",
                    f"loan_api_memory_percent {100.0 * process.peak_memory_mb() / memory_limit_mb:.3f}",
                ]
        return "\n".join(lines) + "\n"


class DecisionMetrics:
    """Decisions by outcome made in this process (the console's Operations view charts them).

    Per process like the rest: the API's synchronous decisions show on its ``/metrics``; the queue
    worker's are counted in the worker's own process (and in the EMF ``Decisions`` metric)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_outcome: Counter[str] = Counter()

    def observe(self, outcome: str) -> None:
        with self._lock:
            self.by_outcome[outcome] += 1

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP loan_decisions_by_outcome Decisions made by this instance, by outcome.",
                "# TYPE loan_decisions_by_outcome counter",
            ]
            lines += [
                f'loan_decisions_by_outcome{{outcome="{o}"}} {n}' for o, n in sorted(self.by_outcome.items())
            ]
        return "\n".join(lines) + "\n"


REQUEST_METRICS = RequestMetrics()
DECISION_METRICS = DecisionMetrics()
