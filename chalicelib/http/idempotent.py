"""A POST run at most once per Idempotency-Key: the request's header and JSON body, handed to
``chalicelib.service.idempotency.run`` with the process's idempotency store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Request

from chalicelib.http.requests import json_body
from chalicelib.service import idempotency
from chalicelib.service.dependencies import current


def run_once(
    request: Request,
    route: str,
    client: str,
    operation: idempotency.Operation,
    *,
    degrade_without_store: bool,
    validate: Callable[[object], object] | None = None,
) -> tuple[dict[str, Any], bool]:
    """``operation(body)``'s answer and whether it is a replay (``idempotency.run``)."""
    return idempotency.run(
        route,
        client,
        request.headers.get(idempotency.IDEMPOTENCY_HEADER),
        json_body(request),
        operation,
        lambda: current().idempotency_store,
        request.lambda_context,
        degrade_without_store=degrade_without_store,
        validate=validate,
    )
