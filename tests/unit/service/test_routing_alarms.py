"""The routing counts the alarms watch are the ones the code emits: each failure mode of routing,
provoked through the decision route, emits the metric its row in resources.ROUTING_ALARMS names
(a renamed metric would leave its alarm watching nothing)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.dal import DependencyUnavailable
from chalicelib.service import decisions, routing
from tests.support.http import body_of, post_json
from tests.support.versions import policy_with_bands, register, route


def down() -> Any:
    raise DependencyUnavailable("dynamodb", "ConnectTimeoutError")


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counts: Counter[str] = Counter()

    def count(name: str, value: float = 1) -> None:
        counts[name] += int(value)

    monkeypatch.setattr(routing, "count", count)
    monkeypatch.setattr(decisions, "count", count)
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(0))
    monkeypatch.setattr(routing, "_logic_cache", routing.LogicCache())
    return counts


def decide(client: Any, application: dict[str, Any]) -> dict[str, Any]:
    response = post_json(client, "/v1/decisions", application)
    assert response.status_code == 200, response.body
    return body_of(response)


def test_an_unloadable_challenger_counts_challenger_unavailable(chalice_client, memory, application, emitted):
    route(memory.memory_versions, "v1", {"version_id": "v9", "share": 50})  # never registered
    for row in range(10):
        decide(chalice_client, {**application, "monthly_income": 50_000 + row})
    assert emitted[resources.CHALLENGER_UNAVAILABLE_METRIC] > 0


def test_an_unloadable_shadow_counts_shadow_failed(chalice_client, memory, application, emitted):
    route(memory.memory_versions, "v1", shadows=["v9"])
    decide(chalice_client, application)
    assert emitted[resources.SHADOW_FAILED_METRIC] == 1


def test_a_failed_refresh_counts_read_failed_and_a_cold_one_falls_back(
    chalice_client, memory, application, emitted, monkeypatch
):
    strict = register(memory.memory_versions, policy_with_bands(0.99, 0.98, "strict"))
    route(memory.memory_versions, strict)
    assert decide(chalice_client, application)["decision_version"] == strict
    monkeypatch.setattr(memory.memory_versions, "get_routing", down)

    warm = decide(chalice_client, application)  # the last routing read keeps serving
    assert warm["decision_version"] == strict
    assert emitted[resources.ROUTING_READ_FAILED_METRIC] == 1
    assert emitted[resources.ROUTING_FALLBACKS_METRIC] == 0

    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(0))  # a cold process
    cold = decide(chalice_client, application)
    assert cold["decision_version"] == "v1" and cold["stored"] is False
    assert emitted[resources.ROUTING_FALLBACKS_METRIC] == 1


def test_every_routing_alarm_watches_a_metric_the_code_emits(
    chalice_client, memory, application, emitted, monkeypatch
):
    # The four failure modes in one process: an unknown challenger with all of a 50% share's
    # applicants, an unknown shadow, then the registry down on a warm and on a cold process.
    route(memory.memory_versions, "v1", {"version_id": "v9", "share": 50}, shadows=["v8"])
    for row in range(10):
        decide(chalice_client, {**application, "monthly_income": 50_000 + row})
    monkeypatch.setattr(memory.memory_versions, "get_routing", down)
    decide(chalice_client, application)
    monkeypatch.setattr(routing, "_routing_cache", routing.RoutingCache(0))
    decide(chalice_client, application)

    assert {spec.metric for spec in resources.ROUTING_ALARMS} <= set(emitted)
    assert len(resources.ROUTING_ALARMS) == 4
