"""The local reconciler: what the Lambda schedule (``@app.schedule``) does, for ``chalice local``.

``python -m devstack.reconciler_timer --every SECONDS`` invokes the SAME handler Lambda runs
(``app.reconcile_pending_applications``, Chalice's schedule wrapper, middleware included) with a
scheduled-event payload and a Lambda context, every SECONDS, until SIGTERM/SIGINT. A run that
raises is logged and the timer goes on (the next scheduled run is the retry, as in AWS).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
import uuid
from typing import Any

from chalicelib import resources
from devstack.lambda_events import LOCAL_ACCOUNT_ID, LocalLambdaContext

log = logging.getLogger("devstack.reconciler_timer")


def scheduled_event(region: str) -> dict[str, Any]:
    """An EventBridge scheduled event, as Lambda receives it from a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/local-reconcile"],
        "detail": {},
    }


def run(every_seconds: float, stage: str, region: str, stop: threading.Event) -> None:
    import app

    handler = getattr(app, resources.RECONCILER_FUNCTION.chalice_name)
    name = f"{resources.SERVICE}-{stage}-{resources.RECONCILER_FUNCTION.chalice_name}"
    while not stop.wait(every_seconds):
        context = LocalLambdaContext(
            function_name=name,
            region=region,
            memory_limit_in_mb=resources.RECONCILER_FUNCTION.memory_mb,
            timeout_seconds=resources.RECONCILER_FUNCTION.timeout_seconds,
        )
        try:
            result = handler(scheduled_event(region), context)
        except Exception:  # the next run retries; the log says what broke
            log.exception("reconciler run failed")
            continue
        if result.get("requeued") or result.get("failed"):
            log.info("reconciler: %s", result)


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=resources.RECONCILE_EVERY_MINUTES * 60.0)
    parser.add_argument("--stage", default="local")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or resources.LOCAL_REGION
    log.info("reconciling every %.1f s (stage %s)", args.every, args.stage)
    run(args.every, args.stage, region, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
