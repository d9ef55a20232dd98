"""Webhook signing (Standard Webhooks), the retry schedule and the receiver-address rule: pure.

Signing follows the Standard Webhooks specification (https://www.standardwebhooks.com/, "Signature
scheme"): the signed content is ``"{webhook-id}.{webhook-timestamp}.{body}"``, the signature is
``v1,`` + base64(HMAC-SHA256(key, content)) where the key is the base64-decoded part of the
``whsec_...`` secret, and several signatures are separated by spaces (what a rotation uses: old and
new secret both sign for a while). A lender verifies with the reference ``standardwebhooks`` library
in its own language; the tests verify every delivery with the Python one.

We sign with ``hmac``/``hashlib`` rather than ship the reference package in Lambda: signing is these
few lines of the spec, and the package brings an HTTP client and its dependencies (httpx, attrs,
python-dateutil, Deprecated) into a package that ``requirements.txt`` keeps lean.

No AWS, no HTTP, no globals: every layer may use this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Callable, Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # the spec accepts 24-64 bytes
# Seconds between one failed attempt and the next (Svix's schedule, the spec's authors' service):
# the first retry within a minute, the last one 27.6 hours after the first attempt (24.8 h even at
# the lowest jitter).
RETRY_DELAYS_SECONDS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.1  # each wait is drawn from [delay * (1 - JITTER), delay * (1 + JITTER)]
ATTEMPTS = 1 + len(RETRY_DELAYS_SECONDS)


def new_secret(random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A new signing secret, ``whsec_`` + base64 of 32 random bytes (shown to the lender once)."""
    return SECRET_PREFIX + base64.b64encode(random_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a signing secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX) :])


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``id.timestamp.body``."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(signing_secrets: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: one signature per secret, space-separated (a rotation signs with both)."""
    return " ".join(sign(secret, message_id, timestamp, body) for secret in signing_secrets)


def delivery_headers(
    signing_secrets: Iterable[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The request headers of one delivery attempt."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(signing_secrets, message_id, timestamp, body),
    }


def retry_wait(attempt: int, scale: float, uniform: Callable[[float, float], float]) -> float | None:
    """Seconds to wait after failed attempt number ``attempt`` (1-based), or None after the last one.

    ``scale`` shortens the whole schedule (tests, demos); ``uniform(a, b)`` draws the jitter
    (``random.uniform``), which spreads the retries of many deliveries that failed together."""
    if attempt < 1 or attempt >= ATTEMPTS:
        return None
    gap = RETRY_DELAYS_SECONDS[attempt - 1] * scale
    return uniform(gap * (1 - JITTER), gap * (1 + JITTER))


# ---------------------------------------------------------------------------- receiver addresses
def address_problem(address: str, allow_loopback: bool) -> str | None:
    """Why a receiver at ``address`` (an IP) is refused, or None when it may be called.

    Only globally routable addresses are allowed (private, loopback, link-local, multicast, reserved
    and the cloud metadata address are not: no server-side request forgery into the VPC); the local
    stage also allows loopback receivers, and nothing else private."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if allow_loopback else "resolves to a loopback address"
    if not ip.is_global or ip.is_multicast:
        return "resolves to a private, link-local or reserved address"
    return None
