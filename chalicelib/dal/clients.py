"""AWS clients (botocore, the core of boto3), made once per process and only when first used.

Short timeouts and few retries so that an outage of DynamoDB or SQS turns into a fast, well-formed
answer (cache bypassed, 503 + Retry-After) instead of a Lambda timeout. ``AWS_ENDPOINT_URL`` (and
the service-specific ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SQS``) is read by botocore
itself (boto3 1.28+), which is how the local stack points the service at moto or LocalStack.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from chalicelib.config import get_settings

if TYPE_CHECKING:
    from botocore.config import Config


@functools.cache
def client_config() -> Config:
    # Built on first use, not at import: ``botocore.config`` pulls in most of botocore (~60-100 ms,
    # a third of ``import app``), which routes that make no AWS call (/health/live, eligibility,
    # /openapi.json) should not pay on a cold start. The first DynamoDB/SQS call imports it anyway.
    from botocore.config import Config

    return Config(
        connect_timeout=1,
        read_timeout=2,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=50,
    )


def __getattr__(name: str) -> Any:
    # ``CLIENT_CONFIG`` stays importable (tests build their own clients with it), made on first access.
    if name == "CLIENT_CONFIG":
        return client_config()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _session() -> Any:
    # Imported lazily: ~0.2 s that health/live requests never pay. botocore's session rather than
    # boto3's: only low-level clients are used, which ``boto3.Session.client`` creates with exactly
    # this ``create_client`` call, and ``import boto3`` adds s3transfer, concurrent.futures and
    # multiprocessing (~15 ms of every cold start that makes a DynamoDB call) that nothing here uses.
    import botocore.session

    return botocore.session.Session()


def _client(service: str) -> Any:
    return _session().create_client(service, region_name=get_settings().region, config=client_config())


@functools.cache
def dynamodb_client() -> Any:
    return _client("dynamodb")


@functools.cache
def sqs_client() -> Any:
    return _client("sqs")


def reset() -> None:
    """Forget the clients (tests: new moto mock, changed environment)."""
    _session.cache_clear()
    dynamodb_client.cache_clear()
    sqs_client.cache_clear()
