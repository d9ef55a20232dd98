"""``loan_decisions_by_outcome`` on /metrics: counted where ``count_decision`` is, EMF on or off."""

from __future__ import annotations

import json
from typing import Any

from chalicelib import engine, observability
from chalicelib.observability.prometheus import DECISION_METRICS, DecisionMetrics
from devstack.samples import applications
from tests.support.http import post_json


def test_counter_renders_one_prometheus_line_per_outcome() -> None:
    counter = DecisionMetrics()
    counter.observe("approved")
    counter.observe("approved")
    counter.observe("declined")
    lines = counter.render().splitlines()
    assert "# TYPE loan_decisions_by_outcome counter" in lines
    assert 'loan_decisions_by_outcome{outcome="approved"} 2' in lines
    assert 'loan_decisions_by_outcome{outcome="declined"} 1' in lines


def test_count_decision_feeds_the_counter_even_with_emf_disabled() -> None:
    before = DECISION_METRICS.by_outcome["manual_review"]
    observability.count_decision("manual_review", "async")
    assert DECISION_METRICS.by_outcome["manual_review"] == before + 1


def _metric(body: Any, name: str) -> int:
    text = body.decode() if isinstance(body, bytes) else body
    values = dict(line.rsplit(" ", 1) for line in text.splitlines() if not line.startswith("#"))
    return int(values.get(name, "0"))


def test_a_sync_decision_shows_on_metrics(chalice_client: Any) -> None:
    application = applications(1, with_personal_data=False)[0]
    outcome = engine.decide(engine.validate_application(application), *engine.packaged_version())["outcome"]
    name = f'loan_decisions_by_outcome{{outcome="{outcome}"}}'
    before = _metric(chalice_client.http.get("/metrics").body, name)
    decided = post_json(chalice_client, "/v1/decisions", application)
    assert decided.status_code == 200 and json.loads(decided.body)["outcome"] == outcome
    assert _metric(chalice_client.http.get("/metrics").body, name) == before + 1
