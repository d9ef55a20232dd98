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
from typing import cast

from chalicelib.dal import DependencyUnavailable, LoanStore
from chalicelib.engine.schema import PERSONAL_FIELDS
from chalicelib.engine.types import Application
from chalicelib.errors import dependency_unavailable, not_found
from chalicelib.observability import count, logger
from chalicelib.privacy import mask_personal_fields
from chalicelib.records import (
    APPLICATION_STATES,
    PENDING,
    ApplicationList,
    ApplicationRecord,
    ApplicationStatus,
    QueuedApplication,
    application_status,
)
from chalicelib.service import clock, cursors, fraud, listing
from chalicelib.service.decisions import validated_application
from chalicelib.service.dependencies import Dependencies


def scoring_only(application: Application) -> Application:
    """The application without its personal fields: what the queue and the worker see."""
    # Every personal field is optional in Application (engine.types): dropping them keeps its shape.
    return cast(
        Application, {name: value for name, value in application.items() if name not in PERSONAL_FIELDS}
    )


def queued_application(record: ApplicationRecord) -> QueuedApplication:
    """The worker's input: the application to score (no personal fields) and the stored, masked
    ``applicant`` with ``submitted_at``, so the worker can write the whole DECIDED record at once."""
    return QueuedApplication(
        record["application_id"],
        record["client_id"],
        record["application"],
        record["applicant"],
        record["submitted_at"],
    )


def pending_record(
    application_id: str, client_id: str, application: Application, submitted_at: str, retention_seconds: int
) -> ApplicationRecord:
    return {
        "application_id": application_id,
        "client_id": client_id,
        "status": PENDING,
        "submitted_at": submitted_at,
        "expires_at": clock.now_epoch() + retention_seconds,
        "applicant": _applicant(application),
        "application": scoring_only(application),
    }


def _applicant(application: Application) -> dict[str, object]:
    """The masked applicant, with the keyed hashes the worker counts velocity by (the worker never
    sees personal fields)."""
    applicant = mask_personal_fields(application)
    refs = fraud.signal_refs(application)
    if refs:
        applicant[fraud.SIGNAL_REFS] = refs
    return applicant


def submit_application(payload: object, dependencies: Dependencies, client_id: str) -> str:
    """Validate, record PENDING, enqueue; returns the application id (ServiceError 400/503 otherwise)."""
    application = validated_application(payload)
    application_id = str(uuid.uuid4())
    record = pending_record(
        application_id,
        client_id,
        application,
        clock.now_iso(),
        dependencies.settings.record_retention_seconds,
    )
    store, queue = dependencies.store, dependencies.queue
    try:
        store.create_pending_application(record)
    except DependencyUnavailable as error:
        # The write may still have landed (a timeout after DynamoDB applied it): nothing was
        # queued, so the reconciler re-queues it once it is older than the queue's time to decide.
        raise dependency_unavailable(error.dependency) from None
    try:
        queue.send(queued_application(record).to_message())
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


def own_application(application_id: str, dependencies: Dependencies, client_id: str) -> ApplicationRecord:
    """The caller's application; another client's is answered exactly as an unknown id (404)."""
    if not listing.is_uuid(application_id):
        raise not_found("application")
    try:
        record = dependencies.store.get_application(application_id)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    if record is None or not record["client_id"] or record["client_id"] != client_id:
        raise not_found("application")
    return record


def get_status(application_id: str, dependencies: Dependencies, client_id: str) -> ApplicationStatus:
    return application_status(own_application(application_id, dependencies, client_id))


def list_applications(
    dependencies: Dependencies, client_id: str, *, status: str | None, limit: str | None, cursor: str | None
) -> ApplicationList:
    """The caller's applications, newest first, one page (ServiceError 400 naming a bad parameter)."""
    problems = listing.Problems()
    page_size = listing.page_size(limit, problems)
    if status is not None and status not in APPLICATION_STATES:
        problems.add("status", f"one of {', '.join(APPLICATION_STATES)}")
    problems.raise_if_any()
    query = {"status": status}
    start = cursors.decode(cursor, client_id, query)
    try:
        records, last = dependencies.store.query_applications(client_id, status, page_size, start)
    except DependencyUnavailable as error:
        raise dependency_unavailable(error.dependency) from None
    return {
        "items": records,
        "next_cursor": cursors.encode(last, client_id, query),
    }
