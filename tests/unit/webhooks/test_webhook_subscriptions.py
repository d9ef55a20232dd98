"""A decision for a client without webhooks costs no webhook call: each process keeps, for a short
while, which event types a client's endpoints subscribe to (``SubscriptionCache``). Counted on the
botocore clients (moto in-process), as tests/unit/service/test_fraud_aws_calls.py counts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib import resources
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
