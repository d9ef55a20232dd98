"""The in-memory twin of the webhooks' DAL (``chalicelib.dal.webhooks``): store, queue and cipher.

Same semantics as the DynamoDB, SQS and KMS implementations (create-if-absent deliveries, newest-first
pages, delays), so the webhook service can be tested without an emulator; the queue keeps its
messages with the time each becomes visible, and ``due()`` hands out those a receive would.
Local-only: never in the Lambda package. The cipher only reverses a marker: no secrecy, a twin.
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Callable
from typing import Protocol

from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.webhooks import Answer
from chalicelib.records import PageKey, StoredDelivery, StoredWebhook, WebhookDelivery
from chalicelib.service.webhooks import Webhooks, WebhookSettings


class _Guard(Protocol):
    """An outage switch: ``guard(dependency)`` raises while it is down (devstack.in_memory's)."""

    def guard(self, dependency: str) -> None: ...


class _NoOutages:
    def guard(self, dependency: str) -> None:
        del dependency


class InMemoryWebhookStore:
    def __init__(self, outages: _Guard | None = None) -> None:
        self.outages: _Guard = outages or _NoOutages()
        self.endpoints: dict[str, StoredWebhook] = {}
        self.deliveries: dict[str, StoredDelivery] = {}

    def create_endpoint(self, stored: StoredWebhook) -> None:
        self.put_endpoint(stored)

    def put_endpoint(self, stored: StoredWebhook) -> None:
        self.outages.guard("dynamodb")
        self.endpoints[stored["endpoint"]["webhook_id"]] = copy.deepcopy(stored)

    def get_endpoint(self, webhook_id: str) -> StoredWebhook | None:
        self.outages.guard("dynamodb")
        stored = self.endpoints.get(webhook_id)
        return None if stored is None else copy.deepcopy(stored)

    def endpoints_of(self, client_id: str) -> list[StoredWebhook]:
        self.outages.guard("dynamodb")
        owned = [stored for stored in self.endpoints.values() if stored["client_id"] == client_id]
        return copy.deepcopy(sorted(owned, key=lambda stored: stored["endpoint"]["created_at"]))

    def delete_endpoint(self, webhook_id: str) -> None:
        self.outages.guard("dynamodb")
        self.endpoints.pop(webhook_id, None)

    def create_delivery(self, stored: StoredDelivery) -> bool:
        self.outages.guard("dynamodb")
        if stored["delivery"]["delivery_id"] in self.deliveries:
            return False
        self.put_delivery(stored)
        return True

    def put_delivery(self, stored: StoredDelivery) -> None:
        self.outages.guard("dynamodb")
        self.deliveries[stored["delivery"]["delivery_id"]] = copy.deepcopy(stored)

    def get_delivery(self, delivery_id: str) -> StoredDelivery | None:
        self.outages.guard("dynamodb")
        stored = self.deliveries.get(delivery_id)
        return None if stored is None else copy.deepcopy(stored)

    def query_deliveries(
        self, webhook_id: str, status: str | None, limit: int, start: PageKey | None
    ) -> tuple[list[WebhookDelivery], PageKey | None]:
        self.outages.guard("dynamodb")
        matching = [
            stored["delivery"]
            for stored in self.deliveries.values()
            if stored["delivery"]["webhook_id"] == webhook_id
            and (status is None or stored["delivery"]["status"] == status)
        ]

        def position(delivery: WebhookDelivery) -> tuple[str, str]:
            return delivery["created_at"], delivery["delivery_id"]

        ordered = sorted(matching, key=position, reverse=True)
        if start is not None:
            ordered = [
                item for item in ordered if position(item) < (start["created_at"], start["delivery_id"])
            ]
        page = copy.deepcopy(ordered[:limit])
        if len(ordered) <= limit:
            return page, None
        created_at, delivery_id = position(page[-1])
        return page, {"created_at": created_at, "delivery_id": delivery_id, "webhook_id": webhook_id}

    def check(self) -> list[DependencyCheck]:
        try:
            self.outages.guard("dynamodb")
        except DependencyUnavailable:
            return [DependencyCheck("dynamodb:in-memory-webhooks", False, 0.0, "EndpointConnectionError")]
        return [DependencyCheck("dynamodb:in-memory-webhooks", True, 0.0)]


class InMemoryDeliveryQueue:
    def __init__(self, outages: _Guard | None = None, clock: Callable[[], float] = time.time) -> None:
        self.outages: _Guard = outages or _NoOutages()
        self.clock = clock
        self.messages: list[tuple[float, dict[str, object]]] = []  # (visible at, message)

    def send(self, message: dict[str, object], delay_seconds: int = 0) -> None:
        self.outages.guard("sqs")
        self.messages.append((self.clock() + min(delay_seconds, 900), json.loads(json.dumps(message))))

    def check(self) -> list[DependencyCheck]:
        try:
            self.outages.guard("sqs")
        except DependencyUnavailable:
            return [DependencyCheck("sqs:in-memory-webhooks", False, 0.0, "EndpointConnectionError")]
        return [DependencyCheck("sqs:in-memory-webhooks", True, 0.0)]

    def due(self) -> list[dict[str, object]]:
        """The messages visible now (and forget them), in send order, as a receive would."""
        now = self.clock()
        ready = [message for visible_at, message in self.messages if visible_at <= now]
        self.messages = [(visible_at, message) for visible_at, message in self.messages if visible_at > now]
        return ready


class InMemorySecretCipher:
    PREFIX = "in-memory:"

    def encrypt(self, secret: str) -> str:
        return self.PREFIX + base64.b64encode(secret.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return base64.b64decode(ciphertext.removeprefix(self.PREFIX)).decode()


def _no_receiver(url: str, headers: dict[str, str], body: bytes, timeout: float, local: bool) -> Answer:
    return Answer(None, 0, "no receiver in memory")


def in_memory_webhooks(
    outages: _Guard | None = None,
    settings: WebhookSettings | None = None,
    post: Callable[[str, dict[str, str], bytes, float, bool], Answer] = _no_receiver,
    refusal: Callable[[str, bool], str | None] = lambda url, local: None,
) -> Webhooks:
    """``Webhooks`` on the twins (no DNS: every URL the body rules allow is accepted)."""
    return Webhooks(
        settings or WebhookSettings.from_environment(),
        InMemoryWebhookStore(outages),
        InMemoryDeliveryQueue(outages),
        InMemorySecretCipher(),
        post,
        refusal,
    )
