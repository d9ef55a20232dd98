"""Webhooks over the running local stack: chalice local, the queue worker, the webhook delivery
poller (the delivery function as Lambda would run it) and a REAL HTTP receiver on 127.0.0.1 that
verifies every delivery with the reference ``standardwebhooks`` library.

The stack runs with the retry schedule shortened (``webhook_retry_scale``): the same attempts,
in seconds instead of hours. Every wait is for a condition, with a generous deadline."""

from __future__ import annotations

import collections
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from devstack.client import ApiClient
from devstack.processes import free_port, wait_until
from devstack.stack import DevStack
from devstack.webhook_receiver import WebhookReceiver
from tests.support.http import sample_application

pytestmark = [pytest.mark.integration]

# 5 s, 5 min, 30 min, ... between attempts become 10 ms, 0.6 s, 3.6 s, 14.4 s, 36 s, 72 s, 72 s.
RETRY_SCALE = 0.002
DEADLINE_SECONDS = 120


@pytest.fixture(scope="module")
def webhook_stack(start_stack: Callable[..., DevStack]) -> DevStack:
    # A resource stage of its own, as the session's stack has: names (the KMS key's alias too) follow it.
    return start_stack(
        "webhooks",
        workers=1,
        reconcile_every_seconds=None,
        webhook_retry_scale=RETRY_SCALE,
        resource_stage=f"local-wh{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture(scope="module")
def api(webhook_stack: DevStack) -> ApiClient:
    return ApiClient(webhook_stack.api_url, webhook_stack.api_headers())


@pytest.fixture
def receiver() -> Any:
    receiver = WebhookReceiver(free_port())
    yield receiver
    receiver.stop()


def register(api: ApiClient, receiver: WebhookReceiver, events: list[str]) -> dict[str, Any]:
    response = api.post("/v1/webhooks", {"url": receiver.url, "events": events, "description": "test"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secrets.append(created["secret"])
    return created


def decide(api: ApiClient, rows: range) -> list[str]:
    ids = []
    for row in rows:
        response = api.post("/v1/decisions", sample_application(row))
        assert response.status_code == 200, response.text
        ids.append(response.json()["decision_id"])
    return ids


def deliveries(api: ApiClient, webhook_id: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {"limit": "100"} | ({"status": status} if status else {})
    response = api.get(f"/v1/webhooks/{webhook_id}/deliveries", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_every_decision_is_delivered_signed_exactly_once(api: ApiClient, receiver: WebhookReceiver) -> None:
    receiver.start()
    endpoint = register(api, receiver, ["decision.made"])
    decision_ids = decide(api, range(10, 15))

    wait_until(lambda: len(receiver.delivered) >= len(decision_ids), DEADLINE_SECONDS, "every delivery")

    assert receiver.rejected == 0
    assert sorted(payload["data"]["decision_id"] for payload in receiver.payloads()) == sorted(decision_ids)
    assert all(count == 1 for count in collections.Counter(receiver.ids()).values())
    logged = wait_until(
        lambda: (items := deliveries(api, endpoint["webhook_id"], "delivered")) and len(items) == 5 and items,
        DEADLINE_SECONDS,
        "the delivery log",
    )
    assert {item["delivery_id"] for item in logged} == set(receiver.ids())
    assert all(item["attempts"][-1]["status_code"] == 204 for item in logged)


def test_no_event_is_lost_across_a_receiver_outage(api: ApiClient, receiver: WebhookReceiver) -> None:
    endpoint = register(api, receiver, ["decision.made"])  # registered while the receiver is down
    decision_ids = decide(api, range(20, 26))

    # Three refused attempts: at the real schedule the third comes 5 min 5 s after the first, so the
    # receiver has been down longer than the target's 5-minute outage (scaled by RETRY_SCALE).
    def failed_three_times() -> bool:
        items = deliveries(api, endpoint["webhook_id"], "pending")
        return len(items) == len(decision_ids) and all(len(item["attempts"]) >= 3 for item in items)

    wait_until(failed_three_times, DEADLINE_SECONDS, "three refused attempts of every delivery")
    assert receiver.ids() == []
    receiver.start()

    wait_until(lambda: len(receiver.delivered) >= len(decision_ids), DEADLINE_SECONDS, "every delivery after")
    assert sorted(payload["data"]["decision_id"] for payload in receiver.payloads()) == sorted(decision_ids)
    assert all(count == 1 for count in collections.Counter(receiver.ids()).values())
    for item in wait_until(
        lambda: (items := deliveries(api, endpoint["webhook_id"], "delivered")) and len(items) == 6 and items,
        DEADLINE_SECONDS,
        "the delivery log",
    ):
        assert item["attempts"][0]["status_code"] is None and item["attempts"][-1]["status_code"] == 204


def test_private_and_plain_urls_are_refused_and_others_webhooks_are_404(
    api: ApiClient, webhook_stack: DevStack, receiver: WebhookReceiver
) -> None:
    refused = api.post("/v1/webhooks", {"url": "http://10.0.0.8/hooks", "events": ["loan.paid"]})
    assert refused.status_code == 400
    assert sorted(detail["field"] for detail in refused.json()["error"]["details"]) == ["events", "url"]

    endpoint = register(api, receiver, ["review.completed"])
    other = ApiClient(webhook_stack.api_url, webhook_stack.api_headers("partner"))
    assert other.get(f"/v1/webhooks/{endpoint['webhook_id']}").status_code == 404
    assert other.post(f"/v1/webhooks/{endpoint['webhook_id']}/test").status_code == 404
    assert api.get(f"/v1/webhooks/{endpoint['webhook_id']}").status_code == 200
