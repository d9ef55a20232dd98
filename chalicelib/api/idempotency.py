"""``Idempotency-Key`` on POST /v1/decisions and POST /v1/applications (Powertools Idempotency).

With the header, the operation runs through ``idempotent_function`` backed by the DynamoDB table
``IDEMPOTENCY_TABLE`` (partition key ``id``, TTL ``expiration``, ``resources.IDEMPOTENCY_TTL_SECONDS``):

- same key, same body (and route)   -> the first response again, same ids; header
  ``Idempotent-Replayed: true``;
- same key, different body          -> 422 ``idempotency_key_reused`` (``payload_validation_jmespath``);
- same key while the first is still running -> 409 ``idempotency_key_in_progress``;
- an error response (400, 503) is not remembered: the key can be retried.

The key is scoped by route: one key used on both endpoints names two different requests. When the
idempotency table cannot be reached, a decision is still made without the guarantee (it is
read-only apart from its log record; the response then says ``"stored": false``), whereas an
asynchronous submit answers 503, because queueing without the guarantee could create a duplicate.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from chalicelib import resources
from chalicelib.api.errors import ApiError, dependency_unavailable
from chalicelib.config import get_settings
from chalicelib.dal import clients
from chalicelib.observability import logger

IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# The first request with the key normally finishes within milliseconds.
IN_PROGRESS_RETRY_AFTER_SECONDS = 1

Operation = Callable[[Any], dict[str, Any]]
_operations: dict[str, Operation] = {}
# Set by the response hook when Powertools returns a stored response (per thread: chalice local
# serves requests on threads; Lambda runs one request per process at a time).
_replayed = threading.local()
# The operation's result in this thread, set once it has run: Powertools raises the same
# IdempotencyPersistenceLayerError before the operation (store unreachable) and after it (success
# not saved). After it, the work is done (a decision stored, an application queued): answer with
# it rather than 503 (the client would retry and create a duplicate) or running it a second time.
_completed = threading.local()


def register(route: str, operation: Operation) -> None:
    """Make ``operation(payload) -> response body`` callable idempotently under ``route``."""
    _operations[route] = operation


def _mark_replayed(response: Any, idempotent_data: Any) -> Any:
    _replayed.value = True
    return response


@functools.cache
def _idempotent_executor() -> Callable[..., dict[str, Any]]:
    """The decorated executor, built on first use (the persistence layer creates a boto3 client)."""
    # Imported on first use: requests without an Idempotency-Key never pay for the utility.
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[route, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=resources.IDEMPOTENCY_TTL_SECONDS,
        response_hook=_mark_replayed,
    )
    store = DynamoDBPersistenceLayer(
        table_name=get_settings().idempotency_table,
        key_attr=resources.IDEMPOTENCY_TABLE.partition_key,
        expiry_attr=resources.IDEMPOTENCY_TABLE.ttl_attribute or "expiration",
        boto3_client=clients.dynamodb_client(),
    )

    @idempotent_function(
        data_keyword_argument="request", config=config, persistence_store=store, key_prefix="loan-decisions"
    )
    def execute(request: dict[str, Any]) -> dict[str, Any]:
        result = _operations[request["route"]](request["body"])
        _completed.value = result
        return result

    execute.config = config  # type: ignore[attr-defined]
    return execute


def reset() -> None:
    """Forget the persistence layer (tests: a new moto mock or endpoint)."""
    _idempotent_executor.cache_clear()


def _checked_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-255 printable characters",
            [{"field": "Idempotency-Key", "problem": f"1..{MAX_KEY_LENGTH} printable characters"}],
        )
    return key


def run(
    route: str, key: str | None, payload: Any, lambda_context: Any, *, degrade_without_store: bool
) -> tuple[dict[str, Any], bool]:
    """The response body for ``payload`` on ``route`` and whether it is a replay.

    ``degrade_without_store``: when the idempotency table is unreachable, run the operation anyway
    (True) or answer 503 (False).
    """
    operation = _operations[route]
    if key is None:
        return operation(payload), False
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    request = {"route": route, "key": _checked_key(key), "body": payload}
    executor = _idempotent_executor()
    if lambda_context is not None:
        executor.config.register_lambda_context(lambda_context)  # type: ignore[attr-defined]
    _replayed.value = False
    _completed.value = None
    try:
        body = executor(request=request)
    except IdempotencyValidationError:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
            [{"field": "Idempotency-Key", "problem": "already used with a different body"}],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise ApiError(
            409,
            "idempotency_key_in_progress",
            "a request with this Idempotency-Key is still being processed",
            [{"field": "Idempotency-Key", "problem": "request in progress"}],
            {"Retry-After": str(IN_PROGRESS_RETRY_AFTER_SECONDS)},
        ) from None
    except IdempotencyPersistenceLayerError:
        if _completed.value is not None:
            # The key stays INPROGRESS until it expires: a retry gets 409, never a second run.
            logger.warning("idempotency record not saved after the operation ran", extra={"route": route})
            return _completed.value, False
        logger.warning("idempotency store unavailable", extra={"route": route})
        if not degrade_without_store:
            raise dependency_unavailable("dynamodb") from None
        return operation(payload), False
    return body, bool(getattr(_replayed, "value", False))
