"""Shared fixtures. In-process tests run the app on the in-memory twin of the DAL
(``devstack.in_memory``); the DAL's own tests (and a few that need DynamoDB's behaviour) use moto
in-process with resources created from chalicelib/resources.py.

The environment is set before anything imports botocore or the app: fake credentials, the ``local``
stage (whose table/queue names ``.chalice/config.json`` also uses) and no endpoint override, so
moto's in-process mock (not a real endpoint) answers every AWS call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Before any botocore session exists: moto adds its request interceptor to botocore's built-in
# handlers when imported, and a session (the app makes its clients at import) only has the
# handlers that existed when it was created.
import moto  # noqa: F401
import pytest

from chalicelib import resources  # pure data: no AWS client, no environment read

PROJECT_DIR = Path(__file__).resolve().parents[1]
UNIT_STAGE = "local"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "STAGE": UNIT_STAGE,
        "POWERTOOLS_SERVICE_NAME": resources.SERVICE,
        "POWERTOOLS_METRICS_NAMESPACE": resources.METRICS_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
        # In-process tests exercise the app, not the gateway in front of it: the local stage's API
        # key/throttle emulation (devstack.gateway) is off here; tests/unit/devstack turns it on.
        "LOCAL_GATEWAY_EMULATION": "off",
    }
)
for _variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
    os.environ.pop(_variable, None)


def _stage_variables() -> dict[str, str]:
    from devstack.stage_env import stage_variables

    return stage_variables(UNIT_STAGE)


# The local stage's variables (LOCAL_EDGE_MODULE among them) before app.py is imported, as
# ``chalice local`` sets them.
for _name, _value in _stage_variables().items():
    os.environ.setdefault(_name, _value)


@pytest.fixture
def memory() -> Iterator[Any]:
    """The app's dependencies replaced by the in-memory twin (store, queue, idempotency)."""
    from chalicelib.service import dependencies
    from devstack.in_memory import InMemoryDependencies

    twin = InMemoryDependencies()
    dependencies.use(twin)
    yield twin
    dependencies.use(None)


@pytest.fixture
def aws() -> Iterator[Any]:
    """moto in-process with the stage's tables and queues; the app's dependencies on it."""
    from moto import mock_aws

    from chalicelib.service import dependencies
    from devstack.bootstrap import create_tables_and_queues

    with mock_aws():
        deps = dependencies.Dependencies.from_environment()
        create_tables_and_queues(UNIT_STAGE, deps.aws_clients["dynamodb"], deps.aws_clients["sqs"])
        dependencies.use(deps)
        yield deps
        dependencies.use(None)


@pytest.fixture
def chalice_client(memory: Any) -> Iterator[Any]:
    """chalice.test.Client on app.py with the ``local`` stage's environment, on the in-memory twin."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name=UNIT_STAGE, project_dir=str(PROJECT_DIR)) as client:
        yield client


@pytest.fixture
def aws_client(aws: Any) -> Iterator[Any]:
    """chalice.test.Client on app.py over moto in-process."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name=UNIT_STAGE, project_dir=str(PROJECT_DIR)) as client:
        yield client


@pytest.fixture
def application() -> dict[str, Any]:
    from tests.support.samples import application_row

    return application_row(0)


@pytest.fixture
def other_application() -> dict[str, Any]:
    from tests.support.samples import application_row

    return application_row(1)


@pytest.fixture
def gateway_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local stage's gateway emulation (API keys, throttles) switched on, fresh counters."""
    from devstack.gateway import reset_local_gateway

    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "on")
    monkeypatch.delenv("LOCAL_API_KEYS", raising=False)
    reset_local_gateway()
    yield
    reset_local_gateway()
