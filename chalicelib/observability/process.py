"""This process's resource use: memory against the Lambda limit, CPU since the instance started."""

from __future__ import annotations

import os
import resource
import sys
import time

_STARTED_WALL = time.monotonic()
_STARTED_CPU = time.process_time()


def peak_memory_mb() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS): the peak resident memory of this process, which is
    # what Lambda's "Max Memory Used" reports too.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def memory_limit_mb(lambda_context: object) -> int | None:
    limit = getattr(lambda_context, "memory_limit_in_mb", None) or os.environ.get(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
    )
    return int(limit) if limit else None


def cpu_percent_since_start() -> float:
    """Average CPU use of this instance since it started (Lambda has no other meaningful CPU figure)."""
    wall = time.monotonic() - _STARTED_WALL
    return 100.0 * (time.process_time() - _STARTED_CPU) / wall if wall > 0 else 0.0
