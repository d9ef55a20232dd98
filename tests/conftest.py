"""Shared fixtures. In-process tests run the app on the in-memory twin of the DAL
(``devstack.in_memory``); the DAL's own tests (and a few that need DynamoDB's behaviour) use moto
in-process with resources created from chalicelib/resources.py.

The environment is set before anything imports botocore or the app: fake credentials, the ``local``
stage (whose table/queue names ``.chalice/config.json`` also uses) and no endpoint override, so
moto's in-process mock (not a real endpoint) answers every AWS call.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack import fake_aws

PROJECT_DIR = Path(__file__).resolve().parents[1]
UNIT_STAGE = fake_aws.STAGE

# Before anything imports botocore or the app (see devstack/fake_aws.py).
fake_aws.install_environment()


@pytest.fixture(autouse=True)
def lenders_hour_is_noon(request: pytest.FixtureRequest) -> Iterator[None]:
    """In-process tests decide at noon in the lender's time zone (``fake_aws.noon_where_the_lender_is``:
    eight tests that compared flags or whole decisions failed when run at night in India); the tests
    of the odd-hours rule itself (marker ``lenders_hour_by_the_clock``) pass their own times. The
    integration suite's processes keep the real clock (its assertions allow the flag)."""
    if request.node.get_closest_marker("lenders_hour_by_the_clock"):
        yield
        return
    with fake_aws.noon_where_the_lender_is():
        yield


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
    with fake_aws.moto_dependencies() as deps:
        yield deps


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
