"""No application left PENDING: the scheduled reconciler.

Every ``RECONCILE_EVERY_MINUTES`` it reads the PENDING applications older than the queue's
maximum time to decide (``settings.pending_max_age_seconds``: visibility timeout x receives, plus
a run of slack) from the sparse ``pending`` index, oldest first, and for each:

- never re-queued: it notes the re-queue (conditional: still PENDING, not re-queued yet) and sends
  the application to the queue again, once. This is what decides an application whose submit
  answered 503 although its PENDING write had landed (a timed-out PutItem), or whose message the
  dead-letter queue took while DynamoDB was down;
- re-queued more than that age ago: it marks the application FAILED with the reason
  (conditional: still PENDING), so its status URL stops saying PENDING.

Both steps are conditional writes, so overlapping runs or a worker deciding at the same moment
never double-queue or overwrite a decision. Counts: ``ReconcilerRequeued``, ``ReconcilerFailed``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from chalicelib.dal import DependencyUnavailable
from chalicelib.observability import count, logger, mark_invocation
from chalicelib.service import reviews
from chalicelib.service.applications import queued_application
from chalicelib.service.dependencies import Dependencies

# At most this many applications per run (a run has a 60 s timeout; the next run continues).
BATCH_LIMIT = 200


class ReconcileResult(NamedTuple):
    requeued: int
    failed: int
    examined: int


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reconcile(dependencies: Dependencies, now: datetime | None = None) -> ReconcileResult:
    mark_invocation()
    now = now or datetime.now(UTC)
    max_age = timedelta(seconds=dependencies.settings.pending_max_age_seconds)
    cutoff = _iso(now - max_age)
    store, queue = dependencies.store, dependencies.queue
    stale = store.pending_applications(submitted_before=cutoff, limit=BATCH_LIMIT)
    requeued = failed = 0
    for record in stale:
        application_id = record["application_id"]
        requeued_at = record.get("requeued_at")
        if requeued_at is None:
            if not store.mark_requeued(application_id, _iso(now)):
                continue  # decided, failed or re-queued by someone else meanwhile
            try:
                queue.send(queued_application(record).to_message())
            except DependencyUnavailable:
                # Noted as re-queued but not sent: the next run after max_age marks it FAILED.
                logger.warning("re-queue not sent", extra={"application_id": application_id})
                continue
            requeued += 1
            logger.info("PENDING application re-queued", extra={"application_id": application_id})
        elif requeued_at < cutoff:
            problem = f"not decided within {int(max_age.total_seconds())} s of being queued again"
            if store.mark_application_failed(application_id, problem, _iso(now)):
                failed += 1
                logger.warning("PENDING application marked FAILED", extra={"application_id": application_id})
    count("ReconcilerRequeued", requeued)
    count("ReconcilerFailed", failed)
    try:
        # The review desk's oversight figures ride on the same schedule (alarmed in the template).
        reviews.emit_backlog_metrics(dependencies)
    except (DependencyUnavailable, RuntimeError):
        logger.warning("review backlog not measured")
    return ReconcileResult(requeued=requeued, failed=failed, examined=len(stale))
