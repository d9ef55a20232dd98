"""Fraud and velocity signals through the local stack: HTTP to ``chalice local``, counters on the
moto server (or LocalStack under ``make localstack-test``)."""

from __future__ import annotations

import random
import string
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from devstack.client import ApiClient
from devstack.samples import sample_application
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

CONCURRENT = 50


def _unique_pan() -> str:
    # A PAN no other test (or earlier run on the same stack) has used: the counts start at zero.
    letters = "".join(random.choices(string.ascii_uppercase, k=5))
    return f"{letters}{random.randint(0, 9999):04d}{random.choice(string.ascii_uppercase)}"


def _counter_items_holding(stack: DevStack, decision_ids: set[str]) -> list[dict[str, Any]]:
    dynamodb = stack.client("dynamodb")
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=stack.names["FRAUD_COUNTERS_TABLE"], ConsistentRead=True
    )
    return [
        item
        for page in pages
        for item in page["Items"]
        if {element.partition(":")[2] for element in item["seen"]["SS"]} & decision_ids
    ]


def test_concurrent_identical_submissions_are_counted_exactly(api: ApiClient, stack: DevStack) -> None:
    payload = {
        **sample_application(),
        "pan": _unique_pan(),
        "loan_amount": 400_000,
        "monthly_income": 150_000,
    }
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        responses = list(pool.map(lambda _: api.post("/v1/decisions", payload), range(CONCURRENT)))

    assert [r.status_code for r in responses] == [200] * CONCURRENT, [
        r.text for r in responses if r.status_code != 200
    ]
    bodies = [r.json() for r in responses]
    decision_ids = {body["decision_id"] for body in bodies}
    pan_counts = sorted(
        flag["evidence"]["count"]
        for body in bodies
        for flag in body["risk_flags"]
        if flag["code"].startswith("FRD-PAN")
    )
    assert not [body for body in bodies if any(f["code"] == "FRD-UNCHECKED" for f in body["risk_flags"])]
    # Each submission sees at least those committed before it; the last one sees all 50, no more.
    assert pan_counts[-1] == CONCURRENT
    high = [body for body in bodies if any(f["code"] == "FRD-PAN-REPEAT-HIGH" for f in body["risk_flags"])]
    assert len(high) >= CONCURRENT - 5 and all(body["outcome"] != "approved" for body in high)
    # Stored: one counter item for this PAN holding exactly the 50 submissions.
    [item] = _counter_items_holding(stack, decision_ids)
    assert {element.partition(":")[2] for element in item["seen"]["SS"]} == decision_ids
    assert payload["pan"] not in str(item)


def test_a_device_burst_goes_to_the_review_desk_with_a_critical_flag(api: ApiClient) -> None:
    device = "it-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=12))
    bodies = []
    for i in range(5):
        payload = {**sample_application(), "device_id": device, "loan_amount": 300_000 + 1000 * i}
        response = api.post("/v1/decisions", payload)
        assert response.status_code == 200, response.text
        bodies.append(response.json())
    last = bodies[-1]
    assert {
        "code": "FRD-DEVICE-BURST",
        "severity": "critical",
        "evidence": {"count": 5, "window_seconds": 300},
    } in (last["risk_flags"])
    assert last["outcome"] != "approved"
    stored = api.get(f"/v1/decisions/{last['decision_id']}").json()
    assert stored["risk_flags"] == last["risk_flags"]


@pytest.mark.parametrize(
    ("field", "value"), [("ip_address", "300.1.2.3"), ("device_id", "<script>"), ("pan", "ABCD1234F")]
)
def test_a_malformed_identity_or_session_field_is_a_400_naming_it(
    api: ApiClient, field: str, value: str
) -> None:
    response = api.post("/v1/decisions", {**sample_application(), field: value})
    assert response.status_code == 400, response.text
    assert [detail["field"] for detail in response.json()["error"]["details"]] == [field]
