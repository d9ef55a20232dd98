"""Signing per Standard Webhooks, checked with the reference library; the retry schedule; addresses."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib import webhook_signing as signing

BODY = json.dumps({"type": "decision.made", "data": {"decision_id": "d-1"}}).encode()


def test_a_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = signing.new_secret(), signing.new_secret()
    assert first.startswith("whsec_") and second.startswith("whsec_") and first != second
    assert len(signing._key(first)) == 32


def test_the_reference_library_verifies_our_headers() -> None:
    secret = signing.new_secret()
    headers = signing.delivery_headers([secret], "msg_1", int(time.time()), BODY)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_a_changed_body_or_another_secret_fails_verification() -> None:
    secret = signing.new_secret()
    headers = signing.delivery_headers([secret], "msg_1", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


def test_during_a_rotation_both_secrets_verify() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    headers = signing.delivery_headers([new, old], "msg_2", int(time.time()), BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_an_old_timestamp_is_refused_by_the_receiver() -> None:
    secret = signing.new_secret()
    headers = signing.delivery_headers([secret], "msg_3", int(time.time()) - 3600, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def _schedule(pick: str) -> list[float]:
    def uniform(low: float, high: float) -> float:
        return low if pick == "low" else high

    waits = []
    attempt = 1
    while (wait := signing.retry_wait(attempt, 1.0, uniform)) is not None:
        waits.append(wait)
        attempt += 1
    return waits


def test_the_first_retry_comes_within_a_minute_and_retries_span_over_24_hours() -> None:
    for pick in ("low", "high"):
        waits = _schedule(pick)
        assert len(waits) == signing.ATTEMPTS - 1
        assert waits[0] <= 60
        assert sum(waits) >= 24 * 3600
    assert all(wait > 0 for wait in _schedule("low"))


def test_the_schedule_scales_for_tests() -> None:
    assert signing.retry_wait(2, 0.01, lambda low, high: (low + high) / 2) == pytest.approx(3.0)
    assert signing.retry_wait(signing.ATTEMPTS, 1.0, lambda low, high: low) is None


@pytest.mark.parametrize(
    ("address", "loopback_allowed", "refused"),
    [
        ("93.184.216.34", False, False),
        ("2606:2800:220:1:248:1893:25c8:1946", False, False),
        ("127.0.0.1", False, True),
        ("127.0.0.1", True, False),
        ("::1", True, False),
        ("10.1.2.3", True, True),
        ("172.16.0.1", False, True),
        ("192.168.1.1", False, True),
        ("169.254.169.254", True, True),  # the instance metadata address
        ("fe80::1", False, True),
        ("::ffff:10.0.0.1", False, True),  # IPv4-mapped private
        ("100.64.0.1", False, True),  # carrier-grade NAT
        ("0.0.0.0", True, True),
        ("224.0.0.1", False, True),
    ],
)
def test_only_public_addresses_and_locally_loopback(
    address: str, loopback_allowed: bool, refused: bool
) -> None:
    assert (signing.address_problem(address, loopback_allowed) is not None) is refused
