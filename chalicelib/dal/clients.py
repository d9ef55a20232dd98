"""AWS clients (botocore, the core of boto3) with the service's timeouts and retries.

Short timeouts and few retries so that an outage of DynamoDB or SQS turns into a fast, well-formed
answer (cache bypassed, 503 + Retry-After) instead of a Lambda timeout. ``AWS_ENDPOINT_URL`` (and
the service-specific ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SQS``) is read by botocore
itself, which is how the local stack points the service at moto or LocalStack.
"""

from __future__ import annotations

import functools
import os
import threading
from typing import TYPE_CHECKING, Literal, cast, overload

from chalicelib import resources

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.config import Config
    from botocore.loaders import Loader
    from botocore.session import Session
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient


@functools.cache
def client_config() -> Config:
    from botocore.config import Config

    override = os.environ.get(resources.SDK_READ_TIMEOUT_ENV)
    return Config(
        connect_timeout=1,
        read_timeout=float(override) if override else resources.SDK_READ_TIMEOUT_SECONDS,
        retries={"max_attempts": 2, "mode": "standard"},
        max_pool_connections=50,
    )


# Every service this app makes a client for (make_client's overloads and the S3 clients).
SERVICES = ("dynamodb", "events", "kms", "s3", "sqs")


@functools.cache
def _session() -> Session:
    # botocore's session rather than boto3's: only low-level clients are used, which
    # ``boto3.Session.client`` creates with exactly this ``create_client`` call, and ``import boto3``
    # adds s3transfer, concurrent.futures and multiprocessing (~15 ms of a cold start) for nothing.
    import botocore.session

    session = botocore.session.Session()
    session.register_component("data_loader", _services_loader(session.get_config_variable("data_path")))
    return session


def _services_loader(data_path: str | None) -> Loader:
    """botocore's model loader (the same search path as ``botocore.loaders.create_loader`` gives the
    session), knowing only :data:`SERVICES`. Before loading a model botocore checks that the service
    exists against ``list_available_services``, which lists all ~450 service folders of its data,
    once for the service model and once for the endpoint rules: about 18 ms of every cold start
    (measured here; botocore PR #3687 removes the check from client creation upstream). Here the
    check asks only this app's services, each one folder listing (``list_api_versions``, the same
    test the full listing applies to every folder); another service is UnknownServiceError."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import Loader

    class ServicesLoader(Loader):
        def list_available_services(self, type_name: str) -> list[str]:
            available = []
            for service in SERVICES:
                try:
                    self.list_api_versions(service, type_name)
                except DataNotFoundError:
                    continue
                available.append(service)
            return available

    extra = (
        [os.path.expanduser(os.path.expandvars(path)) for path in data_path.split(os.pathsep)]
        if data_path
        else None
    )
    return ServicesLoader(extra_search_paths=extra)


@overload
def make_client(service: Literal["dynamodb"], region: str) -> DynamoDBClient: ...
@overload
def make_client(service: Literal["sqs"], region: str) -> SQSClient: ...
@overload
def make_client(service: Literal["events"], region: str) -> EventBridgeClient: ...
@overload
def make_client(service: Literal["s3"], region: str) -> S3Client: ...
@overload
def make_client(service: Literal["kms"], region: str) -> KMSClient: ...  # webhook secrets
def make_client(service: str, region: str) -> BaseClient:
    """A new low-level client (thread-safe: one per service serves the whole process)."""
    return _session().create_client(service, region_name=region, config=client_config())


class _ClientOnFirstUse:
    """Stands in for a client until something on it is used, then makes it (once, under a lock)."""

    def __init__(self, service: str, region: str) -> None:
        self._service = service
        self._region = region
        self._lock = threading.Lock()
        self._client: BaseClient | None = None

    def __getattr__(self, name: str) -> object:
        # Only for names the stand-in lacks: the client's operations, ``meta``, ``exceptions``.
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(self._service, self._region)  # type: ignore[call-overload]
        return getattr(self._client, name)


def sqs_client_on_first_use(region: str) -> SQSClient:
    """The SQS client, made when the process first sends or receives (an async application, a
    webhook test delivery, a batch or monitoring fan-out), not in Lambda's init phase: a synchronous
    decision never uses SQS, and each client made at init is ~15-20 ms of every cold start
    (bench/bench_cold_start.py)."""
    return cast("SQSClient", _ClientOnFirstUse("sqs", region))
