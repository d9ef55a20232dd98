"""Routing without a deploy, over real HTTP on a local stack of its own (moto server, ``chalice local``,
a queue worker): a version registered in the registry's table and bucket and made champion reaches
new synchronous and asynchronous decisions within a minute, shadows are stored in the decision's
own item and never answered, and a stored decision can be re-decided with another version.

Its own stack because it changes the routing document, which every other test expects empty. The
routing cache is shortened by configuration (``ROUTING_CACHE_SECONDS``) so the polls end in seconds;
the deadline is the issue's: a promotion shows in new decisions within 60 s.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config

from chalicelib import engine
from chalicelib.config import load_settings
from chalicelib.dal.versions_aws import AWSVersionStore
from chalicelib.engine.artifact import ARTIFACT_PATH, canonical_json
from chalicelib.service import routing
from devstack.client import ApiClient
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack
from tests.support.versions import policy_with_bands, register, route

pytestmark = pytest.mark.integration

PROMOTION_DEADLINE_SECONDS = 60  # issue 18: a promotion shows in new decisions within 60 s
TEST_ROUTING_CACHE_SECONDS = "3"
LENIENT = policy_with_bands(0.05, 0.01, "lenient-it")


@pytest.fixture(scope="module")
def routing_stack(start_stack: Callable[..., DevStack]) -> DevStack:
    previous = os.environ.get(routing.ROUTING_CACHE_SECONDS_ENV)
    os.environ[routing.ROUTING_CACHE_SECONDS_ENV] = TEST_ROUTING_CACHE_SECONDS  # the children inherit it
    try:
        return start_stack("routing", workers=1, reconcile_every_seconds=None)
    finally:
        if previous is None:
            del os.environ[routing.ROUTING_CACHE_SECONDS_ENV]
        else:
            os.environ[routing.ROUTING_CACHE_SECONDS_ENV] = previous


@pytest.fixture(scope="module")
def routing_api(routing_stack: DevStack) -> ApiClient:
    return ApiClient(routing_stack.api_url, routing_stack.api_headers())


@pytest.fixture(scope="module")
def registry(routing_stack: DevStack) -> AWSVersionStore:
    """The registry the stack's processes read, written directly (what the staff routes do after
    their gates and maker-checker)."""
    settings = load_settings(routing_stack.env())
    store = AWSVersionStore(
        routing_stack.client("dynamodb"), settings.versions_table, settings.versions_bucket, settings.region
    )
    store.__dict__["_s3"] = _path_style_s3(routing_stack)  # the emulator serves buckets under one host
    return store


def _path_style_s3(stack: DevStack) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=stack.endpoint_url,
        region_name=load_settings(stack.env()).region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(s3={"addressing_style": "path"}),
    )


def decide(api: ApiClient, payload: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/v1/decisions", payload)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_promotion_reaches_new_decisions_within_a_minute(
    routing_stack: DevStack, routing_api: ApiClient, registry: AWSVersionStore
) -> None:
    payload = applications(6)[5]
    assert decide(routing_api, payload)["decision_version"] == "v1"  # an empty registry
    lenient = register(registry, LENIENT, label="lenient")
    route(registry, lenient, shadows=["v1"])

    body = wait_until(
        lambda: (answer := decide(routing_api, payload))["decision_version"] == lenient and answer,
        PROMOTION_DEADLINE_SECONDS,
        f"sync decisions by {lenient}",
        0.5,
    )

    packaged_model = engine.packaged_version().model
    logic = routing.build_logic(
        packaged_model.sha256,
        ARTIFACT_PATH.read_bytes(),
        engine.load_policy(LENIENT).sha256,
        canonical_json(LENIENT),
    )
    assert body["arm"] == "champion" and body["stored"] is True
    assert body["outcome"] == engine.decide(engine.validate_application(payload), *logic)["outcome"]
    assert "shadows" not in body
    # The shadow is in the decision's own item (one write), and the record never answers it.
    item = routing_stack.client("dynamodb").get_item(
        TableName=load_settings(routing_stack.env()).decisions_table,
        Key={"decision_id": {"S": body["decision_id"]}},
        ConsistentRead=True,
    )["Item"]
    assert item["decision_version"]["S"] == lenient and item["arm"]["S"] == "champion"
    assert "shadows" in item
    on_record = routing_api.get(f"/v1/decisions/{body['decision_id']}").json()
    assert on_record["decision_version"] == lenient and on_record["arm"] == "champion"
    assert "shadows" not in on_record

    # The queue worker reads the same routing.
    submitted = routing_api.post("/v1/applications", payload)
    assert submitted.status_code == 202, submitted.text
    status_url = f"/v1/applications/{submitted.json()['application_id']}"
    decided = wait_until(
        lambda: (status := routing_api.get(status_url).json())["status"] == "DECIDED" and status,
        PROMOTION_DEADLINE_SECONDS,
        "the queued application decided",
        0.5,
    )
    async_record = routing_api.get(f"/v1/decisions/{decided['decision_id']}").json()
    assert async_record["decision_version"] == lenient

    # Re-decided with the packaged version: both side by side, nothing stored.
    rerun = routing_api.post(f"/v1/decisions/{body['decision_id']}/rerun", {"version": "v1"})
    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["on_record"]["decision_version"] == lenient
    assert rerun.json()["rerun"]["decision_version"] == "v1"
    assert (
        routing_api.post(f"/v1/decisions/{body['decision_id']}/rerun", {"version": "v99"}).status_code == 404
    )

    # Back to the packaged version (a rollback): new decisions follow within the same deadline.
    route(registry, "v1")
    wait_until(
        lambda: decide(routing_api, payload)["decision_version"] == "v1",
        PROMOTION_DEADLINE_SECONDS,
        "sync decisions by v1 again",
        0.5,
    )
