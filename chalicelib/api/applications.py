"""POST /v1/applications (asynchronous submit) and GET /v1/applications/{application_id}.

Submit: validate -> PENDING record (masked) -> SQS message -> 202. If the message cannot be sent,
the PENDING record is deleted again and the client gets 503 + Retry-After, so no record claims to
be queued when it is not. (If DynamoDB fails in the instant between the send failure and the
delete, the record is left PENDING and an error is logged with its id.)

The SQS message carries the application WITHOUT personal fields (the worker only scores) and the
same masked applicant the PENDING record holds: raw identity numbers never sit in the queue or the
dead-letter queue.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice.app import Request, Response

from chalicelib import dal, engine
from chalicelib.api import clock, idempotency
from chalicelib.api.decisions import validated_application
from chalicelib.api.errors import JSON_HEADERS, dependency_unavailable, not_found
from chalicelib.api.requests import json_body
from chalicelib.dal import DependencyUnavailable
from chalicelib.observability import count, logger
from chalicelib.privacy import PERSONAL_FIELDS, mask_personal_fields

APPLICATIONS_PATH = "/v1/applications"
SUBMIT_ROUTE = "POST /v1/applications"


# Everything that identifies a person: the engine's personal fields (which include the caller's
# applicant_id) and the privacy module's masked ones.
_NOT_QUEUED = frozenset(PERSONAL_FIELDS) | {
    name for name, spec in engine.APPLICATION_FIELDS.items() if getattr(spec, "personal", False)
}


def queue_message(
    application_id: str, application: dict[str, Any], applicant: dict[str, Any], submitted_at: str
) -> dict[str, Any]:
    """The worker's input: the application to score (no personal fields) and the stored, masked
    ``applicant`` with ``submitted_at``, so the worker can write the whole DECIDED record at once."""
    scoring_only = {name: value for name, value in application.items() if name not in _NOT_QUEUED}
    return {
        "application_id": application_id,
        "application": scoring_only,
        "applicant": applicant,
        "submitted_at": submitted_at,
    }


def status_path(request: Request, application_id: str) -> str:
    """The status URL path as the client sees it (keeps API Gateway's stage prefix, e.g. /api)."""
    full_path = str(request.context.get("path") or APPLICATIONS_PATH)
    prefix = full_path[: -len(APPLICATIONS_PATH)] if full_path.endswith(APPLICATIONS_PATH) else ""
    return f"{prefix}{APPLICATIONS_PATH}/{application_id}"


def submit_application(payload: Any) -> str:
    """Validate, record PENDING, enqueue; returns the application id (ApiError 400/503 otherwise)."""
    application = validated_application(payload)
    application_id = str(uuid.uuid4())
    masked = mask_personal_fields(application)
    submitted_at = clock.now_iso()
    store, queue = dal.get_store(), dal.get_queue()
    try:
        store.create_pending_application(application_id, masked, submitted_at)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    try:
        queue.send(queue_message(application_id, application, masked, submitted_at))
    except DependencyUnavailable as error:
        _withdraw(store, application_id)
        raise dependency_unavailable(error.dependency) from None
    count("Queued")
    logger.info("application queued", extra={"application_id": application_id})
    return application_id


def _withdraw(store: dal.LoanStore, application_id: str) -> None:
    try:
        store.delete_application(application_id)
    except DependencyUnavailable:
        logger.error(
            "PENDING application left behind after a failed send", extra={"application_id": application_id}
        )


def _submit_operation(payload: Any) -> dict[str, Any]:
    # What an Idempotency-Key replay returns: the id (the URL is rebuilt for the request's stage).
    return {"application_id": submit_application(payload)}


idempotency.register(SUBMIT_ROUTE, _submit_operation)


def handle_submit(request: Request) -> Response:
    result, replayed = idempotency.run(
        SUBMIT_ROUTE,
        request.headers.get(idempotency.IDEMPOTENCY_HEADER),
        json_body(request),
        request.lambda_context,
        degrade_without_store=False,
    )
    application_id = result["application_id"]
    location = status_path(request, application_id)
    body = {"application_id": application_id, "status": "PENDING", "status_url": location}
    headers = {**JSON_HEADERS, "Location": location}
    if replayed:
        headers[idempotency.REPLAYED_HEADER] = "true"
    return Response(body=json.dumps(body), status_code=202, headers=headers)


def _is_application_id(value: str) -> bool:
    # Ids are UUIDs (submit_application); anything else cannot exist and is not sent to DynamoDB,
    # which would reject an over-long key with an error that must not become a 5xx.
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def application_status(application_id: str) -> dict[str, Any]:
    if not _is_application_id(application_id):
        raise not_found("application")
    try:
        application = dal.get_store().get_application(application_id)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if application is None:
        raise not_found("application")
    return application


def handle_status(application_id: str) -> Response:
    return Response(
        body=json.dumps(application_status(application_id)), status_code=200, headers=dict(JSON_HEADERS)
    )
