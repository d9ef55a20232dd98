"""Supervision of the local stack's children: backoff figures, restarts of workers, vital deaths.

Real (tiny) child processes stand in for the worker and the API: ``supervise()`` only looks at
whether a child is running, so no moto or chalice is needed here.
"""

from __future__ import annotations

import sys

import pytest

from devstack.processes import Backoff, ManagedProcess, wait_until
from devstack.stack import DevStack, DevStackConfig


def exits_with(code: int, name: str) -> ManagedProcess:
    return ManagedProcess(name, [sys.executable, "-c", f"import sys; sys.exit({code})"], env={})


def sleeps(name: str) -> ManagedProcess:
    return ManagedProcess(name, [sys.executable, "-c", "import time; time.sleep(60)"], env={})


def test_backoff_doubles_to_its_cap_and_resets_after_a_stable_run() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, stable_after=60.0)

    quick_deaths = [backoff.delay_after(ran_for=1.0) for _ in range(9)]
    after_a_stable_run = backoff.delay_after(ran_for=61.0)

    assert quick_deaths == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert after_a_stable_run == 0.5


@pytest.fixture
def stack() -> DevStack:
    return DevStack(DevStackConfig())  # never started: the test puts its own children in


def test_a_dead_worker_is_restarted_and_counted(stack: DevStack, capsys: pytest.CaptureFixture[str]) -> None:
    worker = exits_with(3, "sqs-poller-0")
    stack.workers = [worker]
    try:
        wait_until(
            lambda: stack.supervise() is None and stack.restarts.get("sqs-poller-0", 0) >= 2, 30, "2 restarts"
        )
    finally:
        worker.stop()

    printed = capsys.readouterr().err
    assert "sqs-poller-0 exited with 3" in printed
    assert "restarting in 0.5s" in printed and "restarting in 1.0s" in printed  # the backoff doubled
    assert "sqs-poller-0 restarted (pid" in printed


def test_a_dead_api_is_returned_and_not_restarted(stack: DevStack) -> None:
    api, worker = exits_with(1, "chalice-local"), sleeps("sqs-poller-0")
    stack.api, stack.workers = api, [worker]
    try:
        dead = wait_until(stack.supervise, 30, "the dead API reported")
    finally:
        api.stop()
        worker.stop()

    assert dead is api
    assert stack.restarts == {}


def test_children_stopped_on_purpose_are_left_alone(stack: DevStack) -> None:
    api, worker = sleeps("chalice-local"), sleeps("sqs-poller-0")
    stack.api, stack.workers = api, [worker]
    api.stop()
    worker.stop()

    assert stack.supervise() is None
    assert stack.restarts == {}
    assert not worker.running()
