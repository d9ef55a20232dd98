"""A decision for a client without webhooks costs no webhook call: each process keeps, for a short
while, which event types a client's endpoints subscribe to (``SubscriptionCache``). Counted on the
botocore clients (moto in-process), as tests/unit/service/test_fraud_aws_calls.py counts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.service import decisions
from chalicelib.service import webhooks as service
from devstack.bootstrap import create_webhook_key
from devstack.in_memory_webhooks import in_memory_webhooks
from tests.support.samples import application_row

WITHOUT = "client-without-webhooks"
WITH = "client-with-webhooks"


@contextmanager
def aws_calls(aws: Any) -> Iterator[list[str]]:
    """Every SQS and DynamoDB operation made meanwhile, as ``service/Operation``."""
    calls: list[str] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append(f"{model.service_model.service_name}/{model.name}")

    clients = [aws.aws_clients["sqs"], aws.aws_clients["dynamodb"]]
    for client in clients:
        client.meta.events.register("provide-client-params.*.*", record)
    try:
        yield calls
    finally:
        for client in clients:
            client.meta.events.unregister("provide-client-params.*.*", record)


def _webhook_queue_messages(aws: Any) -> int:
    sqs = aws.aws_clients["sqs"]
    url = sqs.get_queue_url(QueueName=aws.webhooks.settings.queue_name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def test_a_warm_decision_for_a_client_without_webhooks_makes_no_webhook_call(aws: Any) -> None:
    decisions.make_decision(application_row(0), aws, WITHOUT)  # cold: reads routing and subscriptions
    with aws_calls(aws) as cold_cache:
        decisions.make_decision(application_row(1), aws, WITHOUT)
    assert "sqs/SendMessage" not in cold_cache
    with aws_calls(aws) as warm:
        decisions.make_decision(application_row(2), aws, WITHOUT)
    assert "sqs/SendMessage" not in warm
    # The subscriptions are a Query on the endpoints table: none while the cache is warm.
    assert "dynamodb/Query" not in warm
    assert _webhook_queue_messages(aws) == 0


def test_a_client_with_an_endpoint_gets_each_event_queued_at_once(aws: Any) -> None:
    from chalicelib.dal.clients import make_client

    create_webhook_key(aws.settings.stage, make_client("kms", aws.settings.region))
    hooks = aws.webhooks
    hooks.refusal = lambda url, local: None
    decisions.make_decision(application_row(0), aws, WITH)  # warms the cache: no webhooks yet
    assert _webhook_queue_messages(aws) == 0
    service.create_endpoint(
        hooks, WITH, {"url": "http://127.0.0.1:9/hooks", "events": [resources.DECISION_MADE]}
    )
    with aws_calls(aws) as calls:
        decisions.make_decision(application_row(1), aws, WITH)
    # Registering in this process forgot what it had read: the very next decision is queued.
    assert calls.count("sqs/SendMessage") == 1
    assert _webhook_queue_messages(aws) == 1


def test_a_subscription_made_elsewhere_takes_effect_within_the_cache_interval() -> None:
    clock = [1000.0]
    hooks = in_memory_webhooks()
    cache = service.SubscriptionCache(30.0, monotonic=lambda: clock[0])
    assert cache.subscribed(hooks.store, WITH) == frozenset()
    service.create_endpoint(
        hooks, WITH, {"url": "http://127.0.0.1:9/hooks", "events": [resources.REVIEW_COMPLETED]}
    )  # another process's cache (hooks.subscriptions) forgets; this one does not
    clock[0] += 29.0
    assert cache.subscribed(hooks.store, WITH) == frozenset()
    clock[0] += 1.0
    assert cache.subscribed(hooks.store, WITH) == frozenset({resources.REVIEW_COMPLETED})


def test_disabled_endpoints_subscribe_to_nothing() -> None:
    hooks = in_memory_webhooks()
    created = service.create_endpoint(
        hooks, WITH, {"url": "http://127.0.0.1:9/hooks", "events": [resources.DECISION_MADE]}
    )
    assert hooks.subscriptions.subscribed(hooks.store, WITH) == frozenset({resources.DECISION_MADE})
    service.update_endpoint(hooks, WITH, created["webhook_id"], {"enabled": False})
    assert hooks.subscriptions.subscribed(hooks.store, WITH) == frozenset()


def test_the_cache_interval_is_configured_and_never_longer_than_the_default() -> None:
    env = resources.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS_ENV
    assert service.subscription_cache_seconds({}) == resources.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS
    assert service.subscription_cache_seconds({env: "0.5"}) == 0.5
    assert service.subscription_cache_seconds({env: "3600"}) == resources.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS
    assert resources.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS <= 60


class _GatedStore:
    """A webhook store whose reads of subscriptions are counted and answer once ``open`` is set."""

    def __init__(self, store: Any, fail: bool = False) -> None:
        self._store = store
        self._fail = fail
        self.open = threading.Event()
        self.read_done = threading.Event()
        self.reads: list[str] = []

    def endpoints_of(self, client_id: str) -> Any:
        self.reads.append(threading.current_thread().name)
        answer = self._store.endpoints_of(client_id)  # read now; the answer waits at the gate
        self.read_done.set()
        assert self.open.wait(5), "the test never opened the gate"
        if self._fail:
            raise DependencyUnavailable("dynamodb", "ProvisionedThroughputExceededException")
        return answer


def test_a_prefetch_reads_in_the_background_and_the_decision_uses_that_one_read() -> None:
    hooks = in_memory_webhooks()
    service.create_endpoint(
        hooks, WITH, {"url": "http://127.0.0.1:9/hooks", "events": [resources.DECISION_MADE]}
    )
    cache = service.SubscriptionCache(30.0)
    gated = _GatedStore(hooks.store)
    cache.prefetch(gated, WITH)  # returns while the read waits at the gate
    cache.prefetch(gated, WITH)  # a read is under way: no second one
    gated.open.set()
    assert cache.subscribed(gated, WITH) == frozenset({resources.DECISION_MADE})
    assert cache.subscribed(gated, WITH) == frozenset({resources.DECISION_MADE})
    cache.prefetch(gated, WITH)  # kept and fresh: nothing to read
    assert cache.subscribed(gated, WITH) == frozenset({resources.DECISION_MADE})
    assert len(gated.reads) == 1 and gated.reads[0].startswith("webhook-subscriptions")


def test_a_failed_prefetch_means_queue_everything_for_a_while() -> None:
    clock = [1000.0]
    cache = service.SubscriptionCache(30.0, monotonic=lambda: clock[0])
    gated = _GatedStore(in_memory_webhooks().store, fail=True)
    gated.open.set()
    cache.prefetch(gated, WITH)
    assert cache.subscribed(gated, WITH) is None
    clock[0] += service.SubscriptionCache.RETRY_SECONDS - 1
    assert cache.subscribed(gated, WITH) is None
    assert len(gated.reads) == 1
    clock[0] += 1
    assert cache.subscribed(gated, WITH) is None
    assert len(gated.reads) == 2


def test_without_a_cache_interval_nothing_is_prefetched() -> None:
    cache = service.SubscriptionCache(0.0)
    gated = _GatedStore(in_memory_webhooks().store)
    gated.open.set()
    cache.prefetch(gated, WITH)
    assert gated.reads == []
    assert cache.subscribed(gated, WITH) == frozenset()
    assert gated.reads == [threading.current_thread().name]


def test_a_read_under_way_when_the_endpoints_change_is_not_kept() -> None:
    hooks = in_memory_webhooks()
    cache = service.SubscriptionCache(30.0)
    gated = _GatedStore(hooks.store)
    cache.prefetch(gated, WITH)  # reads "no endpoints"; the answer is held at the gate
    assert gated.read_done.wait(5)
    service.create_endpoint(
        hooks, WITH, {"url": "http://127.0.0.1:9/hooks", "events": [resources.DECISION_MADE]}
    )
    cache.forget(WITH)  # as create_endpoint does for the process's own cache
    gated.open.set()
    assert cache.subscribed(gated, WITH) == frozenset({resources.DECISION_MADE})
    assert len(gated.reads) == 2
