"""Loan outcomes over HTTP against the real local stack (moto server, chalice local with the gateway
emulation, the queue worker): a synchronous and a queued decision get outcomes, replays are 200, an
earlier as_of reported late never replaces the latest, another client's decision is 404, bad input
is a 400 naming its fields; the monitoring read path then finds both decisions in the moto
server's day index with their latest outcome."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.config import load_settings
from chalicelib.dal.outcomes_aws import DynamoDBOutcomeStore
from devstack.client import ApiClient
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack

pytestmark = pytest.mark.integration

DECIDED_WITHIN_SECONDS = 90


@pytest.fixture(scope="module")
def partner(stack: DevStack) -> ApiClient:
    return ApiClient(stack.api_url, stack.api_headers("partner"))


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def queued_decision(api: ApiClient, payload: dict[str, Any]) -> str:
    submitted = api.post("/v1/applications", payload)
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]

    def decision_id() -> str | None:
        body = api.get(f"/v1/applications/{application_id}").json()
        return body.get("decision_id") if body["status"] == "DECIDED" else None

    found: str = wait_until(decision_id, DECIDED_WITHIN_SECONDS, f"{application_id} decided", interval=0.3)
    return found


def test_outcomes_on_sync_and_queued_decisions_and_the_monitoring_read_path(
    api: ApiClient, partner: ApiClient, stack: DevStack
) -> None:
    window_start = (datetime.now(UTC) - timedelta(seconds=5)).isoformat(timespec="milliseconds")
    first, second = applications(2, with_personal_data=False)
    made = api.post("/v1/decisions", first)
    assert made.status_code == 200, made.text
    sync_id = made.json()["decision_id"]
    async_id = queued_decision(api, second)
    path = f"/v1/decisions/{sync_id}/outcome"

    recorded = api.post(path, {"status": "current", "as_of": today()})
    replayed = api.post(path, {"status": "current", "as_of": today()})
    assert (recorded.status_code, replayed.status_code) == (201, 200), recorded.text
    assert (
        replayed.json()
        == recorded.json()
        == {
            "decision_id": sync_id,
            "status": "current",
            "as_of": today(),
            "latest": {"status": "current", "as_of": today()},
        }
    )
    queued = api.post(f"/v1/decisions/{async_id}/outcome", {"status": "not_taken_up", "as_of": today()})
    assert queued.status_code == 201, queued.text

    # Another client's decision is answered exactly as an unknown one, and is left untouched.
    foreign = partner.post(path, {"status": "default", "as_of": today()})
    unknown = partner.post(f"/v1/decisions/{uuid.uuid4()}/outcome", {"status": "default", "as_of": today()})
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["error"] == unknown.json()["error"]
    assert api.get(f"/v1/decisions/{sync_id}").json()["loan_outcome"] == {
        "status": "current",
        "as_of": today(),
    }

    # Bad input: every field named; before the decision's day; in the future.
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    bad = api.post(path, {"status": "late", "as_of": tomorrow})
    assert bad.status_code == 400
    assert [d["field"] for d in bad.json()["error"]["details"]] == ["status", "as_of"]
    before = api.post(path, {"status": "current", "as_of": yesterday})
    assert before.status_code == 400
    assert [d["field"] for d in before.json()["error"]["details"]] == ["as_of"]

    # The monitoring read path over the moto server: Queries on the day index find both decisions,
    # with the latest loan outcome on the item itself.
    store = DynamoDBOutcomeStore.for_settings(stack.client("dynamodb"), load_settings(stack.env()))
    window_end = (datetime.now(UTC) + timedelta(seconds=5)).isoformat(timespec="milliseconds")
    found = {
        d.decision_id: d
        for d in store.iter_monitored(window_start.replace("+00:00", "Z"), window_end.replace("+00:00", "Z"))
    }
    assert found[sync_id].loan_status == "current"
    assert found[async_id].loan_status == "not_taken_up"
    assert found[sync_id].client_id == found[async_id].client_id != ""
    assert found[async_id].characteristics  # the worker's decisions carry the index attributes too
    assert store.outcome_history(sync_id) == [{"status": "current", "as_of": today()}]


def test_outcomes_in_bulk_each_answered_as_the_single_route_would(api: ApiClient, partner: ApiClient) -> None:
    [payload] = applications(1, with_personal_data=False)
    decision_id = api.post("/v1/decisions", payload).json()["decision_id"]
    theirs = partner.post("/v1/decisions", payload).json()["decision_id"]
    batch = {
        "outcomes": [
            {"decision_id": decision_id, "status": "current", "as_of": today()},
            {"decision_id": decision_id, "status": "current", "as_of": today()},
            {"decision_id": theirs, "status": "default", "as_of": today()},
            {"decision_id": str(uuid.uuid4()), "status": "default", "as_of": today()},
        ]
    }

    response = api.post("/v1/outcomes", batch)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status_code"] for r in body["results"]] == [201, 200, 404, 404]
    assert (body["created"], body["replayed"], body["rejected"]) == (1, 1, 2)
    assert api.get(f"/v1/decisions/{decision_id}").json()["loan_outcome"] == {
        "status": "current",
        "as_of": today(),
    }
    assert "loan_outcome" not in partner.get(f"/v1/decisions/{theirs}").json()
    bad = api.post(
        "/v1/outcomes", {"outcomes": [{"decision_id": decision_id, "status": "late", "as_of": today()}]}
    )
    assert bad.status_code == 400
    assert [d["field"] for d in bad.json()["error"]["details"]] == ["outcomes[0].status"]
