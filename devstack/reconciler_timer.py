"""The local reconciler: what the Lambda schedule (``@app.schedule``) does, for ``chalice local``.

``python -m devstack.reconciler_timer --every SECONDS`` invokes the SAME handler Lambda runs
(``app.reconcile_pending_applications``, Chalice's schedule wrapper, middleware included) with a
scheduled-event payload and a Lambda context, every SECONDS, until SIGTERM/SIGINT. A run that
raises is logged and the timer goes on (the next scheduled run is the retry, as in AWS).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from chalicelib import resources
from devstack.schedule_timer import serve

log = logging.getLogger("devstack.reconciler_timer")


def log_result(result: dict[str, Any]) -> None:
    if result.get("requeued") or result.get("failed"):
        log.info("reconciler: %s", result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=resources.RECONCILE_EVERY_MINUTES * 60.0)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    serve(resources.RECONCILER_FUNCTION, args.every, args.stage, log_result, log)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
