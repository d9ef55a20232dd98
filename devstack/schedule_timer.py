"""A schedule (``@app.schedule``) run locally: the timer both devstack.reconciler_timer and
devstack.monitoring_timer run.

Every SECONDS until the stop event is set, it invokes the SAME handler Lambda runs (the app's
function, Chalice's schedule wrapper, middleware included) with a scheduled-event payload and a
Lambda context. A run that raises is logged and the timer goes on: the next run is the retry, as in
AWS.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable
from typing import Any

from chalicelib import resources
from chalicelib.resources import FunctionSpec
from devstack.lambda_events import LOCAL_ACCOUNT_ID, LocalLambdaContext

Handler = Callable[[dict[str, Any], LocalLambdaContext], Any]


def scheduled_event(region: str, rule: str) -> dict[str, Any]:
    """An EventBridge scheduled event, as Lambda receives it from a schedule rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


def app_handler(spec: FunctionSpec) -> Handler:
    """The app's function for ``spec``, imported when the timer starts (not when this module is)."""
    import app

    handler: Handler = getattr(app, spec.chalice_name)
    return handler


def run_every(
    every_seconds: float,
    spec: FunctionSpec,
    handler: Handler,
    *,
    stage: str,
    region: str,
    stop: threading.Event,
    on_result: Callable[[Any], None],
    log: logging.Logger,
) -> None:
    """Invoke ``handler`` as ``spec``'s Lambda every ``every_seconds`` until ``stop`` is set."""
    name = f"{resources.SERVICE}-{stage}-{spec.chalice_name}"
    while not stop.wait(every_seconds):
        context = LocalLambdaContext(
            function_name=name,
            region=region,
            memory_limit_in_mb=spec.memory_mb,
            timeout_seconds=spec.timeout_seconds,
        )
        try:
            result = handler(scheduled_event(region, f"local-{spec.chalice_name}"), context)
        except Exception:  # the next run retries; the log says what broke
            log.exception("%s run failed", spec.chalice_name)
            continue
        on_result(result)


def serve(
    spec: FunctionSpec,
    every_seconds: float,
    stage: str,
    on_result: Callable[[Any], None],
    log: logging.Logger,
) -> None:
    """``run_every`` with the app's handler, in this machine's region, until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or resources.LOCAL_REGION
    log.info("%s every %.1f s (stage %s)", spec.chalice_name, every_seconds, stage)
    run_every(
        every_seconds,
        spec,
        app_handler(spec),
        stage=stage,
        region=region,
        stop=stop,
        on_result=on_result,
        log=log,
    )
