"""Lenders' webhooks: endpoints, signed deliveries with retries, the delivery log, redelivery.

Path of an event: the service publishes a decision's events (``chalicelib.service.events``) and
also sends each one, once, to the webhook queue (``resources.WEBHOOK_QUEUE``); the delivery function
(``app.deliver_webhooks``) fans it out into one delivery per subscribed endpoint, each its own
message, and every attempt is one message: a dead endpoint's retries never hold up another's
deliveries. The queue is written by the service rather than fed by an EventBridge rule: the
decision's own process already holds the event, one SendMessage costs less than a rule match plus
a target invocation, and the local stack delivers the same way as AWS (moto delivers a rule's
targets only inside its own server process, which the split local stack does not share).

Retries: ``webhook_signing.retry_wait`` (5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h between
attempts, each with jitter: 27.6 h in all). SQS delays a message at most 15 minutes, so a longer wait is
several hops: a message that arrives before its ``not_before`` is sent again with the rest of
the delay. 2xx is delivered; 410 disables the endpoint; anything else (3xx included: redirects are
not followed), a timeout or a refused address is a failure; after the last attempt the delivery is
failed and the endpoint ``failing`` until a delivery succeeds or the lender re-enables it.
"""

from __future__ import annotations

import json
import math
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from chalicelib import config, resources
from chalicelib.config import LOCAL_STAGE, Settings
from chalicelib.dal import DependencyCheck, DependencyUnavailable
from chalicelib.dal.webhooks import Answer, DeliveryQueue, SecretCipher, WebhookStore
from chalicelib.errors import ServiceError, dependency_unavailable, not_found, validation_failed
from chalicelib.observability import count, logger
from chalicelib.records import (
    DELIVERY_STATUSES,
    DecisionEvent,
    DeliveryAttempt,
    DeliveryList,
    DeliveryStatus,
    RedeliveryAccepted,
    StoredDelivery,
    StoredWebhook,
    WebhookCreated,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookList,
    WebhookState,
)
from chalicelib.service import cursors
from chalicelib.service.clock import now_epoch, now_iso
from chalicelib.service.listing import Problems, is_uuid, page_size
from chalicelib.service.request_body import json_object, unknown_fields
from chalicelib.webhook_signing import delivery_headers, new_secret, retry_wait

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
# Deliveries of one batch run side by side, so a receiver that hangs for the whole timeout holds
# up no other endpoint's delivery in the batch.
PARALLEL_DELIVERIES = resources.WEBHOOK_QUEUE.batch_size
_DELIVERY_NAMESPACE = uuid.UUID("5f0c1d3e-7a56-4c1b-9d0e-2b6a8f4e9c10")

Post = Callable[[str, dict[str, str], bytes, float, bool], Answer]
Refusal = Callable[[str, bool], str | None]


class WebhookSettings(NamedTuple):
    stage: str
    queue_name: str
    retry_scale: float  # multiplies the retry schedule (tests shorten it)
    retention_seconds: int
    # How long a process trusts what it read of a client's subscriptions (SubscriptionCache).
    subscription_cache_seconds: float = float(resources.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS)

    @property
    def local(self) -> bool:
        return self.stage == LOCAL_STAGE

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> WebhookSettings:
        env = os.environ if environ is None else environ
        return cls(
            stage=env.get("STAGE", "dev"),
            queue_name=config.queue_name(resources.WEBHOOK_QUEUE, environ=env),
            retry_scale=float(env.get(resources.WEBHOOK_RETRY_SCALE_ENV) or 1.0),
            retention_seconds=resources.WEBHOOK_DELIVERY_RETENTION_DAYS * 86_400,
            subscription_cache_seconds=subscription_cache_seconds(env),
        )


def subscription_cache_seconds(environ: Mapping[str, str]) -> float:
    """Configured by WEBHOOK_SUBSCRIPTION_CACHE_SECONDS (tests shorten it), never past the default."""
    configured = environ.get(resources.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS_ENV)
    ceiling = float(resources.WEBHOOK_SUBSCRIPTION_CACHE_SECONDS)
    return max(0.0, min(float(configured), ceiling)) if configured else ceiling


class SubscriptionCache:
    """Per process, the event types each client's endpoints (not disabled) subscribe to, read with
    one query per client at most every ``max_age`` seconds. A decision for a client without
    webhooks then queues nothing and, warm, makes no webhook call at all; a new subscription takes
    effect within ``max_age`` (at once in the process that registered it: :meth:`forget`). What
    is queued is still fanned out against the endpoints as they are, so a stale entry that says
    "subscribed" costs one message, never a wrong delivery.

    :meth:`prefetch` starts that query on a background thread when a decision begins, so that on a
    process's first decision for a client (a cold start's among them) it overlaps the decision's
    other calls instead of following its PutEvents; :meth:`subscribed` then waits for it."""

    RETRY_SECONDS = 5.0  # after a failed read: queue everything (the fan-out decides) this long
    MAX_CLIENTS = 10_000  # a bound on memory; past it, expired entries go, then everything

    def __init__(self, max_age: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[frozenset[str] | None, float]] = {}  # client -> (types, until)
        self._reading: dict[str, Future[frozenset[str] | None]] = {}  # client -> read under way
        self._reader: ThreadPoolExecutor | None = None
        self._forgets = 0  # how many times forget() ran: a read that spans one is not kept

    def _kept_types(self, client_id: str) -> tuple[bool, frozenset[str] | None]:
        """(whether what is kept is fresh, the kept types: None when the last read failed)."""
        kept = self._kept.get(client_id)
        if kept is None or self._monotonic() >= kept[1]:
            return False, None
        return True, kept[0]

    def prefetch(self, store: WebhookStore, client_id: str) -> None:
        """Start reading the client's subscriptions in the background, unless what is kept is fresh
        or a read is already under way."""
        if self.max_age <= 0 or self._kept_types(client_id)[0]:
            return
        with self._lock:
            if client_id in self._reading or len(self._reading) >= self.MAX_CLIENTS:
                return
            if self._reader is None:  # made on first use: a process that decides nothing has none
                # A few threads (started only as needed): one client's slow read never queues
                # another's behind it.
                self._reader = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-subscriptions")
            self._reading[client_id] = self._reader.submit(self._read, store, client_id)

    def subscribed(self, store: WebhookStore, client_id: str) -> frozenset[str] | None:
        """The client's subscribed event types; None when they could not be read."""
        with self._lock:
            reading = self._reading.pop(client_id, None)
        if reading is not None:
            reading.result()  # what it read is kept (anything but DependencyUnavailable raises here)
        fresh, types = self._kept_types(client_id)
        return types if fresh else self._read(store, client_id)

    def _read(self, store: WebhookStore, client_id: str) -> frozenset[str] | None:
        forgets = self._forgets
        try:
            endpoints = store.endpoints_of(client_id)
        except DependencyUnavailable as error:
            count("WebhookSubscriptionsNotRead")
            logger.warning("webhook subscriptions not read: queuing the event", extra={"cause": error.cause})
            self._keep(client_id, None, min(self.RETRY_SECONDS, self.max_age), forgets)
            return None
        types = frozenset(
            event_type
            for stored in endpoints
            if stored["endpoint"]["state"] != "disabled"
            for event_type in stored["endpoint"]["events"]
        )
        self._keep(client_id, types, self.max_age, forgets)
        return types

    def forget(self, client_id: str) -> None:
        """This process changed the client's endpoints: read them again on the next event (a read
        under way, begun before the change, is not kept)."""
        with self._lock:
            self._forgets += 1
            self._kept.pop(client_id, None)
            self._reading.pop(client_id, None)

    def _keep(self, client_id: str, types: frozenset[str] | None, seconds: float, forgets: int) -> None:
        now = self._monotonic()
        with self._lock:
            if forgets != self._forgets:  # endpoints changed while it read: it may be stale
                return
            if len(self._kept) >= self.MAX_CLIENTS:
                self._kept = {client: kept for client, kept in self._kept.items() if kept[1] > now}
                if len(self._kept) >= self.MAX_CLIENTS:
                    self._kept.clear()
            self._kept[client_id] = (types, now + seconds)


class Webhooks:
    """What the webhook service runs on: the store, the queue, the cipher and the HTTP caller."""

    def __init__(
        self,
        settings: WebhookSettings,
        store: WebhookStore,
        queue: DeliveryQueue,
        cipher: SecretCipher,
        post: Post,
        refusal: Refusal,
    ) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue
        self.cipher = cipher
        self.post = post
        self.refusal = refusal
        self.subscriptions = SubscriptionCache(settings.subscription_cache_seconds)

    def check(self) -> list[DependencyCheck]:
        """Readiness probes of the endpoints and deliveries tables and the delivery queue."""
        return self.store.check() + self.queue.check()

    @classmethod
    def from_environment(cls, settings: Settings, dynamodb: DynamoDBClient, sqs: SQSClient) -> Webhooks:
        from chalicelib.dal import webhook_http
        from chalicelib.dal.clients import make_client
        from chalicelib.dal.webhooks import DynamoDBWebhookStore, KMSSecretCipher, SQSDeliveryQueue

        webhook_settings = WebhookSettings.from_environment()
        key = os.environ.get(resources.WEBHOOK_SECRETS_KEY_ENV) or "alias/" + resources.resource_name(
            settings.stage, resources.WEBHOOK_SECRETS_KEY_ALIAS_SUFFIX
        )
        return cls(
            webhook_settings,
            DynamoDBWebhookStore(
                dynamodb,
                config.physical_name(resources.WEBHOOK_ENDPOINTS_TABLE),
                config.physical_name(resources.WEBHOOK_DELIVERIES_TABLE),
            ),
            SQSDeliveryQueue(sqs, webhook_settings.queue_name),
            KMSSecretCipher(lambda: make_client("kms", settings.region), key),
            webhook_http.post,
            webhook_http.refusal,
        )


# ---------------------------------------------------------------------------- request bodies
def _url_problem(url: object, settings: WebhookSettings, refusal: Refusal) -> str | None:
    if not isinstance(url, str) or not url:
        return "a URL string"
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a valid URL"
    del port
    schemes = ("https", "http") if settings.local else ("https",)
    if parts.scheme not in schemes:
        return "must be https" + (" (or http to a loopback receiver locally)" if settings.local else "")
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    if settings.local and parts.hostname not in ("localhost", "127.0.0.1"):
        # The local stage calls loopback receivers only, and resolves no other name (no DNS).
        return "the local stage delivers to loopback receivers only (localhost, 127.0.0.1)"
    problem = refusal(url, settings.local)
    return None if problem is None else f"refused: {problem}"


def _events_problem(events: object) -> str | None:
    if not isinstance(events, list) or not events:
        return f"a non-empty list of event types: {', '.join(resources.WEBHOOK_EVENT_TYPES)}"
    unknown = [event for event in events if event not in resources.WEBHOOK_EVENT_TYPES]
    if unknown:
        return f"unknown event type(s) {unknown}; known: {', '.join(resources.WEBHOOK_EVENT_TYPES)}"
    if len(set(events)) != len(events):
        return "each event type once"
    return None


def _checked_body(
    payload: Any, settings: WebhookSettings, refusal: Refusal, *, partial: bool
) -> dict[str, Any]:
    # null is a value like any other (the document states no field as nullable): refused by type.
    body = dict(json_object(payload))
    details = unknown_fields(body, {"url", "events", "description"} | ({"enabled"} if partial else set()))
    for name in ("url", "events"):
        if name not in body and not partial:
            details.append({"field": name, "problem": "required"})
    if "url" in body and (problem := _url_problem(body["url"], settings, refusal)):
        details.append({"field": "url", "problem": problem})
    if "events" in body and (problem := _events_problem(body["events"])):
        details.append({"field": "events", "problem": problem})
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        details.append({"field": "description", "problem": f"a string of at most {MAX_DESCRIPTION_LENGTH}"})
    if "enabled" in body and not isinstance(body["enabled"], bool):
        details.append({"field": "enabled", "problem": "true or false"})
    if details:
        raise validation_failed(details)
    return body


def _unavailable(error: DependencyUnavailable) -> ServiceError:
    return dependency_unavailable(error.dependency)


# ---------------------------------------------------------------------------- endpoints
def _own(webhooks: Webhooks, client_id: str, webhook_id: str) -> StoredWebhook:
    """The client's endpoint; another client's, or none, is the same 404."""
    if not is_uuid(webhook_id):
        raise not_found("webhook")
    try:
        stored = webhooks.store.get_endpoint(webhook_id)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    if stored is None or stored["client_id"] != client_id:
        raise not_found("webhook")
    return stored


def create_endpoint(webhooks: Webhooks, client_id: str, payload: Any) -> WebhookCreated:
    body = _checked_body(payload, webhooks.settings, webhooks.refusal, partial=False)
    secret = new_secret()
    now = now_iso()
    endpoint: WebhookEndpoint = {
        "webhook_id": str(uuid.uuid4()),
        "url": body["url"],
        "events": list(body["events"]),
        "description": body.get("description", ""),
        "state": "enabled",
        "state_reason": None,
        "created_at": now,
        "updated_at": now,
    }
    try:
        if len(webhooks.store.endpoints_of(client_id)) >= resources.WEBHOOK_MAX_ENDPOINTS_PER_CLIENT:
            raise ServiceError(
                409,
                "too_many_webhooks",
                f"at most {resources.WEBHOOK_MAX_ENDPOINTS_PER_CLIENT} webhooks per client",
            )
        webhooks.store.create_endpoint(
            {
                "endpoint": endpoint,
                "client_id": client_id,
                "secret_ciphertext": webhooks.cipher.encrypt(secret),
            }
        )
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    webhooks.subscriptions.forget(client_id)
    logger.info("webhook created", extra={"webhook_id": endpoint["webhook_id"]})
    return {**endpoint, "secret": secret}


def list_endpoints(webhooks: Webhooks, client_id: str) -> WebhookList:
    try:
        stored = webhooks.store.endpoints_of(client_id)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    return {"items": [item["endpoint"] for item in stored]}


def get_endpoint(webhooks: Webhooks, client_id: str, webhook_id: str) -> WebhookEndpoint:
    return _own(webhooks, client_id, webhook_id)["endpoint"]


def update_endpoint(webhooks: Webhooks, client_id: str, webhook_id: str, payload: Any) -> WebhookEndpoint:
    stored = _own(webhooks, client_id, webhook_id)
    body = _checked_body(payload, webhooks.settings, webhooks.refusal, partial=True)
    endpoint = stored["endpoint"]
    if "url" in body:
        endpoint["url"] = body["url"]
    if "description" in body:
        endpoint["description"] = body["description"]
    if "events" in body:
        endpoint["events"] = list(body["events"])
    if "enabled" in body:
        # Enabling again also clears "failing": the lender says the receiver is fixed.
        endpoint["state"], endpoint["state_reason"] = (
            ("enabled", None) if body["enabled"] else ("disabled", "disabled by the client")
        )
    endpoint["updated_at"] = now_iso()
    try:
        webhooks.store.put_endpoint(stored)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    webhooks.subscriptions.forget(client_id)
    return endpoint


def delete_endpoint(webhooks: Webhooks, client_id: str, webhook_id: str) -> None:
    _own(webhooks, client_id, webhook_id)
    try:
        webhooks.store.delete_endpoint(webhook_id)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    webhooks.subscriptions.forget(client_id)


def rotate_secret(webhooks: Webhooks, client_id: str, webhook_id: str) -> WebhookCreated:
    """A new secret; the previous one keeps signing (beside it) for WEBHOOK_ROTATION_OVERLAP_SECONDS."""
    stored = _own(webhooks, client_id, webhook_id)
    secret = new_secret()
    try:
        stored["previous_secret_ciphertext"] = stored["secret_ciphertext"]
        stored["previous_secret_expires_at"] = now_epoch() + resources.WEBHOOK_ROTATION_OVERLAP_SECONDS
        stored["secret_ciphertext"] = webhooks.cipher.encrypt(secret)
        stored["endpoint"]["updated_at"] = now_iso()
        webhooks.store.put_endpoint(stored)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    return {**stored["endpoint"], "secret": secret}


def send_test(webhooks: Webhooks, client_id: str, webhook_id: str) -> WebhookDelivery:
    """A ``webhook.test`` ping to this endpoint (whatever it subscribed to), logged as a delivery."""
    stored = _own(webhooks, client_id, webhook_id)
    event_id = str(uuid.uuid4())
    payload = _payload(resources.WEBHOOK_PING, now_iso(), {"webhook_id": webhook_id, "ping": event_id})
    try:
        delivery = _new_delivery(webhooks, stored, resources.WEBHOOK_PING, event_id, payload)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    return delivery or _delivery_of(webhooks, _delivery_id(event_id, resources.WEBHOOK_PING, webhook_id))


# ---------------------------------------------------------------------------- the delivery log
def list_deliveries(
    webhooks: Webhooks,
    client_id: str,
    webhook_id: str,
    *,
    status: str | None,
    limit: str | None,
    cursor: str | None,
) -> DeliveryList:
    _own(webhooks, client_id, webhook_id)
    problems = Problems()
    if status is not None and status not in DELIVERY_STATUSES:
        problems.add("status", f"one of {', '.join(DELIVERY_STATUSES)}")
    size = page_size(limit, problems)
    problems.raise_if_any()
    query = {"webhook_id": webhook_id, "status": status}
    start = cursors.decode(cursor, client_id, query)
    try:
        items, last = webhooks.store.query_deliveries(webhook_id, status, size, start)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    return {"items": items, "next_cursor": cursors.encode(last, client_id, query)}


def _delivery_of(webhooks: Webhooks, delivery_id: str) -> WebhookDelivery:
    try:
        stored = webhooks.store.get_delivery(delivery_id)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    if stored is None:
        raise not_found("delivery")
    return stored["delivery"]


def redeliver(webhooks: Webhooks, client_id: str, webhook_id: str, delivery_id: str) -> RedeliveryAccepted:
    """Send a delivery again (same webhook-id, a fresh timestamp and signature), with its retries."""
    _own(webhooks, client_id, webhook_id)
    if not is_uuid(delivery_id):
        raise not_found("delivery")
    try:
        stored = webhooks.store.get_delivery(delivery_id)
        if stored is None or stored["delivery"]["webhook_id"] != webhook_id or "payload" not in stored:
            raise not_found("delivery")
        delivery = stored["delivery"]
        if delivery["status"] != "pending":
            delivery["status"] = "pending"
            delivery["next_attempt_at"] = now_iso()
            webhooks.store.put_delivery(stored)
            _send_attempt(webhooks, delivery, attempt=1, wait=0.0)
    except DependencyUnavailable as error:
        raise _unavailable(error) from None
    return {"delivery_id": delivery_id, "status": "pending"}


# ---------------------------------------------------------------------------- fan-out
def _payload(event_type: str, timestamp: str, data: Mapping[str, object]) -> str:
    """The body (Standard Webhooks' recommended shape): type, timestamp, data; no personal data."""
    return json.dumps({"type": event_type, "timestamp": timestamp, "data": dict(data)}, separators=(",", ":"))


def _delivery_id(event_id: str, event_type: str, webhook_id: str) -> str:
    return str(uuid.uuid5(_DELIVERY_NAMESPACE, f"{event_id}|{event_type}|{webhook_id}"))


def webhook_types(event: DecisionEvent) -> list[str]:
    """The webhook event types of a published event: an application's decision is also
    ``application.decided``."""
    if event.detail_type == resources.DECISION_MADE and event.application_id is not None:
        return [resources.DECISION_MADE, resources.APPLICATION_DECIDED]
    return [event.detail_type]


def enqueue_events(webhooks: Webhooks, events: list[DecisionEvent]) -> None:
    """Queue each event once for the fan-out, if the client subscribed to it (as this process last
    read, :class:`SubscriptionCache`). Best effort, like publishing: never fails a decision."""
    for event in events:
        types = webhook_types(event)
        subscribed = webhooks.subscriptions.subscribed(webhooks.store, event.client_id)
        if subscribed is not None and subscribed.isdisjoint(types):
            continue  # no endpoint of this client wants it: no message, no fan-out
        detail = event.detail()
        del detail["client_id"]  # the receiver knows who it is
        message: dict[str, object] = {
            "kind": "event",
            "client_id": event.client_id,
            "types": types,
            "detail": detail,
        }
        try:
            webhooks.queue.send(message)
        except DependencyUnavailable as error:
            logger.warning("webhook event not queued", extra={"cause": error.cause})
            count("WebhookEventsNotQueued")


def _new_delivery(
    webhooks: Webhooks, stored: StoredWebhook, event_type: str, event_id: str, payload: str
) -> WebhookDelivery | None:
    endpoint = stored["endpoint"]
    delivery: WebhookDelivery = {
        "delivery_id": _delivery_id(event_id, event_type, endpoint["webhook_id"]),
        "webhook_id": endpoint["webhook_id"],
        "event_type": event_type,
        "event_id": event_id,
        "status": "pending",
        "created_at": now_iso(),
        "next_attempt_at": now_iso(),
        "attempts": [],
    }
    record: StoredDelivery = {
        "delivery": delivery,
        "client_id": stored["client_id"],
        "payload": payload,
        "expires_at": now_epoch() + webhooks.settings.retention_seconds,
    }
    if not webhooks.store.create_delivery(record):
        existing = webhooks.store.get_delivery(delivery["delivery_id"])
        if (
            existing is None
            or existing["delivery"]["status"] != "pending"
            or existing["delivery"]["attempts"]
        ):
            return None  # fanned out before, and already on its way
        delivery = existing["delivery"]  # created, but its first attempt may not have been queued
    _send_attempt(webhooks, delivery, attempt=1, wait=0.0)
    return delivery


def _fan_out(webhooks: Webhooks, message: Mapping[str, Any]) -> None:
    detail: dict[str, object] = message["detail"]
    # A decision's events by its decision id; batch.completed (issue 19) by its batch id.
    event_id = str(detail.get("decision_id") or detail.get("batch_id", ""))
    timestamp = str(detail.get("decided_at") or detail.get("completed_at") or now_iso())
    for stored in webhooks.store.endpoints_of(str(message["client_id"])):
        endpoint = stored["endpoint"]
        if endpoint["state"] == "disabled":
            continue
        for event_type in message["types"]:
            if event_type in endpoint["events"]:
                _new_delivery(webhooks, stored, event_type, event_id, _payload(event_type, timestamp, detail))


# ---------------------------------------------------------------------------- attempts
def _send_attempt(webhooks: Webhooks, delivery: WebhookDelivery, *, attempt: int, wait: float) -> None:
    """Queue attempt number ``attempt`` (of this run) after ``wait`` seconds. ``seen``: the attempts
    logged so far, so a duplicate SQS message for an attempt already made is dropped."""
    webhooks.queue.send(
        {
            "kind": "attempt",
            "delivery_id": delivery["delivery_id"],
            "attempt": attempt,
            "seen": len(delivery["attempts"]),
            "not_before": time.time() + wait,
        },
        delay_seconds=math.ceil(wait),
    )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _signing_secrets(webhooks: Webhooks, stored: StoredWebhook) -> list[str]:
    signing = [webhooks.cipher.decrypt(stored["secret_ciphertext"])]
    previous = stored.get("previous_secret_ciphertext")
    if previous and stored.get("previous_secret_expires_at", 0) > now_epoch():
        signing.append(webhooks.cipher.decrypt(previous))
    return signing


def _set_endpoint_state(webhooks: Webhooks, webhook_id: str, state: WebhookState, reason: str | None) -> None:
    stored = webhooks.store.get_endpoint(webhook_id)
    if stored is None or stored["endpoint"]["state"] == state or stored["endpoint"]["state"] == "disabled":
        return
    stored["endpoint"]["state"] = state
    stored["endpoint"]["state_reason"] = reason
    stored["endpoint"]["updated_at"] = now_iso()
    webhooks.store.put_endpoint(stored)


def _settle(webhooks: Webhooks, record: StoredDelivery, status: DeliveryStatus) -> None:
    record["delivery"]["status"] = status
    record["delivery"]["next_attempt_at"] = None
    webhooks.store.put_delivery(record)


def _attempt(webhooks: Webhooks, message: Mapping[str, Any]) -> None:
    record = webhooks.store.get_delivery(str(message["delivery_id"]))
    if record is None or "payload" not in record:
        return
    delivery = record["delivery"]
    if delivery["status"] != "pending" or len(delivery["attempts"]) != message["seen"]:
        return  # settled, or a duplicate of an attempt already made
    early = float(message["not_before"]) - time.time()
    if early > 1:
        # SQS delays at most 15 minutes: the rest of a longer wait is another hop.
        webhooks.queue.send(dict(message), delay_seconds=math.ceil(early))
        return
    stored = webhooks.store.get_endpoint(delivery["webhook_id"])
    if stored is None or stored["endpoint"]["state"] == "disabled":
        delivery["attempts"].append(
            {
                "attempted_at": now_iso(),
                "status_code": None,
                "latency_ms": 0,
                "error": "endpoint deleted" if stored is None else "endpoint disabled",
            }
        )
        _settle(webhooks, record, "failed")
        return
    body = record["payload"].encode()
    headers = delivery_headers(
        _signing_secrets(webhooks, stored), delivery["delivery_id"], int(time.time()), body
    )
    attempted_at = now_iso()
    answer = webhooks.post(
        stored["endpoint"]["url"], headers, body, resources.WEBHOOK_TIMEOUT_SECONDS, webhooks.settings.local
    )
    logged: DeliveryAttempt = {
        "attempted_at": attempted_at,
        "status_code": answer.status_code,
        "latency_ms": answer.latency_ms,
        "error": answer.error
        or (
            None if answer.status_code is not None and 200 <= answer.status_code < 300 else "not a 2xx answer"
        ),
    }
    delivery["attempts"].append(logged)
    code = answer.status_code
    if code is not None and 200 <= code < 300:
        _settle(webhooks, record, "delivered")
        count("WebhooksDelivered")
        if stored["endpoint"]["state"] == "failing":
            _set_endpoint_state(webhooks, delivery["webhook_id"], "enabled", None)
        return
    count("WebhookAttemptsFailed")
    if code == 410:
        _settle(webhooks, record, "failed")
        _set_endpoint_state(webhooks, delivery["webhook_id"], "disabled", "the receiver answered 410 Gone")
        return
    wait = retry_wait(int(message["attempt"]), webhooks.settings.retry_scale, random.uniform)
    if wait is None:
        _settle(webhooks, record, "failed")
        count("WebhookDeliveriesFailed")
        _set_endpoint_state(
            webhooks,
            delivery["webhook_id"],
            "failing",
            f"delivery {delivery['delivery_id']} failed every attempt",
        )
        return
    delivery["next_attempt_at"] = _iso(time.time() + wait)
    webhooks.store.put_delivery(record)
    _send_attempt(webhooks, delivery, attempt=int(message["attempt"]) + 1, wait=wait)


def handle_message(webhooks: Webhooks, message: Mapping[str, Any]) -> None:
    """One queue message: an event to fan out, or one delivery attempt. Raises
    DependencyUnavailable (the message comes back after its visibility timeout)."""
    if message.get("kind") == "event":
        _fan_out(webhooks, message)
    elif message.get("kind") == "attempt":
        _attempt(webhooks, message)
    else:
        logger.warning("unknown webhook message dropped", extra={"kind": str(message.get("kind"))})


def handle_batch(webhooks: Webhooks, event: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """An SQS batch, its messages side by side; reports those to retry (ReportBatchItemFailures)."""
    records: list[Mapping[str, Any]] = list(event.get("Records", []))

    def one(record: Mapping[str, Any]) -> str | None:
        try:
            handle_message(webhooks, json.loads(record["body"]))
        except DependencyUnavailable as error:
            logger.warning("webhook message retried", extra={"cause": error.cause})
            return str(record["messageId"])
        except (ValueError, KeyError, TypeError):
            logger.warning("malformed webhook message dropped")
        return None

    if len(records) <= 1:
        failed = [one(record) for record in records]
    else:
        # Imported here: the API function (which imports this module to queue events) never needs it.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(PARALLEL_DELIVERIES, len(records))) as pool:
            failed = list(pool.map(one, records))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed if message_id]}
