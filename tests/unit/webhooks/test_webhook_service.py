"""The webhook service on the in-memory twin: endpoints, fan-out, attempts, retries, the log.

The receiver here is a stand-in (scripted answers, every request kept and verified with the
reference ``standardwebhooks`` library); tests/integration/test_integration_webhooks.py runs a real
HTTP receiver against the local stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib import resources
from chalicelib.dal.webhooks import Answer
from chalicelib.errors import ServiceError
from chalicelib.records import DecisionEvent
from chalicelib.service import webhooks as service
from chalicelib.service.webhooks import Webhooks, WebhookSettings
from devstack.in_memory_webhooks import InMemoryDeliveryQueue, in_memory_webhooks
from tests.support.http import body_of, post_json, sample_application
from tests.support.sqs import sqs_event, sqs_record

LOCAL = WebhookSettings("local", "webhook-queue", 0.0, 30 * 86_400)  # retries without waiting
CLIENT, OTHER = "client-a", "client-b"
RECEIVER = "http://127.0.0.1:9/hooks"


class Receiver:
    """Answers with the scripted statuses (then 200), keeping each request."""

    def __init__(self, *statuses: int | None) -> None:
        self.script = list(statuses)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    def __call__(self, url: str, headers: dict[str, str], body: bytes, timeout: float, local: bool) -> Answer:
        self.requests.append((url, headers, body))
        status = self.script.pop(0) if self.script else 200
        return Answer(status, 3, None if status is not None else "ConnectionRefusedError")


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def hooks(receiver: Receiver) -> Webhooks:
    return in_memory_webhooks(settings=LOCAL, post=receiver)


def run_queue(hooks: Webhooks, rounds: int = 50) -> int:
    """Hand every due message to the delivery function's batch handler until none is left."""
    queue = hooks.queue
    assert isinstance(queue, InMemoryDeliveryQueue)
    handled = 0
    for _ in range(rounds):
        due = queue.due()
        if not due:
            return handled
        result = service.handle_batch(hooks, sqs_event(*(sqs_record(json.dumps(m)) for m in due)))
        assert result == {"batchItemFailures": []}
        handled += len(due)
    raise AssertionError("the queue never drained")


def decision_event(client: str = CLIENT, application_id: str | None = None) -> DecisionEvent:
    return DecisionEvent(
        decision_id="0d5ef7a4-3c8e-4a8e-9a53-1a6b7c8d9e01",
        client_id=client,
        outcome="approved",
        decided_by="model",
        model_version="v1",
        source="async" if application_id else "sync",
        decided_at="2026-12-07T00:00:00.000Z",
        application_id=application_id,
    )


def create(hooks: Webhooks, client: str = CLIENT, events: list[str] | None = None) -> dict[str, Any]:
    created = service.create_endpoint(
        hooks, client, {"url": RECEIVER, "events": events or [resources.DECISION_MADE], "description": "d"}
    )
    return dict(created)


def test_the_secret_is_shown_once_and_stored_encrypted(hooks: Webhooks) -> None:
    created = create(hooks)
    assert created["secret"].startswith("whsec_") and created["state"] == "enabled"
    shown = service.get_endpoint(hooks, CLIENT, created["webhook_id"])
    assert "secret" not in shown and shown["url"] == RECEIVER
    stored = hooks.store.get_endpoint(created["webhook_id"])
    assert stored is not None and created["secret"] not in json.dumps(stored)
    assert hooks.cipher.decrypt(stored["secret_ciphertext"]) == created["secret"]


def test_another_clients_webhook_is_not_found(hooks: Webhooks) -> None:
    webhook_id = create(hooks)["webhook_id"]
    for call in (
        lambda: service.get_endpoint(hooks, OTHER, webhook_id),
        lambda: service.update_endpoint(hooks, OTHER, webhook_id, {"description": "x"}),
        lambda: service.delete_endpoint(hooks, OTHER, webhook_id),
        lambda: service.rotate_secret(hooks, OTHER, webhook_id),
        lambda: service.send_test(hooks, OTHER, webhook_id),
        lambda: service.list_deliveries(hooks, OTHER, webhook_id, status=None, limit=None, cursor=None),
    ):
        with pytest.raises(ServiceError) as raised:
            call()
        assert raised.value.status == 404
    assert service.list_endpoints(hooks, OTHER) == {"items": []}


@pytest.mark.parametrize(
    ("stage", "url", "problem"),
    [
        ("dev", "http://lender.example/hooks", "must be https"),
        ("dev", "https://10.0.0.7/hooks", "private"),
        ("dev", "https://169.254.169.254/latest", "private"),
        ("dev", "https://127.0.0.1/hooks", "loopback"),
        ("dev", "https://user:pw@lender.example/hooks", "credentials"),
        ("local", "http://10.0.0.7/hooks", "loopback receivers only"),
        ("local", "ftp://127.0.0.1/hooks", "https"),
    ],
)
def test_bad_urls_are_400s_naming_url(stage: str, url: str, problem: str) -> None:
    from chalicelib.dal.webhook_http import refusal

    hooks = in_memory_webhooks(settings=LOCAL._replace(stage=stage), refusal=refusal)
    with pytest.raises(ServiceError) as raised:
        service.create_endpoint(hooks, CLIENT, {"url": url, "events": [resources.DECISION_MADE]})
    assert raised.value.status == 400
    assert [detail["field"] for detail in raised.value.details] == ["url"]
    assert problem in raised.value.details[0]["problem"]


def test_every_bad_field_is_named_at_once(hooks: Webhooks) -> None:
    with pytest.raises(ServiceError) as raised:
        service.create_endpoint(
            hooks, CLIENT, {"url": "ftp://x", "events": ["decision.made", "loan.paid"], "colour": 1}
        )
    assert raised.value.status == 400
    assert sorted(detail["field"] for detail in raised.value.details) == ["colour", "events", "url"]


def test_a_decision_is_delivered_signed_once_per_subscribed_endpoint(
    hooks: Webhooks, receiver: Receiver
) -> None:
    made = create(hooks, events=[resources.DECISION_MADE])
    decided = create(hooks, events=[resources.APPLICATION_DECIDED])
    create(hooks, client=OTHER)  # another client's endpoint gets nothing of this client's

    service.enqueue_events(hooks, [decision_event(application_id="a8f5f167-0e0c-4e47-9a59-2a1b1e6f0c11")])
    run_queue(hooks)

    assert len(receiver.requests) == 2
    by_type = {}
    for _, headers, body in receiver.requests:
        payload = json.loads(body)
        by_type[payload["type"]] = (headers, body)
        assert "client_id" not in payload["data"] and payload["data"]["outcome"] == "approved"
    assert set(by_type) == {resources.DECISION_MADE, resources.APPLICATION_DECIDED}
    for created, event_type in ((made, resources.DECISION_MADE), (decided, resources.APPLICATION_DECIDED)):
        headers, body = by_type[event_type]
        assert Webhook(created["secret"]).verify(body, headers)["type"] == event_type
        page = service.list_deliveries(
            hooks, CLIENT, created["webhook_id"], status=None, limit=None, cursor=None
        )
        [delivery] = page["items"]
        assert delivery["status"] == "delivered" and delivery["delivery_id"] == headers["webhook-id"]
        assert delivery["attempts"][0]["status_code"] == 200 and delivery["attempts"][0]["latency_ms"] == 3


def test_the_same_event_fanned_out_twice_is_delivered_once(hooks: Webhooks, receiver: Receiver) -> None:
    create(hooks)
    service.enqueue_events(hooks, [decision_event()])
    service.enqueue_events(hooks, [decision_event()])
    run_queue(hooks)
    assert len(receiver.requests) == 1


def test_failures_are_retried_and_logged_until_delivered(hooks: Webhooks, receiver: Receiver) -> None:
    receiver.script = [503, None, 302, 200]  # a redirect is a failure too (never followed)
    created = create(hooks)
    service.enqueue_events(hooks, [decision_event()])
    run_queue(hooks)

    [delivery] = service.list_deliveries(
        hooks, CLIENT, created["webhook_id"], status=None, limit=None, cursor=None
    )["items"]
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [503, None, 302, 200]
    assert delivery["attempts"][1]["error"] == "ConnectionRefusedError"
    assert delivery["status"] == "delivered"
    assert len({headers["webhook-id"] for _, headers, _ in receiver.requests}) == 1  # one id for all tries


def test_after_the_last_attempt_the_delivery_fails_and_the_endpoint_is_failing(
    hooks: Webhooks, receiver: Receiver
) -> None:
    from chalicelib.webhook_signing import ATTEMPTS

    receiver.script = [500] * ATTEMPTS
    created = create(hooks)
    service.enqueue_events(hooks, [decision_event()])
    run_queue(hooks)

    assert len(receiver.requests) == ATTEMPTS
    failed = service.list_deliveries(
        hooks, CLIENT, created["webhook_id"], status="failed", limit=None, cursor=None
    )
    assert len(failed["items"]) == 1 and len(failed["items"][0]["attempts"]) == ATTEMPTS
    endpoint = service.get_endpoint(hooks, CLIENT, created["webhook_id"])
    assert endpoint["state"] == "failing" and endpoint["state_reason"]

    # Redelivery once the receiver is fixed: delivered, and the endpoint healthy again.
    redelivered = service.redeliver(hooks, CLIENT, created["webhook_id"], failed["items"][0]["delivery_id"])
    assert redelivered["status"] == "pending"
    run_queue(hooks)
    assert service.get_endpoint(hooks, CLIENT, created["webhook_id"])["state"] == "enabled"
    delivered = service.list_deliveries(
        hooks, CLIENT, created["webhook_id"], status="delivered", limit=None, cursor=None
    )
    assert len(delivered["items"]) == 1


def test_410_disables_the_endpoint_and_no_more_is_sent(hooks: Webhooks, receiver: Receiver) -> None:
    receiver.script = [410]
    created = create(hooks)
    service.enqueue_events(hooks, [decision_event()])
    run_queue(hooks)
    assert service.get_endpoint(hooks, CLIENT, created["webhook_id"])["state"] == "disabled"

    service.enqueue_events(
        hooks, [decision_event()._replace(decision_id="9f1c0e52-55a4-4f0e-8a39-7c2d1b3e4f50")]
    )
    run_queue(hooks)
    assert len(receiver.requests) == 1


def test_a_rotation_signs_with_both_secrets(hooks: Webhooks, receiver: Receiver) -> None:
    created = create(hooks)
    rotated = service.rotate_secret(hooks, CLIENT, created["webhook_id"])
    assert rotated["secret"] != created["secret"]
    service.send_test(hooks, CLIENT, created["webhook_id"])
    run_queue(hooks)
    [(_, headers, body)] = receiver.requests
    for secret in (created["secret"], rotated["secret"]):
        assert Webhook(secret).verify(body, headers)["type"] == resources.WEBHOOK_PING


def test_the_delivery_log_pages_with_a_cursor_and_filters_by_status(
    hooks: Webhooks, receiver: Receiver
) -> None:
    created = create(hooks)
    for _ in range(3):
        service.send_test(hooks, CLIENT, created["webhook_id"])
    run_queue(hooks)
    first = service.list_deliveries(hooks, CLIENT, created["webhook_id"], status=None, limit="2", cursor=None)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = service.list_deliveries(
        hooks, CLIENT, created["webhook_id"], status=None, limit="2", cursor=first["next_cursor"]
    )
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = {item["delivery_id"] for item in first["items"] + second["items"]}
    assert len(ids) == 3
    assert (
        service.list_deliveries(
            hooks, CLIENT, created["webhook_id"], status="failed", limit=None, cursor=None
        )["items"]
        == []
    )
    with pytest.raises(ServiceError) as raised:
        service.list_deliveries(hooks, CLIENT, created["webhook_id"], status="lost", limit="0", cursor=None)
    assert sorted(detail["field"] for detail in raised.value.details) == ["limit", "status"]


def test_a_hanging_endpoint_does_not_hold_up_another_in_the_same_batch(hooks: Webhooks) -> None:
    import threading

    release = threading.Event()
    fast_done = threading.Event()

    def post(url: str, headers: dict[str, str], body: bytes, timeout: float, local: bool) -> Answer:
        if url.endswith("/slow"):
            release.wait(5)
            return Answer(None, 5000, "timeout")
        fast_done.set()
        return Answer(200, 1, None)

    hooks.post = post
    service.create_endpoint(hooks, CLIENT, {"url": "http://127.0.0.1:9/slow", "events": ["decision.made"]})
    service.create_endpoint(hooks, CLIENT, {"url": "http://127.0.0.1:9/fast", "events": ["decision.made"]})
    service.enqueue_events(hooks, [decision_event()])
    queue = hooks.queue
    assert isinstance(queue, InMemoryDeliveryQueue)
    service.handle_batch(hooks, sqs_event(*(sqs_record(json.dumps(m)) for m in queue.due())))  # fan-out
    attempts = [sqs_record(json.dumps(m)) for m in queue.due()]
    assert len(attempts) == 2
    worker = threading.Thread(target=service.handle_batch, args=(hooks, sqs_event(*attempts)))
    worker.start()
    assert fast_done.wait(5), "the fast endpoint waited for the slow one"
    release.set()
    worker.join(10)
    assert not worker.is_alive()


def test_an_unavailable_store_returns_the_message_to_the_queue(hooks: Webhooks) -> None:
    from chalicelib.dal import DependencyUnavailable

    class Down:
        def guard(self, dependency: str) -> None:
            raise DependencyUnavailable(dependency, "EndpointConnectionError")

    hooks.store.outages = Down()  # type: ignore[attr-defined]
    record = sqs_record(
        json.dumps({"kind": "event", "client_id": CLIENT, "types": ["decision.made"], "detail": {}})
    )
    assert service.handle_batch(hooks, sqs_event(record)) == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
    }


# ---------------------------------------------------------------------------- over the app (HTTP)
@pytest.fixture
def http_hooks(memory: Any, receiver: Receiver) -> Iterator[Webhooks]:
    memory.webhooks = in_memory_webhooks(memory.outages, LOCAL, receiver)
    yield memory.webhooks


def test_routes_create_read_change_delete(chalice_client: Any, http_hooks: Webhooks) -> None:
    created = post_json(chalice_client, "/v1/webhooks", {"url": RECEIVER, "events": ["decision.made"]})
    assert created.status_code == 201, created.body
    webhook_id = body_of(created)["webhook_id"]
    assert body_of(chalice_client.http.get("/v1/webhooks"))["items"][0]["webhook_id"] == webhook_id
    nulls = chalice_client.http.patch(
        f"/v1/webhooks/{webhook_id}",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"enabled": None, "description": None}),
    )
    # The document states no field as nullable: null is refused, each field named.
    assert nulls.status_code == 400
    assert {detail["field"] for detail in body_of(nulls)["error"]["details"]} == {"enabled", "description"}
    changed = chalice_client.http.patch(
        f"/v1/webhooks/{webhook_id}",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"enabled": False}),
    )
    assert changed.status_code == 200 and body_of(changed)["state"] == "disabled"
    assert chalice_client.http.delete(f"/v1/webhooks/{webhook_id}").status_code == 204
    assert chalice_client.http.get(f"/v1/webhooks/{webhook_id}").status_code == 404


def test_routes_bad_input_is_400_never_500(chalice_client: Any, http_hooks: Webhooks) -> None:
    response = post_json(chalice_client, "/v1/webhooks", {"url": "https://192.168.0.1/x", "events": ["nope"]})
    assert response.status_code == 400
    assert sorted(detail["field"] for detail in body_of(response)["error"]["details"]) == ["events", "url"]
    assert post_json(chalice_client, "/v1/webhooks", ["not", "an", "object"]).status_code == 400
    assert chalice_client.http.get("/v1/webhooks/not-a-uuid/deliveries").status_code == 404


def test_a_decision_over_the_api_reaches_the_receiver(
    chalice_client: Any, http_hooks: Webhooks, receiver: Receiver
) -> None:
    created = body_of(
        post_json(chalice_client, "/v1/webhooks", {"url": RECEIVER, "events": ["decision.made"]})
    )
    decision = post_json(chalice_client, "/v1/decisions", sample_application(1))
    assert decision.status_code == 200
    run_queue(http_hooks)
    [(_, headers, body)] = receiver.requests
    payload = Webhook(created["secret"]).verify(body, headers)
    assert payload["data"]["decision_id"] == body_of(decision)["decision_id"]
