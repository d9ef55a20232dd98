"""Opaque, signed list cursors: the page key DynamoDB returned, bound to the client and the query.

``<base64url(JSON)>.<base64url(HMAC-SHA256)>``: a client cannot read another client's records by
editing a cursor (the signature covers the client id and the query's filters), and a tampered or
foreign cursor is a 400, never a 500 or a silent restart from the first page. The key is derived
from the stage's identity-hash key (``PII_HASH_KEY``), so no second secret is needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping

from chalicelib.errors import ServiceError
from chalicelib.privacy import pii_hash_key
from chalicelib.records import PageKey

_CONTEXT = b"loan-decisions list cursor v1"


def _key() -> bytes:
    return hmac.new(pii_hash_key(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: bytes, client_id: str, query: Mapping[str, str | None]) -> bytes:
    bound = json.dumps({"client": client_id, "query": dict(query)}, sort_keys=True).encode()
    return hmac.new(_key(), payload + b"|" + bound, hashlib.sha256).digest()


def encode(page_key: PageKey | None, client_id: str, query: Mapping[str, str | None]) -> str | None:
    if page_key is None:
        return None
    payload = json.dumps(page_key, sort_keys=True, separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_signature(payload, client_id, query))}"


def invalid_cursor() -> ServiceError:
    return ServiceError(
        400,
        "invalid_cursor",
        "cursor is not one this API issued for this query",
        [{"field": "cursor", "problem": "not a cursor from the previous page of this list"}],
    )


def decode(cursor: str | None, client_id: str, query: Mapping[str, str | None]) -> PageKey | None:
    if cursor is None:
        return None
    try:
        encoded_payload, encoded_signature = cursor.split(".")
        payload, signature = _unb64(encoded_payload), _unb64(encoded_signature)
        page_key = json.loads(payload)
    except (ValueError, TypeError):
        raise invalid_cursor() from None
    if not hmac.compare_digest(signature, _signature(payload, client_id, query)):
        raise invalid_cursor()
    if not isinstance(page_key, dict) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in page_key.items()
    ):
        raise invalid_cursor()
    return page_key
