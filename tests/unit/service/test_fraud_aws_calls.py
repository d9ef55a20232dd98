"""What the fraud signals add per application, counted on the DynamoDB client (moto in-process):
the requests made (sent together: one round trip of latency) and the write units they cost (1 per
KB per item written, rounded up per item,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/provisioned-capacity-mode.html).
The figures go to the benchmark's table; these tests keep them from growing unnoticed."""

from __future__ import annotations

import math
from typing import Any

import pytest

from chalicelib.service import decisions
from tests.unit.service.test_fraud_signals import PAN, strong

ALL_SIGNALS = {
    "pan": PAN,
    "aadhaar": "2345 6789 0123",
    "phone": "9876543210",
    "email": "asha@example.com",
    "device_id": "dev-1",
    "ip_address": "203.0.113.9",
}


def _dynamodb_requests(aws: Any, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, params))

    client = aws.aws_clients["dynamodb"]
    client.meta.events.register("provide-client-params.dynamodb.*", record)
    try:
        decisions.make_decision(payload, aws, "client-a")
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", record)
    return calls


def _counter_item_kb(aws: Any) -> list[float]:
    """Sizes of the counter items (attribute names + values, bytes / 1024)."""
    client = aws.aws_clients["dynamodb"]
    items = client.scan(TableName=aws.settings.fraud_counters_table)["Items"]
    sizes = []
    for item in items:
        size = 0
        for name, value in item.items():
            size += len(name)
            if "S" in value:
                size += len(value["S"])
            elif "N" in value:
                size += len(value["N"])
            else:
                size += sum(len(v) for v in value["SS"])
        sizes.append(size / 1024)
    return sizes


@pytest.mark.parametrize(("signals", "items"), [({"pan": PAN}, 1), (ALL_SIGNALS, 6)])
def test_the_added_requests_and_write_units_per_application(
    aws: Any, signals: dict[str, str], items: int
) -> None:
    # A first decision reads the routing document (once per cache interval): outside both counts.
    _dynamodb_requests(aws, strong(loan_amount=520_000))
    baseline = [name for name, _ in _dynamodb_requests(aws, strong(loan_amount=510_000))]
    with_signals = _dynamodb_requests(aws, strong(**signals))
    added = [name for name, _ in with_signals]
    for name in baseline:
        added.remove(name)
    assert sorted(added) == sorted(["UpdateItem"] * items + ["BatchGetItem"])
    write_units = sum(math.ceil(kb) for kb in _counter_item_kb(aws))
    assert write_units == items  # a fresh item is far under 1 KB
    print(f"\n{items} counted value(s): +{len(added)} DynamoDB requests, {write_units} write units")
