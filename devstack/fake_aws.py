"""The one fake AWS environment for in-process tests and benchmarks (local-only: never deployed).

``install_environment()`` sets what the app reads at import, before botocore or the app is imported:
fake credentials, the ``local`` stage and its variables (as ``chalice local`` sets them), the local
region, and no endpoint override, so moto's in-process mock (not a server) answers every AWS call.
``moto_dependencies()`` then runs the app on moto in-process with the stage's tables and queues,
and hands out the botocore clients behind it (``MotoDependencies.aws_clients``), which tests read
and benchmarks instrument. ``tests/conftest.py`` and ``bench/`` both use it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import resources
from chalicelib.service.dependencies import Dependencies

STAGE = "local"
# Variables that would send calls to a real endpoint (or a real account) instead of the mock.
ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE")


def install_environment() -> None:
    """This process's environment for the app on moto in-process (idempotent)."""
    # Before any botocore session exists: moto adds its request interceptor to botocore's built-in
    # handlers when imported, and a session (the app makes its clients at import) only has the
    # handlers that existed when it was created.
    import moto  # noqa: F401

    from devstack.stage_env import FAKE_CREDENTIALS, stage_variables

    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": resources.LOCAL_REGION,
            "STAGE": STAGE,
            "POWERTOOLS_SERVICE_NAME": resources.SERVICE,
            "POWERTOOLS_METRICS_NAMESPACE": resources.METRICS_NAMESPACE,
            "POWERTOOLS_TRACE_DISABLED": "true",
            # In-process runs exercise the app, not the gateway in front of it: the local stage's
            # API key/throttle emulation (devstack.gateway) is off; a test may turn it on.
            "LOCAL_GATEWAY_EMULATION": "off",
        }
    )
    for variable in ENDPOINT_VARIABLES:
        os.environ.pop(variable, None)
    for name, value in stage_variables(STAGE).items():
        os.environ.setdefault(name, value)


class MotoDependencies(Dependencies):
    """The app's dependencies on moto in-process, with the botocore clients behind them by service
    name (production has no use for them; tests read tables through them, benches count calls)."""

    aws_clients: dict[str, Any]


@contextmanager
def _dynamodb_one_request_at_a_time() -> Iterator[None]:
    """moto in-process answers DynamoDB one request at a time, as ``devstack.moto_server`` does for
    the moto server and for the same reason: moto checks a write's condition and then writes without
    a lock, so of two concurrent conditional writes on one item both could succeed, where DynamoDB
    lets exactly one (a test of two concurrent promotions saw both win on a loaded machine)."""
    from moto.core.botocore_stubber import BotocoreStubber

    from devstack.moto_server import DYNAMODB_TARGET_PREFIX

    unpatched = BotocoreStubber.process_request
    lock = threading.Lock()

    def process_request(stubber: BotocoreStubber, request: Any) -> Any:
        target = request.headers.get("X-Amz-Target") or b""  # botocore's signed headers are bytes
        if not (target if isinstance(target, str) else target.decode()).startswith(DYNAMODB_TARGET_PREFIX):
            return unpatched(stubber, request)
        with lock:
            return unpatched(stubber, request)

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        BotocoreStubber.process_request = unpatched  # type: ignore[method-assign]


@contextmanager
def noon_where_the_lender_is() -> Iterator[None]:
    """Decisions made meanwhile are made at noon in the lender's time zone. Between 01:00 and 05:00
    there the packaged policy flags every submission (FRD-ODD-HOURS, low): a test or bench deciding at
    the wall clock's time would see the flag, an event and a log line only when it ran at night
    in India (19:30-23:30 UTC)."""
    from chalicelib.engine import fraud

    by_the_clock = fraud.local_hour

    def noon(now: int, utc_offset_minutes: int) -> int:
        return 12

    fraud.local_hour = noon
    try:
        yield
    finally:
        fraud.local_hour = by_the_clock


@contextmanager
def moto_dependencies() -> Iterator[MotoDependencies]:
    """moto in-process with the stage's tables and queues; the app's dependencies on it meanwhile."""
    from moto import mock_aws

    from chalicelib.config import load_settings
    from chalicelib.dal.clients import make_client
    from chalicelib.service import dependencies
    from devstack.bootstrap import create_tables_and_queues

    with mock_aws(), _dynamodb_one_request_at_a_time():
        settings = load_settings()
        dynamodb = make_client("dynamodb", settings.region)
        sqs = make_client("sqs", settings.region)
        events = make_client("events", settings.region)
        fake = MotoDependencies.from_clients(settings, dynamodb, sqs, events)
        fake.aws_clients = {"dynamodb": dynamodb, "sqs": sqs, "events": events}
        clients = fake.aws_clients
        # With the decision-events bus: a decision publishes its event as it does on AWS.
        create_tables_and_queues(STAGE, clients["dynamodb"], clients["sqs"], clients["events"])
        dependencies.use(fake)
        try:
            yield fake
        finally:
            dependencies.use(None)
