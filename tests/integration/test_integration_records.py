"""Clients and records over HTTP against the real local stack (moto server, chalice local with the
gateway emulation, the queue worker, the reconciler on its timer): isolation between two API keys,
decisions on record, lists, decision events through EventBridge to SQS, and the reconciler
finishing an application whose submit answered 503 although its PENDING write landed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import engine, resources
from chalicelib.config import load_settings
from chalicelib.dal.aws import DynamoDBLoanStore
from chalicelib.service.applications import pending_record
from devstack.client import ApiClient
from devstack.gateway import local_api_key_id
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

DECIDED_WITHIN_SECONDS = 90


@pytest.fixture(scope="module")
def partner(stack: DevStack) -> ApiClient:
    """A second client: the partner usage plan's local key is another API key."""
    return ApiClient(stack.api_url, stack.api_headers("partner"))


def decided(api: ApiClient, application_id: str) -> dict[str, Any]:
    def status() -> dict[str, Any] | None:
        body: dict[str, Any] = api.get(f"/v1/applications/{application_id}").json()
        return body if body["status"] != "PENDING" else None

    return wait_until(status, DECIDED_WITHIN_SECONDS, f"{application_id} to leave PENDING", interval=0.3)


def test_two_clients_with_one_idempotency_key_get_two_applications_and_see_only_their_own(
    api: ApiClient, partner: ApiClient
) -> None:
    key = {"Idempotency-Key": f"order-{uuid.uuid4().hex[:8]}"}
    [payload] = applications(1)
    mine = api.post("/v1/applications", payload, headers=key)
    theirs = partner.post("/v1/applications", payload, headers=key)
    assert mine.status_code == theirs.status_code == 202
    assert "Idempotent-Replayed" not in theirs.headers
    my_id, their_id = mine.json()["application_id"], theirs.json()["application_id"]
    assert my_id != their_id

    assert api.get(f"/v1/applications/{their_id}").status_code == 404
    assert partner.get(f"/v1/applications/{my_id}").status_code == 404
    decision_id = decided(api, my_id)["decision_id"]
    assert api.get(f"/v1/decisions/{decision_id}").status_code == 200
    foreign = partner.get(f"/v1/decisions/{decision_id}")
    unknown = partner.get(f"/v1/decisions/{uuid.uuid4()}")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"] == unknown.json()["error"]


def test_lists_page_through_one_clients_records_newest_first(api: ApiClient, partner: ApiClient) -> None:
    ids = []
    for payload in applications(5):
        response = api.post("/v1/decisions", payload)
        assert response.status_code == 200, response.text
        ids.append(response.json()["decision_id"])
    partner.post("/v1/decisions", applications(1)[0])
    since = api.get(f"/v1/decisions/{ids[0]}").json()["created_at"]

    seen: list[str] = []
    cursor = None
    signed = ""
    while True:
        params = {"limit": "2", "from": since, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/decisions", params=params)
        assert page.status_code == 200, page.text
        seen += [item["decision_id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        signed = cursor
    # Other tests of this session decide too: the caller's own, in order, newest first.
    assert [decision_id for decision_id in seen if decision_id in ids] == list(reversed(ids))
    # A cursor of the right shape whose signature does not match: the API's own refusal (a value not
    # even shaped like a cursor fails the declared pattern instead: invalid_parameter).
    payload, signature = signed.split(".")
    middle = len(signature) // 2  # a whole 6-bit character of the HMAC (the last one has spare bits)
    flipped = "A" if signature[middle] != "A" else "B"
    forged = f"{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"
    tampered = api.get("/v1/decisions", params={"cursor": forged})
    assert tampered.status_code == 400 and tampered.json()["error"]["code"] == "invalid_cursor", tampered.text


def test_a_decision_event_reaches_the_local_events_queue(api: ApiClient, stack: DevStack) -> None:
    sqs = stack.client("sqs")
    queue_name = stack.resource_name(resources.DECISION_EVENTS_BUS.local_queue_suffix)
    queue_url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    decision_id = api.post("/v1/decisions", applications(1)[0]).json()["decision_id"]

    def our_event() -> dict[str, Any] | None:
        # Deleting what is read: every event is looked at once, however many others are queued.
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in messages.get("Messages", []):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            # Other event types share the queue (a batch.completed has no decision_id).
            if event["detail"].get("decision_id") == decision_id:
                return event
        return None

    event = wait_until(our_event, 60, f"decision.made of {decision_id} on the events queue")
    assert event["detail-type"] == resources.DECISION_MADE
    assert event["source"] == resources.DECISION_EVENTS_BUS.source
    assert event["detail"]["client_id"] == local_api_key_id(stack.api_key())
    assert set(event["detail"]) <= {
        "decision_id",
        "client_id",
        "outcome",
        "decided_by",
        "model_version",
        "source",
        "decided_at",
        "application_id",
        "decision_version",
        "arm",
    }
    assert event["detail"]["decision_version"] == "v1" and event["detail"]["arm"] == "champion"


def test_the_reconciler_finishes_a_submit_that_answered_503_but_landed(
    api: ApiClient, stack: DevStack
) -> None:
    # The write DynamoDB applied while the client's PutItem timed out: PENDING, nothing queued.
    settings = load_settings(stack.env())
    store = DynamoDBLoanStore.for_settings(stack.client("dynamodb"), settings)
    application_id = str(uuid.uuid4())
    submitted = datetime.now(UTC) - timedelta(seconds=settings.pending_max_age_seconds + 5)
    [payload] = applications(1, with_personal_data=False)
    store.create_pending_application(
        pending_record(
            application_id,
            local_api_key_id(stack.api_key()),
            engine.validate_application(payload),
            submitted.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            settings.record_retention_seconds,
        )
    )

    # Nothing but the reconciler can send it to the queue: deciding it proves the re-queue.
    status = decided(api, application_id)

    assert status["status"] == "DECIDED"
    assert status["decision"]["outcome"] in {"approved", "manual_review", "declined"}
