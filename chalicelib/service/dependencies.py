"""What the service logic runs on: settings, the store, the queue and the idempotency persistence.

One object, built once per process from the stage's environment (``Dependencies.from_environment``:
botocore clients, DynamoDB and SQS implementations). ``app.py`` builds it at import time, so the
client work happens in Lambda's init phase (which provisioned concurrency pre-pays) rather than on
the first request. Tests and benchmarks hand in another one with ``use()`` (the in-memory twin in
``devstack.in_memory``, or moto in-process from ``devstack.fake_aws``): the one place where
process-wide state is replaced.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from chalicelib.config import Settings, load_settings
from chalicelib.dal import ApplicationQueue, EventPublisher, LoanStore, ReviewStore
from chalicelib.dal.fraud import FraudCounters, NoFraudCounters
from chalicelib.dal.versions import VersionStore

if TYPE_CHECKING:
    from chalicelib.dal.monitoring_reports import MonitoringStores
    from chalicelib.dal.outcomes import OutcomeStore
    from chalicelib.service.batches import Batches
    from chalicelib.service.webhooks import Webhooks


class Dependencies:
    def __init__(
        self,
        settings: Settings,
        store: LoanStore,
        queue: ApplicationQueue,
        events: EventPublisher,
        idempotency_store: Callable[[], Any],
        reviews: ReviewStore | None = None,
        fraud_counters: FraudCounters | None = None,
        versions: VersionStore | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.events = events
        self._reviews = reviews
        self._versions = versions
        self._idempotency_store = idempotency_store
        self.fraud_counters: FraudCounters = fraud_counters or NoFraudCounters()
        # Lenders' webhooks (chalicelib.service.webhooks); None: events go to no webhook.
        self.webhooks: Webhooks | None = None
        # How the AWS implementations build the stores below on first use (from_clients): a cold
        # start serving a decision never imports the modules behind them.
        self._build_monitoring: Callable[[], MonitoringStores] | None = None
        self._build_outcomes: Callable[[], OutcomeStore] | None = None
        self._build_batches: Callable[[], Batches] | None = None

    # Each of these is built on first use when from_clients registered a builder; assigned directly
    # by tests and the in-memory twin. None: not configured here.
    @functools.cached_property
    def monitoring(self) -> MonitoringStores | None:
        """Monitoring reports and alerts (issue 20, chalicelib.service.monitoring); None: no runs."""
        return self._build_monitoring() if self._build_monitoring is not None else None

    @functools.cached_property
    def outcomes(self) -> OutcomeStore | None:
        """Loan outcomes and the monitoring read path (issue 20, chalicelib.dal.outcomes)."""
        return self._build_outcomes() if self._build_outcomes is not None else None

    @functools.cached_property
    def batches(self) -> Batches | None:
        """Batches and backtests (chalicelib.service.batches, issue 19); None: the routes answer 503."""
        return self._build_batches() if self._build_batches is not None else None

    @property
    def reviews(self) -> ReviewStore:
        if self._reviews is None:
            raise RuntimeError("these dependencies have no review store")
        return self._reviews

    @property
    def has_versions(self) -> bool:
        return self._versions is not None

    @property
    def versions(self) -> VersionStore:
        """The decision-version registry (issue 18)."""
        if self._versions is None:
            raise RuntimeError("these dependencies have no version registry")
        return self._versions

    @functools.cached_property
    def idempotency_store(self) -> Any:
        """Powertools' persistence layer, made on first use: requests without an Idempotency-Key
        never import the idempotency utility."""
        return self._idempotency_store()

    @classmethod
    def from_environment(cls, settings: Settings | None = None) -> Self:
        from chalicelib.dal.clients import make_client, sqs_client_on_first_use

        settings = settings or load_settings()
        return cls.from_clients(
            settings,
            make_client("dynamodb", settings.region),
            sqs_client_on_first_use(settings.region),
            make_client("events", settings.region),
        )

    @classmethod
    def from_clients(cls, settings: Settings, dynamodb: Any, sqs: Any, events: Any) -> Self:
        """The AWS implementations on these botocore clients (one per service for the process)."""
        from chalicelib.dal import aws, fraud, reviews, versions_aws
        from chalicelib.service.webhooks import Webhooks

        dependencies = cls(
            settings,
            aws.DynamoDBLoanStore.for_settings(dynamodb, settings),
            aws.SQSApplicationQueue.for_settings(sqs, settings),
            aws.EventBridgePublisher.for_settings(events, settings),
            lambda: aws.idempotency_persistence_layer(dynamodb, settings.idempotency_table),
            reviews.DynamoDBReviewStore.for_settings(dynamodb, settings),
            fraud.DynamoDBFraudCounters.for_settings(dynamodb, settings),
            versions_aws.AWSVersionStore.for_settings(dynamodb, settings),
        )
        dependencies.webhooks = Webhooks.from_environment(settings, dynamodb, sqs)

        def outcomes() -> OutcomeStore:
            from chalicelib.dal.outcomes_aws import DynamoDBOutcomeStore

            return DynamoDBOutcomeStore.for_settings(dynamodb, settings)

        def monitoring() -> MonitoringStores:
            from chalicelib.dal import monitoring_reports_aws

            return monitoring_reports_aws.monitoring_stores(
                dynamodb, events, settings.region, settings.decision_events_bus, sqs
            )

        def batches() -> Batches:
            from chalicelib.service.batches import Batches

            built = Batches.from_environment(
                settings, dynamodb, sqs, events, dependencies.versions, dependencies.webhooks
            )
            built.loans = dependencies  # an outcomes batch records on these (issue 20)
            return built

        dependencies._build_outcomes = outcomes
        dependencies._build_monitoring = monitoring
        dependencies._build_batches = batches
        return dependencies


_lock = threading.Lock()
_current: Dependencies | None = None


def current() -> Dependencies:
    """This process's dependencies (built from the environment on first use)."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = Dependencies.from_environment()
    return _current


def use(dependencies: Dependencies | None) -> None:
    """Run on ``dependencies`` from now on (None: build from the environment again on next use)."""
    global _current
    with _lock:
        _current = dependencies
