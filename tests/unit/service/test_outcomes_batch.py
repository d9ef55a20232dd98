"""POST /v1/outcomes in process (the in-memory twin): each outcome recorded as the single route
would, answered with its own status code; a request that is not what the document says is one 400
and records nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from chalicelib import resources
from tests.support.batch_twin import days_ago
from tests.support.batch_twin import decided_days_ago as decided
from tests.support.http import assert_error_shape, body_of, post_json


def test_each_outcome_gets_the_single_routes_answer(chalice_client, memory):
    first, second, foreign = (decided(chalice_client, memory, row) for row in range(3))
    memory.memory_store.decisions[foreign]["client_id"] = "another-client"
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    outcomes = [
        {"decision_id": first, "status": "current", "as_of": days_ago(5)},
        {"decision_id": first, "status": "current", "as_of": days_ago(5)},  # a replay
        {"decision_id": second, "status": "dpd30", "as_of": days_ago(1)},
        {"decision_id": first, "status": "dpd60", "as_of": days_ago(20)},  # older: kept, not latest
        {"decision_id": foreign, "status": "default", "as_of": days_ago(1)},
        {"decision_id": str(uuid.uuid4()), "status": "default", "as_of": days_ago(1)},
        {"decision_id": "not-a-uuid", "status": "default", "as_of": days_ago(1)},
        {"decision_id": second, "status": "paid_off", "as_of": tomorrow},
        {"decision_id": second, "status": "paid_off", "as_of": days_ago(31)},
    ]

    response = post_json(chalice_client, "/v1/outcomes", {"outcomes": outcomes})

    assert response.status_code == 200, response.body
    body = body_of(response)
    assert [r["status_code"] for r in body["results"]] == [201, 200, 201, 201, 404, 404, 404, 400, 400]
    assert [r["index"] for r in body["results"]] == list(range(len(outcomes)))
    assert [r["decision_id"] for r in body["results"]] == [o["decision_id"] for o in outcomes]
    assert (body["created"], body["replayed"], body["rejected"]) == (3, 1, 5)
    assert body["results"][3]["latest"] == {"status": "current", "as_of": days_ago(5)}
    assert body["results"][7]["error"]["details"][0]["field"] == "as_of"
    assert body["results"][4]["error"] == body["results"][5]["error"]  # foreign = unknown
    assert memory.memory_store.decisions[second]["loan_outcome"] == {"status": "dpd30", "as_of": days_ago(1)}
    assert "loan_outcome" not in memory.memory_store.decisions[foreign]
    assert len(memory.outcomes.outcome_history(first)) == 2


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, ["outcomes"]),
        ({"outcomes": []}, ["outcomes"]),
        ({"outcomes": "x", "extra": 1}, ["outcomes", "extra"]),
        (
            {"outcomes": [{"status": "late", "as_of": "2026-13-01"}, 7]},
            ["outcomes[0].decision_id", "outcomes[0].status", "outcomes[0].as_of", "outcomes[1]"],
        ),
        (
            {"outcomes": [{"decision_id": "x", "status": "current", "as_of": "2026-01-01", "n": 1}]},
            ["outcomes[0].n"],
        ),
    ],
)
def test_a_request_the_document_forbids_is_one_400_and_records_nothing(
    chalice_client, memory, payload, fields
):
    decision_id = decided(chalice_client, memory, 0)
    if isinstance(payload.get("outcomes"), list) and payload["outcomes"]:
        payload = {
            **payload,
            "outcomes": [
                *payload["outcomes"],
                {"decision_id": decision_id, "status": "current", "as_of": days_ago(1)},
            ],
        }

    body = assert_error_shape(post_json(chalice_client, "/v1/outcomes", payload), 400, "validation_failed")

    assert [detail["field"] for detail in body["error"]["details"]] == fields
    assert memory.outcomes.outcome_history(decision_id) == []


def test_more_than_the_limit_is_400(chalice_client):
    item = {"decision_id": str(uuid.uuid4()), "status": "current", "as_of": days_ago(1)}
    body = assert_error_shape(
        post_json(
            chalice_client, "/v1/outcomes", {"outcomes": [item] * (resources.MAX_OUTCOMES_PER_BATCH + 1)}
        ),
        400,
        "validation_failed",
    )
    assert [detail["field"] for detail in body["error"]["details"]] == ["outcomes"]


def test_the_limit_fits_in_the_largest_body(chalice_client):
    item = {"decision_id": str(uuid.uuid4()), "status": "charged_off", "as_of": days_ago(1)}
    response = post_json(
        chalice_client, "/v1/outcomes", {"outcomes": [item] * resources.MAX_OUTCOMES_PER_BATCH}
    )
    assert response.status_code == 200, response.body
    assert body_of(response)["rejected"] == resources.MAX_OUTCOMES_PER_BATCH  # all unknown: 404 each


def test_an_outage_is_503_and_the_same_batch_again_is_safe(chalice_client, memory):
    decision_id = decided(chalice_client, memory, 0)
    batch = {"outcomes": [{"decision_id": decision_id, "status": "current", "as_of": days_ago(1)}]}
    memory.outages.fail("dynamodb")
    assert_error_shape(post_json(chalice_client, "/v1/outcomes", batch), 503, "dependency_unavailable")
    memory.outages.recover()

    first, again = (body_of(post_json(chalice_client, "/v1/outcomes", batch)) for _ in range(2))

    assert [r["status_code"] for r in first["results"] + again["results"]] == [201, 200]
