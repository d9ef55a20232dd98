"""Fraud and velocity signals through the local stack: HTTP to ``chalice local``, counters on the
moto server (or LocalStack under ``make localstack-test``)."""

from __future__ import annotations

import random
import string
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.dal.fraud import parse_elements
from chalicelib.engine.lending_policy import packaged_policy
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
        if set(parse_elements(item["seen"]["SS"])) & decision_ids
    ]


def _pan_flag(body: dict[str, Any]) -> dict[str, Any] | None:
    return next((f for f in body["risk_flags"] if f["code"].startswith("FRD-PAN")), None)


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
    bodies = {body["decision_id"]: body for body in (r.json() for r in responses)}
    assert not [
        body for body in bodies.values() if any(f["code"] == "FRD-UNCHECKED" for f in body["risk_flags"])
    ]
    # Stored: every submission once, with the time it was counted at (one item, or two if the run
    # crossed a bucket boundary); the PAN itself is nowhere.
    items = _counter_items_holding(stack, set(bodies))
    times = {
        submission: at for item in items for submission, at in parse_elements(item["seen"]["SS"]).items()
    }
    assert set(times) == set(bodies)
    assert payload["pan"] not in str(items)

    # A submission counts, as of its own time, those stored before it (itself included) with a time
    # no later than its own: at least 1, at most all with such a time. ADD is atomic, so two
    # submissions of the same second never saw the same count; below the lowest tier there is no flag.
    tiers = sorted(
        (r for r in packaged_policy().fraud.count_rules if r.signal == "pan"), key=lambda r: r.at_least
    )
    for second in sorted(set(times.values())):
        same_second = [bodies[d] for d, at in times.items() if at == second]
        no_later = sum(1 for at in times.values() if at <= second)
        flags = [_pan_flag(body) for body in same_second]
        counts = [flag["evidence"]["count"] for flag in flags if flag]
        assert all(tiers[0].at_least <= n <= no_later for n in counts), (second, counts, no_later)
        assert len(set(counts)) == len(counts), (second, counts)
        assert len(flags) - len(counts) <= tiers[0].at_least - 1, (second, flags)
        for body, flag in zip(same_second, flags, strict=True):
            if flag is not None:
                tier = max(
                    (r for r in tiers if r.at_least <= flag["evidence"]["count"]), key=lambda r: r.at_least
                )
                assert (flag["code"], flag["severity"]) == (tier.code, tier.severity)
                assert tier.severity != "high" or body["outcome"] != "approved"
        # The burst is caught: distinct counts in a second of n submissions reach n.
        if len(same_second) >= tiers[-1].at_least:
            assert any(flag and flag["code"] == tiers[-1].code for flag in flags), (second, flags)


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
