"""``Idempotency-Key`` on POST /v1/decisions and POST /v1/applications (Powertools Idempotency).

With the header, the operation runs through ``idempotent_function`` backed by the persistence
layer of the current dependencies (DynamoDB in AWS, ``IDEMPOTENCY_TABLE``, TTL
``resources.IDEMPOTENCY_TTL_SECONDS``):

- same key, same body (and route)   -> the first response again, same ids; header
  ``Idempotent-Replayed: true``;
- same key, different body          -> 422 ``idempotency_key_reused`` (``payload_validation_jmespath``);
- same key while the first is still running -> 409 ``idempotency_key_in_progress``;
- an error response (400, 503) is not remembered: the key can be retried.

The key is scoped by client and route: two clients' order numbers never collide (nor does one
client's key reveal another's ids), and one key used on both endpoints names two requests. When the
idempotency table cannot be reached, a decision is still made without the guarantee (it is
read-only apart from its log record; the response then says ``"stored": false``), whereas an
asynchronous submit answers 503, because queueing without the guarantee could create a duplicate.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from chalicelib import resources
from chalicelib.errors import ServiceError, dependency_unavailable
from chalicelib.observability import logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# The first request with the key normally finishes within milliseconds.
IN_PROGRESS_RETRY_AFTER_SECONDS = 1

Operation = Callable[[Any], dict[str, Any]]

# Per request (context variables: chalice local serves requests on threads): the operation the
# executor runs, whether Powertools answered from a stored response, and the operation's result
# once it has run. Powertools raises the same IdempotencyPersistenceLayerError before the operation
# (store unreachable) and after it (success not saved). After it, the work is done (a decision
# stored, an application queued): answer with it rather than 503 (the client would retry and
# create a duplicate) or running it a second time.
_operation: ContextVar[Operation] = ContextVar("idempotent_operation")
_replayed: ContextVar[bool] = ContextVar("idempotent_replayed", default=False)
_completed: ContextVar[dict[str, Any] | None] = ContextVar("idempotent_completed", default=None)

# One decorated executor per persistence layer (Powertools binds the store at decoration time).
_executors: weakref.WeakKeyDictionary[BasePersistenceLayer, Callable[..., dict[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _mark_replayed(response: dict[str, Any], idempotent_data: DataRecord) -> dict[str, Any]:
    _replayed.set(True)
    return response


def _run_operation(request: dict[str, Any]) -> dict[str, Any]:
    result = _operation.get()(request["body"])
    _completed.set(result)
    return result


def _executor(persistence_store: BasePersistenceLayer) -> Callable[..., dict[str, Any]]:
    executor = _executors.get(persistence_store)
    if executor is None:
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        config = IdempotencyConfig(
            event_key_jmespath="[client, route, key]",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=resources.IDEMPOTENCY_TTL_SECONDS,
            response_hook=_mark_replayed,
        )
        executor = idempotent_function(
            data_keyword_argument="request",
            config=config,
            persistence_store=persistence_store,
            key_prefix=resources.SERVICE,
        )(_run_operation)
        executor.config = config
        _executors[persistence_store] = executor
    return executor


def checked_key(key: str) -> str:
    """The key as used (stripped); ServiceError 400 when it is blank, too long or not printable."""
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ServiceError(
            400,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1-255 printable characters",
            [{"field": "Idempotency-Key", "problem": f"1..{MAX_KEY_LENGTH} printable characters"}],
        )
    return key


def run(
    route: str,
    client_id: str,
    key: str | None,
    payload: Any,
    operation: Operation,
    persistence_store: Callable[[], BasePersistenceLayer],
    lambda_context: LambdaContext | None,
    *,
    degrade_without_store: bool,
    validate: Callable[[Any], object] | None = None,
) -> tuple[dict[str, Any], bool]:
    """``operation(payload)``'s response body, run at most once per (route, key); and whether it is
    a replay. ``persistence_store`` is called only when there is a key.

    ``degrade_without_store``: when the idempotency table is unreachable, run the operation anyway
    (True) or answer 503 (False).

    ``validate``: the operation's own input check (raising ServiceError 400), run before the store
    is asked. An invalid body is refused the same either way (the store forgets a key whose run
    raised), but without it each one cost an in-progress record written and deleted again: two
    DynamoDB writes per malformed request.
    """
    if key is None:
        return operation(payload), False
    if validate is not None:
        validate(payload)
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    request = {"client": client_id, "route": route, "key": checked_key(key), "body": payload}
    executor = _executor(persistence_store())
    if lambda_context is not None:
        executor.config.register_lambda_context(lambda_context)  # type: ignore[attr-defined]
    _operation.set(operation)
    _replayed.set(False)
    _completed.set(None)
    try:
        body = executor(request=request)
    except IdempotencyValidationError:
        raise ServiceError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
            [{"field": "Idempotency-Key", "problem": "already used with a different body"}],
        ) from None
    except IdempotencyAlreadyInProgressError:
        raise ServiceError(
            409,
            "idempotency_key_in_progress",
            "a request with this Idempotency-Key is still being processed",
            [{"field": "Idempotency-Key", "problem": "request in progress"}],
            {"Retry-After": str(IN_PROGRESS_RETRY_AFTER_SECONDS)},
        ) from None
    except IdempotencyPersistenceLayerError:
        completed = _completed.get()
        if completed is not None:
            # The key stays INPROGRESS until it expires: a retry gets 409, never a second run.
            logger.warning("idempotency record not saved after the operation ran", extra={"route": route})
            return completed, False
        logger.warning("idempotency store unavailable", extra={"route": route})
        if not degrade_without_store:
            raise dependency_unavailable("dynamodb") from None
        return operation(payload), False
    return body, _replayed.get()
