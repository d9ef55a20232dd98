"""The registry's two list queries on DynamoDB (moto in-process): every version in id order, and
the routing changes still proposed (the filter leaves applied and superseded ones out)."""

from __future__ import annotations

from typing import Any

from chalicelib.dal import versions_aws
from chalicelib.dal.versions import RoutingChange, empty_routing
from tests.support.versions import policy_with_bands, register


def change(change_id: str, state: Any, proposed_at: str) -> RoutingChange:
    return {
        "change_id": change_id,
        "action": "promote",
        "version_id": "v2",
        "role": "challenger",
        "share": 10,
        "reason": "test",
        "proposed_by": "modelrisk1",
        "proposed_at": proposed_at,
        "base_revision": 0,
        "routing_after": empty_routing(),
        "state": state,
    }


def test_versions_in_id_order_and_only_proposed_changes(aws: Any) -> None:
    store = versions_aws.AWSVersionStore.for_settings(aws.aws_clients["dynamodb"], aws.settings)
    ids = [register(store, policy_with_bands(0.7, 0.5, f"1.{n}"), label=f"v{n}") for n in range(11)]
    for change_id, state, at in (
        ("c-late", "proposed", "2026-12-02T00:00:00Z"),
        ("c-applied", "applied", "2026-12-01T12:00:00Z"),
        ("c-early", "proposed", "2026-12-01T00:00:00Z"),
        ("c-old", "superseded", "2026-11-30T00:00:00Z"),
    ):
        store.put_change(change(change_id, state, at))

    assert [record["version_id"] for record in store.list_versions()] == ids  # v10 after v9
    assert [c["change_id"] for c in store.proposed_changes()] == ["c-early", "c-late"]
