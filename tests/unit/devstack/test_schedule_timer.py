"""The local schedule timer (reconciler and monitoring): each run gets a scheduled event and a Lambda
context named as the deployed function; a run that raises is logged and the next run goes on."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from chalicelib import resources
from devstack.lambda_events import LocalLambdaContext
from devstack.schedule_timer import run_every


def test_a_failed_run_is_logged_and_the_next_run_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    spec = resources.RECONCILER_FUNCTION
    stop = threading.Event()
    calls: list[tuple[dict[str, Any], LocalLambdaContext]] = []
    results: list[Any] = []

    def handler(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, int]:
        calls.append((event, context))
        if len(calls) == 1:
            raise RuntimeError("the first run breaks")
        stop.set()
        return {"run": len(calls)}

    with caplog.at_level(logging.ERROR):
        run_every(
            0.0,
            spec,
            handler,
            stage="local",
            region="eu-west-1",
            stop=stop,
            on_result=results.append,
            log=logging.getLogger("test.schedule_timer"),
        )

    assert results == [{"run": 2}]
    assert [r.getMessage() for r in caplog.records] == [f"{spec.chalice_name} run failed"]
    event, context = calls[1]
    assert event["detail-type"] == "Scheduled Event"
    assert event["region"] == "eu-west-1"
    assert event["resources"][0].endswith(f":rule/local-{spec.chalice_name}")
    assert context.function_name == f"{resources.SERVICE}-local-{spec.chalice_name}"
    assert context.memory_limit_in_mb == spec.memory_mb


def test_no_run_once_stopped() -> None:
    stop = threading.Event()
    stop.set()
    calls: list[object] = []
    run_every(
        0.0,
        resources.MONITOR_FUNCTION,
        lambda event, context: calls.append(event),
        stage="local",
        region="eu-west-1",
        stop=stop,
        on_result=calls.append,
        log=logging.getLogger("test.schedule_timer"),
    )
    assert calls == []
