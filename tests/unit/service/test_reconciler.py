"""The reconciler on the in-memory twin: a PENDING application the queue will not decide any more
is re-queued once, then marked FAILED; the ambiguous submit (503, yet the write landed) ends
decided; every step is conditional."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import app
from chalicelib import engine
from chalicelib.service.applications import pending_record
from chalicelib.service.reconciler import reconcile
from devstack.lambda_events import worker_context
from tests.support.samples import application_row
from tests.support.sqs import queued_records, sqs_event

SUBMITTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def stale_pending(memory: Any, application_id: str, submitted: datetime = SUBMITTED) -> None:
    """A PENDING record with nothing on the queue: what a submit leaves behind when its PutItem
    timed out on the client after DynamoDB had applied it (the client was told 503)."""
    application = engine.validate_application(application_row(0))
    submitted_at = submitted.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    memory.memory_store.applications[application_id] = pending_record(
        application_id, "client-a", application, submitted_at, 86_400
    )


def later(memory: Any, seconds: float = 1) -> datetime:
    return SUBMITTED + timedelta(seconds=memory.settings.pending_max_age_seconds + seconds)


def test_the_ambiguous_submit_is_requeued_once_and_decided(memory):
    stale_pending(memory, "app-1")

    first = reconcile(memory, later(memory))
    again = reconcile(memory, later(memory, 2))

    assert (first.requeued, first.failed) == (1, 0)
    assert (again.requeued, again.failed) == (0, 0)  # re-queued once, not twice
    [record] = queued_records(memory.memory_queue)
    assert app.process_application_queue(sqs_event(record), worker_context("local", "us-east-1")) == {
        "batchItemFailures": []
    }
    assert memory.memory_store.applications["app-1"]["status"] == "DECIDED"
    assert reconcile(memory, later(memory, 3)).examined == 0


def test_still_pending_after_the_requeue_is_marked_failed_with_the_reason(memory):
    stale_pending(memory, "app-2")
    reconcile(memory, later(memory))
    memory.memory_queue.drain()  # the re-queued message is lost too

    result = reconcile(memory, later(memory) + timedelta(seconds=memory.settings.pending_max_age_seconds + 1))

    assert result.failed == 1
    record = memory.memory_store.applications["app-2"]
    assert record["status"] == "FAILED"
    assert "not decided within" in record["failure"]


def test_young_pending_applications_are_left_to_the_queue(memory):
    stale_pending(memory, "app-3")
    result = reconcile(memory, SUBMITTED + timedelta(seconds=memory.settings.pending_max_age_seconds - 1))
    assert (result.examined, result.requeued) == (0, 0)
    assert memory.memory_queue.messages == []


def test_the_scheduled_handler_runs_the_reconciler(memory):
    stale_pending(memory, "app-4", datetime.now(UTC) - timedelta(days=1))
    result = app.reconcile_pending_applications(
        {
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "detail": {},
            "time": "2026-12-01T09:00:00Z",
            "id": "1",
            "account": "123456789012",
            "region": "us-east-1",
            "resources": [],
            "version": "0",
        },
        worker_context("local", "us-east-1"),
    )
    assert result == {"requeued": 1, "failed": 0, "examined": 1}
