"""Fixtures for the API unit tests (helpers in api_test_support.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from api_test_support import closed_port

from tests.sample_applicants import application_row


@pytest.fixture
def application() -> dict[str, Any]:
    return application_row(0)


@pytest.fixture
def other_application() -> dict[str, Any]:
    return application_row(1)


@pytest.fixture
def unreachable_client() -> Callable[[str], Any]:
    """A boto3 client for ``service`` pointed at a closed local port: an AWS outage, for real."""
    import boto3

    from chalicelib.dal.clients import CLIENT_CONFIG

    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=f"http://127.0.0.1:{closed_port()}",
            region_name="us-east-1",
            config=CLIENT_CONFIG,
        )

    return make


@pytest.fixture(autouse=True)
def without_gateway_emulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests exercise the service; the local stage's API-key/throttle emulation
    (chalicelib/edge, tested in tests/unit/edge) would otherwise ask every request for a key."""
    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "off")
