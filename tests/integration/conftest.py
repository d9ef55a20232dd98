"""Fixtures that start REAL processes on free ports: a moto server, ``chalice local`` and the worker.

Session-scoped so the suite pays the start-up (mostly importing the app) once; every process is
stopped at the end of the session, also when tests fail or the run is interrupted. Child logs go
to pytest's temporary directory; a failing test's report shows the end of each child's log.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.client import ApiClient
from devstack.cognito import DEMO_STAFF, id_token
from devstack.stack import DevStack, DevStackConfig
from tests.support.schemathesis_run import stack_api_keys

# Redelivery after a failure waits for the visibility timeout; the queue's real one (minutes) would
# make a poison message take half an hour to reach the DLQ. Tests only.
TEST_VISIBILITY_TIMEOUT_SECONDS = 2
# The reconciler, on a short timer, takes over PENDING applications this old (tests only; the real
# figure is the queue's visibility timeout x receives). Longer than every receive at the test
# visibility timeout, so it never races the queue for an application the worker can still decide.
TEST_PENDING_MAX_AGE_SECONDS = 20
TEST_RECONCILE_EVERY_SECONDS = 1.0
# The shared stack's AWS SDK read timeout (resources.SDK_READ_TIMEOUT_ENV): moto answers DynamoDB
# one request at a time, so behind test_integration_fraud's burst of 50 decisions on a loaded 2-core
# machine a counter's UpdateItem waited past the deployed 2 s (and 2 retries): FRD-UNCHECKED. The
# stacks that test outages (their own, via start_stack) keep the deployed timeout.
TEST_SDK_READ_TIMEOUT_SECONDS = 10.0
# An already-running AWS endpoint (e.g. LocalStack, see localstack/README.md) for the shared stack
# instead of a moto server of its own. Not AWS_ENDPOINT_URL: tests/conftest.py clears that so that
# in-process moto is never bypassed by a stray endpoint.
EXTERNAL_ENDPOINT_URL = os.environ.get("INTEGRATION_AWS_ENDPOINT_URL") or None
# Every run names its tables, queues, bus and staff pool after a stage of its own (the processes
# still run as stage "local"), so a second run against the same long-lived endpoint, or a run after
# `make run`'s sample curl, starts from an empty cache and empty queues.
RUN_RESOURCE_STAGE = f"local-it{uuid.uuid4().hex[:8]}"
# How long a DLQ scan hides each message it reads: long enough that the scan's later receives move
# past the first ten (a VisibilityTimeout=0 peek returns the same oldest ten every time).
DLQ_SCAN_HIDE_SECONDS = 20


# Figures tests measure (e.g. schemathesis' generated requests): printed in the terminal summary.
MEASURED_FIGURES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if MEASURED_FIGURES:
        terminalreporter.section("figures measured by the integration tests")
        for line in MEASURED_FIGURES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def measured_figures() -> list[str]:
    return MEASURED_FIGURES


# Every stack a fixture started (the outage tests run their own): their logs go into failure reports.
RUNNING_STACKS: list[DevStack] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed:
        for stack in RUNNING_STACKS:
            for process in stack.processes():
                report.sections.append((f"log of {process.name} ({process.log_path})", process.log_tail()))
    return report


@pytest.fixture(scope="session")
def devstack_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("devstack-logs")


@pytest.fixture(scope="session")
def aws_stack(devstack_logs: Path) -> Iterator[DevStack]:
    """The moto server process with the stage's tables and queues (no API, no worker yet)."""
    stack = DevStack(
        DevStackConfig.on_free_ports(
            workers=1,
            visibility_timeout_override=TEST_VISIBILITY_TIMEOUT_SECONDS,
            reconcile_every_seconds=TEST_RECONCILE_EVERY_SECONDS,
            pending_max_age_override=TEST_PENDING_MAX_AGE_SECONDS,
            log_dir=devstack_logs,
            external_endpoint=EXTERNAL_ENDPOINT_URL,
            resource_stage=RUN_RESOURCE_STAGE,
            sdk_read_timeout=TEST_SDK_READ_TIMEOUT_SECONDS,
            local_api_keys=stack_api_keys(),
        )
    )
    RUNNING_STACKS.append(stack)
    try:
        stack.start_aws()
        yield stack
    finally:
        stack.stop()
        RUNNING_STACKS.remove(stack)


@pytest.fixture(scope="session")
def stack(aws_stack: DevStack) -> Iterator[DevStack]:
    """The full local stack: moto server, ``chalice local``, one queue worker, the reconciler."""
    try:
        aws_stack.start_api()
        aws_stack.start_workers()
        aws_stack.start_reconciler()
        yield aws_stack
    finally:
        aws_stack.stop_workers()
        if aws_stack.api is not None:
            aws_stack.api.stop()
            aws_stack.api = None


@pytest.fixture(scope="session")
def api(stack: DevStack) -> ApiClient:
    return ApiClient(stack.api_url, stack.api_headers())


@pytest.fixture(scope="module")
def start_stack(devstack_logs: Path) -> Iterator[Callable[..., DevStack]]:
    """Start a separate full stack for one module (e.g. the outage tests stop its moto servers)."""
    started: list[DevStack] = []

    def start(name: str, **config: Any) -> DevStack:
        stack = DevStack(DevStackConfig.on_free_ports(log_dir=devstack_logs / name, **config))
        started.append(stack)
        RUNNING_STACKS.append(stack)
        return stack.start()

    try:
        yield start
    finally:
        for stack in started:
            stack.stop()
            RUNNING_STACKS.remove(stack)


@pytest.fixture(scope="session")
def sqs(aws_stack: DevStack) -> Any:
    return aws_stack.client("sqs")


@pytest.fixture(scope="session")
def dynamodb(aws_stack: DevStack) -> Any:
    return aws_stack.client("dynamodb")


def take_own_messages(sqs: Any, queue_url: str, is_ours: Callable[[str], bool]) -> list[str]:
    """Receive through the whole queue once and delete (and return the bodies of) our own messages.

    Each receive hides what it returned for DLQ_SCAN_HIDE_SECONDS, so the scan reaches messages past
    the oldest ten however many others are queued; others' messages become visible again after that.
    """
    taken: list[str] = []
    for _ in range(1000):  # bounded: 10,000 messages
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=DLQ_SCAN_HIDE_SECONDS,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            if is_ours(message["Body"]):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                taken.append(message["Body"])
    return taken


@pytest.fixture(scope="session")
def take_from_queue() -> Callable[[Any, str, Callable[[str], bool]], list[str]]:
    """``take_own_messages`` for tests (a fixture: test modules do not import conftest)."""
    return take_own_messages


# ------------------------------------------------------------------------------ staff sign-in
def demo_staff_tokens(stack: DevStack) -> dict[str, str]:
    """An ID token of each demo staff user (devstack.cognito.DEMO_STAFF) from ``stack``'s pool."""
    pool = stack.staff_pool
    if pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP (LocalStack community): no staff sign-in")
    cognito = stack.client("cognito-idp")
    return {user.username: id_token(cognito, pool, user.username, user.password) for user in DEMO_STAFF}


@pytest.fixture(scope="session")
def staff_tokens() -> Callable[[DevStack], dict[str, str]]:
    """``demo_staff_tokens`` for tests (a fixture: test modules do not import conftest)."""
    return demo_staff_tokens
