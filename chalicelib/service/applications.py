"""Asynchronous applications: submit (POST /v1/applications) and status (GET /v1/applications/{id}).

Submit: validate -> PENDING record (masked) -> SQS message -> the application id. If the message
cannot be sent, the PENDING record is deleted again and the client gets 503 + Retry-After, so no
record claims to be queued when it is not. (If DynamoDB fails in the instant between the send
failure and the delete, the record is left PENDING and an error is logged with its id.)

The SQS message carries the application WITHOUT personal fields (the worker only scores) and the
same masked applicant the PENDING record holds: raw identity numbers never sit in the queue or the
dead-letter queue.
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.dal import DependencyUnavailable, LoanStore
from chalicelib.engine.types import Application
from chalicelib.errors import dependency_unavailable, not_found
from chalicelib.observability import count, logger
from chalicelib.privacy import PERSONAL_FIELDS, mask_personal_fields
from chalicelib.records import ApplicationStatus, MaskedApplicant, QueuedApplication
from chalicelib.service import clock
from chalicelib.service.decisions import validated_application
from chalicelib.service.dependencies import Dependencies


def queued_application(
    application_id: str, application: Application, applicant: MaskedApplicant, submitted_at: str
) -> QueuedApplication:
    """The worker's input: the application to score (no personal fields) and the stored, masked
    ``applicant`` with ``submitted_at``, so the worker can write the whole DECIDED record at once."""
    scoring_only: Any = {name: value for name, value in application.items() if name not in PERSONAL_FIELDS}
    return QueuedApplication(application_id, scoring_only, applicant, submitted_at)


def submit_application(payload: Any, dependencies: Dependencies) -> str:
    """Validate, record PENDING, enqueue; returns the application id (ServiceError 400/503 otherwise)."""
    application = validated_application(payload)
    application_id = str(uuid.uuid4())
    masked = mask_personal_fields(application)
    submitted_at = clock.now_iso()
    store, queue = dependencies.store, dependencies.queue
    try:
        store.create_pending_application(application_id, masked, submitted_at)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    try:
        queue.send(queued_application(application_id, application, masked, submitted_at).to_message())
    except DependencyUnavailable as error:
        _withdraw(store, application_id)
        raise dependency_unavailable(error.dependency) from None
    count("Queued")
    logger.info("application queued", extra={"application_id": application_id})
    return application_id


def _withdraw(store: LoanStore, application_id: str) -> None:
    try:
        store.delete_application(application_id)
    except DependencyUnavailable:
        logger.error(
            "PENDING application left behind after a failed send", extra={"application_id": application_id}
        )


def _is_application_id(value: str) -> bool:
    # Ids are UUIDs (submit_application); anything else cannot exist and is not sent to DynamoDB,
    # which would reject an over-long key with an error that must not become a 5xx.
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


def application_status(application_id: str, dependencies: Dependencies) -> ApplicationStatus:
    if not _is_application_id(application_id):
        raise not_found("application")
    try:
        application = dependencies.store.get_application(application_id)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if application is None:
        raise not_found("application")
    return application
