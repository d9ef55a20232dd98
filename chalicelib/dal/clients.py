"""boto3 clients, made once per process and only when first used.

Short timeouts and few retries so that an outage of DynamoDB or SQS turns into a fast, well-formed
answer (cache bypassed, 503 + Retry-After) instead of a Lambda timeout. ``AWS_ENDPOINT_URL`` (and
the service-specific ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SQS``) is read by boto3
itself (since 1.28), which is how the local stack points the service at moto or LocalStack.
"""

from __future__ import annotations

import functools
from typing import Any

from botocore.config import Config

from chalicelib.config import get_settings

CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"max_attempts": 2, "mode": "standard"},
    max_pool_connections=50,
)


@functools.cache
def _session() -> Any:
    import boto3  # imported lazily: ~0.2 s that health/live requests never pay

    return boto3.session.Session(region_name=get_settings().region)


@functools.cache
def dynamodb_client() -> Any:
    return _session().client("dynamodb", config=CLIENT_CONFIG)


@functools.cache
def sqs_client() -> Any:
    return _session().client("sqs", config=CLIENT_CONFIG)


def reset() -> None:
    """Forget the clients (tests: new moto mock, changed environment)."""
    _session.cache_clear()
    dynamodb_client.cache_clear()
    sqs_client.cache_clear()
