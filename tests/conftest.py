"""Shared fixtures: AWS faked in-process with moto, resources created from chalicelib/resources.py.

The environment is set before anything imports boto3 or the app: fake credentials, the ``local``
stage (whose table/queue names ``.chalice/config.json`` also uses) and no endpoint override, so
moto's in-process mock (not a real endpoint) answers every call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
UNIT_STAGE = "local"

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "STAGE": UNIT_STAGE,
        "POWERTOOLS_SERVICE_NAME": "loan-decisions",
        "POWERTOOLS_METRICS_NAMESPACE": "LoanDecisions",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # In-process tests exercise the app, not the gateway in front of it: the local stage's API
        # key/throttle emulation (chalicelib/edge) is off here; tests/unit/edge turns it on.
        "LOCAL_GATEWAY_EMULATION": "off",
    }
)
for _variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
    os.environ.pop(_variable, None)


def reset_aws_state() -> None:
    """Forget cached settings, boto3 clients and DAL objects (each test gets a fresh moto)."""
    from chalicelib import dal
    from chalicelib.api import idempotency
    from chalicelib.config import get_settings
    from chalicelib.dal import clients

    get_settings.cache_clear()
    clients.reset()
    dal.use()
    idempotency.reset()


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto in-process with the stage's tables and queues; yields the bootstrap result."""
    from moto import mock_aws

    from chalicelib.dal import bootstrap, clients

    with mock_aws():
        reset_aws_state()
        yield bootstrap.create_tables_and_queues(UNIT_STAGE, clients.dynamodb_client(), clients.sqs_client())
        reset_aws_state()


@pytest.fixture
def chalice_client(aws: dict[str, Any]) -> Any:
    """chalice.test.Client on app.py with the ``local`` stage's environment, over moto."""
    from chalice.test import Client

    from app import app

    with Client(app, stage_name=UNIT_STAGE, project_dir=str(PROJECT_DIR)) as client:
        yield client
