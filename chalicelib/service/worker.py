"""The SQS worker: scores queued applications, PENDING -> DECIDED exactly once.

``app.py`` registers ``process_application_queue`` with ``@app.on_sqs_message``; the body is
``process_batch`` below. Partial batch failures use Powertools' ``BatchProcessor``: the return value
is ``{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}``, and only those messages become
visible again (the event source mapping needs ``ReportBatchItemFailures``). A message that keeps
failing is moved to the dead-letter queue by SQS after ``maxReceiveCount`` receives; on that last
receive the application is also marked FAILED so its status URL stops saying PENDING.

Redelivery is harmless: the first decision-log record written (under an id derived from the
application id) is THE decision, and the application goes PENDING -> DECIDED with it on condition
that it is still PENDING (``chalicelib.dal.aws.DynamoDBLoanStore.record_application_decision``), so
an application that is already DECIDED (or FAILED, or unknown) is acknowledged without a second
decision.

Message body: ``chalicelib.records.QueuedApplication`` (written by
``chalicelib.service.applications``); anything else is a poison message. Outside Lambda, the local
queue worker (``devstack.sqs_poller``) invokes ``app.process_application_queue`` with a Lambda-shaped
SQS event and context (``devstack.lambda_events``), exactly as Lambda does; Chalice's wrapper runs
the middleware (logger, metrics, tracer), so the same code runs locally and on Lambda.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from typing import TYPE_CHECKING, Any

from chalicelib import engine, resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.engine.decision import DecisionLogic
from chalicelib.engine.types import Decision
from chalicelib.observability import count, count_decision, logger, mark_invocation
from chalicelib.records import AsyncDecision, DecisionEvent, QueuedApplication
from chalicelib.service import clock, events, fraud, reviews, routing
from chalicelib.service.dependencies import Dependencies

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# Decision ids of asynchronous decisions are derived from the application id, so every delivery of
# one application's message writes (at most) the same decision-log record.
_DECISION_NAMESPACE = uuid.UUID("6f1f7a2e-3c1b-4f53-9a55-4d6f0b8e2a10")


class _BatchState(threading.local):
    dependency_down: str | None = None  # set when DynamoDB failed earlier in the current batch
    decided: list[DecisionEvent]  # this batch's new decisions: published together at its end

    def __init__(self) -> None:
        self.decided = []


_batch = _BatchState()


class PoisonMessage(Exception):
    """The message cannot be decided (unparseable or invalid): retried, then dead-lettered."""


def decision_id_for(application_id: str) -> str:
    return str(uuid.uuid5(_DECISION_NAMESPACE, application_id))


def _parse(record: SQSRecord) -> QueuedApplication:
    try:
        queued, payload = QueuedApplication.from_body(record.body)
    except ValueError as error:
        raise PoisonMessage(str(error)) from None
    try:
        application = engine.validate_application(payload)
    except engine.ValidationFailed as failure:
        fields = ", ".join(error["field"] for error in failure.errors)
        raise PoisonMessage(f"invalid application: {fields}") from None
    return QueuedApplication(
        queued.application_id, queued.client_id, application, queued.applicant, queued.submitted_at
    )


def _is_last_receive(record: SQSRecord) -> bool:
    receive_count = int(record.attributes.approximate_receive_count or 1)
    return receive_count >= resources.APPLICATIONS_QUEUE.max_receive_count


def handle_record(record: SQSRecord, dependencies: Dependencies) -> None:
    """Decide one queued application; raises to have the message retried."""
    try:
        queued = _parse(record)
    except PoisonMessage as poison:
        _fail_if_last_receive(record, str(poison), dependencies)
        logger.warning("poison message", extra={"message_id": record.message_id, "problem": str(poison)})
        raise
    # DependencyUnavailable propagates: the message is retried later.
    if _batch.dependency_down is not None:
        # Fail fast: each further record would wait for the same timeouts, and ten of them would
        # outlast the Lambda timeout (then the whole batch is retried, not just these records).
        raise DependencyUnavailable(_batch.dependency_down, "failed earlier in this batch")
    # The version serving this applicant (the identity hash the PENDING record kept; the scoring
    # inputs without one). An unreadable registry raises: the message is retried, never decided
    # with a version the routing may not have chosen.
    identity = routing.identity_key(queued.applicant.get("applicant_ref"), queued.application)
    served, routed_by = routing.serve(dependencies.versions, queued.client_id, identity)
    decision = engine.decide(queued.application, *served.logic)
    decision = _with_fraud_signals(queued, decision, dependencies, served.logic)
    shadows = routing.score_shadows(
        dependencies.versions, routed_by, served.version_id, queued.client_id, identity, queued.application
    )
    decided = AsyncDecision(
        application_id=queued.application_id,
        client_id=queued.client_id,
        decision_id=decision_id_for(queued.application_id),
        created_at=clock.now_iso(),
        decision=decision,
        applicant=queued.applicant,
        submitted_at=queued.submitted_at,
        expires_at=clock.now_epoch() + dependencies.settings.record_retention_seconds,
        decision_version=served.version_id,
        arm=served.arm,
        shadows=tuple(shadows),
    )
    try:
        decided_now = dependencies.store.record_application_decision(decided)
    except DependencyUnavailable as error:
        _batch.dependency_down = error.dependency
        raise
    if decided_now:
        _batch.decided.append(DecisionEvent.made(decided.record()))
        if decision["risk_flags"]:
            _batch.decided.append(DecisionEvent.fraud_flagged(decided.record()))
        fraud.observe(decision)
        count_decision(decision["outcome"], "async")
        logger.info(
            "application decided",
            extra={
                "application_id": queued.application_id,
                "outcome": decision["outcome"],
                "decision_version": served.version_id,
                "arm": served.arm,
            },
        )
        _record_trail(dependencies, decided, queued)
    else:
        # A redelivery: the first delivery may have died between DECIDED and its trail or case.
        stored = dependencies.store.get_application(queued.application_id)
        if stored is not None and stored["status"] == "DECIDED" and "decision" in stored:
            # The version and arm of the decision that won: its decision-log record's.
            first = dependencies.store.get_decision(stored["decision_id"])
            winner = AsyncDecision(
                application_id=decided.application_id,
                client_id=decided.client_id,
                decision_id=stored["decision_id"],
                created_at=stored["decided_at"],
                decision=stored["decision"],
                applicant=decided.applicant,
                submitted_at=decided.submitted_at,
                expires_at=stored["expires_at"],
                decision_version=first["decision_version"] if first else served.version_id,
                arm=first["arm"] if first else served.arm,
            )
            _record_trail(dependencies, winner, queued)
        logger.info(
            "redelivered message ignored: not PENDING", extra={"application_id": queued.application_id}
        )


def _with_fraud_signals(
    queued: QueuedApplication, decision: Decision, dependencies: Dependencies, logic: DecisionLogic
) -> Decision:
    """Count the application (idempotent: its id and submission time, the same on every delivery)
    and apply the rules over counts. Counters down: flagged FRD-UNCHECKED and referred."""
    at = int(dt.datetime.fromisoformat(queued.submitted_at).timestamp())
    refs = queued.applicant.get(fraud.SIGNAL_REFS)
    submissions = fraud.check(
        dependencies,
        queued.client_id,
        refs if isinstance(refs, dict) else {},
        queued.application_id,
        at,
        decision["outcome"] == "declined",
        logic.policy.fraud,
    )
    return fraud.with_signals(queued.application, decision, submissions, logic)


def _record_trail(dependencies: Dependencies, decided: AsyncDecision, queued: QueuedApplication) -> None:
    """The decision's audit trail, and its review case when it goes to manual review (idempotent)."""
    reviews.record_async_decision(
        dependencies, decided.record(), queued.submitted_at, queued.application["loan_amount"]
    )


def _fail_if_last_receive(record: SQSRecord, problem: str, dependencies: Dependencies) -> None:
    if not _is_last_receive(record):
        return
    try:
        application_id = json.loads(record.body).get("application_id")
    except (ValueError, AttributeError):
        return
    if isinstance(application_id, str) and application_id:
        try:
            dependencies.store.mark_application_failed(application_id, problem, clock.now_iso())
        except DependencyUnavailable:
            logger.warning("could not mark application FAILED", extra={"application_id": application_id})


def process_batch(event: dict[str, Any], context: Any, dependencies: Dependencies) -> dict[str, Any]:
    """Score one SQS batch; returns the partial batch failure response. ``event``: the SQS event as
    JSON; ``context``: Lambda's context object (Chalice's types call it a dict, hence Any)."""
    # Imported here: the API function never pays for the batch utility (~35 ms of cold start).
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    mark_invocation()
    _batch.dependency_down = None
    _batch.decided = []
    # A batch where every record fails is reported like any other (all ids listed) instead of
    # raising, so the local poller and Lambda see the same answer.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event,
        record_handler=lambda record: handle_record(record, dependencies),
        processor=processor,
        context=context,
    )
    # One PutEvents for the batch's new decisions (up to 10 per call: the batch size).
    events.publish(dependencies, _batch.decided)
    failed = len(response.get("batchItemFailures", []))
    count("BatchRecordsProcessed", len(event.get("Records", [])) - failed)
    count("BatchRecordsFailed", failed)
    return dict(response)
