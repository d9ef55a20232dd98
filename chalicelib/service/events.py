"""Publishing ``decision.made`` events: best effort, never at the cost of the decision.

A decision is already recorded when its event is published; if EventBridge refuses or cannot be
reached the answer is unchanged, the failure is logged and counted (``EventsFailed``, alarmed in
the template), and consumers can re-read the decision by id. Event ids are the decision ids, so a
consumer can drop the duplicates that redelivery or retries may cause.
"""

from __future__ import annotations

from chalicelib.dal import DependencyUnavailable
from chalicelib.observability import count, logger
from chalicelib.records import DecisionEvent
from chalicelib.service.dependencies import Dependencies


def prepare(dependencies: Dependencies, client_id: str) -> None:
    """As a decision for ``client_id`` begins: start reading which events its webhooks want, if this
    process has not read it lately, so that the read overlaps the decision (``SubscriptionCache``)."""
    if dependencies.webhooks is not None:
        dependencies.webhooks.subscriptions.prefetch(dependencies.webhooks.store, client_id)


def publish(dependencies: Dependencies, decision_events: list[DecisionEvent]) -> None:
    if not decision_events:
        return
    try:
        failed = dependencies.events.publish(decision_events)
    except DependencyUnavailable as error:
        failed = len(decision_events)
        logger.warning("decision events not published", extra={"cause": error.cause, "count": failed})
    else:
        if failed:
            logger.warning("decision events refused", extra={"count": failed})
    count("EventsPublished", len(decision_events) - failed)
    if failed:
        count("EventsFailed", failed)
    if dependencies.webhooks is not None:
        # The lenders' webhooks get each event from their own queue (chalicelib.service.webhooks).
        from chalicelib.service import webhooks

        webhooks.enqueue_events(dependencies.webhooks, decision_events)
