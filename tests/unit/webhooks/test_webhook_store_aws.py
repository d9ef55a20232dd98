"""The webhooks' DynamoDB store, SQS queue and KMS cipher, on moto in-process (the ``aws`` fixture)."""

from __future__ import annotations

import json
from typing import Any

from standardwebhooks.webhooks import Webhook

from chalicelib import resources
from chalicelib.dal.webhooks import Answer
from chalicelib.records import DecisionEvent
from chalicelib.service import webhooks as service
from devstack.bootstrap import create_webhook_key
from tests.support.sqs import sqs_event, sqs_record

CLIENT = "client-aws"


def test_endpoints_deliveries_and_the_log_on_dynamodb_sqs_and_kms(aws: Any) -> None:
    hooks = aws.webhooks
    from chalicelib.dal.clients import make_client

    create_webhook_key(aws.settings.stage, make_client("kms", aws.settings.region))
    received: list[tuple[dict[str, str], bytes]] = []

    def post(url: str, headers: dict[str, str], body: bytes, timeout: float, local: bool) -> Answer:
        received.append((headers, body))
        return Answer(200, 2, None)

    hooks.post = post
    hooks.refusal = lambda url, local: None
    created = service.create_endpoint(
        hooks, CLIENT, {"url": "http://127.0.0.1:9/hooks", "events": [resources.DECISION_MADE]}
    )
    stored = hooks.store.get_endpoint(created["webhook_id"])
    assert created["secret"] not in json.dumps(stored)  # KMS ciphertext only
    assert service.list_endpoints(hooks, CLIENT)["items"][0]["webhook_id"] == created["webhook_id"]

    for number in range(3):
        service.enqueue_events(
            hooks,
            [
                DecisionEvent(
                    decision_id=f"0d5ef7a4-3c8e-4a8e-9a53-1a6b7c8d9e0{number}",
                    client_id=CLIENT,
                    outcome="declined",
                    decided_by="model",
                    model_version="v1",
                    source="sync",
                    decided_at=f"2026-12-07T00:00:0{number}.000Z",
                )
            ],
        )
    sqs = aws.aws_clients["sqs"]
    url = sqs.get_queue_url(QueueName=hooks.settings.queue_name)["QueueUrl"]
    for _ in range(10):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        records = [sqs_record(message["Body"]) for message in messages]
        assert service.handle_batch(hooks, sqs_event(*records)) == {"batchItemFailures": []}
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    assert len(received) == 3
    for headers, body in received:
        assert Webhook(created["secret"]).verify(body, headers)["type"] == resources.DECISION_MADE
    first = service.list_deliveries(
        hooks, CLIENT, created["webhook_id"], status="delivered", limit="2", cursor=None
    )
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = service.list_deliveries(
        hooks, CLIENT, created["webhook_id"], status="delivered", limit="2", cursor=first["next_cursor"]
    )
    assert len(rest["items"]) == 1
    assert {item["delivery_id"] for item in first["items"] + rest["items"]} == {
        h["webhook-id"] for h, _ in received
    }
    assert [check.ok for check in hooks.check()] == [True, True, True]


def test_the_kms_client_is_made_on_the_first_secret_not_at_start(aws: Any) -> None:
    from chalicelib.dal.clients import make_client
    from chalicelib.dal.webhooks import KMSSecretCipher

    made: list[str] = []

    def make_kms() -> Any:
        made.append("kms")
        return make_client("kms", aws.settings.region)

    create_webhook_key(aws.settings.stage, make_client("kms", aws.settings.region))
    cipher = KMSSecretCipher(make_kms, aws.webhooks.cipher.key_id)
    assert made == []  # a process that only decides never makes it
    ciphertext = cipher.encrypt("whsec_one")
    assert cipher.decrypt(ciphertext) == "whsec_one"
    assert cipher.encrypt("whsec_two") != ciphertext
    assert made == ["kms"]  # once per process
