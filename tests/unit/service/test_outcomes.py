"""POST /v1/decisions/{id}/outcome in process (the in-memory twin): recorded, replayed, superseded
by a later as_of only, kept in the history, shown on the decision; every bad input a 4xx."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from chalicelib import resources
from chalicelib.records import LOAN_STATUSES
from tests.support.batch_twin import days_ago
from tests.support.http import assert_error_shape, body_of, post_json, sample_application


def decide(client: Any) -> dict[str, Any]:
    response = post_json(client, "/v1/decisions", sample_application(0))
    assert response.status_code == 200, response.body
    return body_of(response)


def today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def outcome_path(decision_id: str) -> str:
    return f"/v1/decisions/{decision_id}/outcome"


@pytest.fixture
def decided(chalice_client: Any, memory: Any) -> str:
    """A decision made 40 days ago (its record's time moved back, as if it were older)."""
    decision_id = str(decide(chalice_client)["decision_id"])
    record = memory.memory_store.decisions[decision_id]
    record["created_at"] = f"{days_ago(40)}T09:00:00.000Z"
    return decision_id


def test_an_outcome_is_201_then_the_decision_shows_it(chalice_client, memory, decided):
    response = post_json(chalice_client, outcome_path(decided), {"status": "current", "as_of": days_ago(10)})

    assert response.status_code == 201, response.body
    assert body_of(response) == {
        "decision_id": decided,
        "status": "current",
        "as_of": days_ago(10),
        "latest": {"status": "current", "as_of": days_ago(10)},
    }
    on_record = body_of(chalice_client.http.get(f"/v1/decisions/{decided}"))
    assert on_record["loan_outcome"] == {"status": "current", "as_of": days_ago(10)}


def test_the_same_outcome_again_is_200_and_changes_nothing(chalice_client, memory, decided):
    first = post_json(chalice_client, outcome_path(decided), {"status": "dpd30", "as_of": days_ago(5)})
    again = post_json(chalice_client, outcome_path(decided), {"status": "dpd30", "as_of": days_ago(5)})

    assert (first.status_code, again.status_code) == (201, 200)
    assert body_of(again) == body_of(first)
    assert memory.outcomes.outcome_history(decided) == [{"status": "dpd30", "as_of": days_ago(5)}]


def test_a_later_as_of_supersedes_and_an_earlier_one_reported_late_is_kept_but_not_latest(
    chalice_client, memory, decided
):
    post_json(chalice_client, outcome_path(decided), {"status": "current", "as_of": days_ago(20)})
    later = post_json(chalice_client, outcome_path(decided), {"status": "dpd60", "as_of": days_ago(2)})
    late = post_json(chalice_client, outcome_path(decided), {"status": "dpd30", "as_of": days_ago(12)})

    assert body_of(later)["latest"] == {"status": "dpd60", "as_of": days_ago(2)}
    assert late.status_code == 201
    assert body_of(late)["status"] == "dpd30"
    assert body_of(late)["latest"] == {"status": "dpd60", "as_of": days_ago(2)}
    assert body_of(chalice_client.http.get(f"/v1/decisions/{decided}"))["loan_outcome"] == {
        "status": "dpd60",
        "as_of": days_ago(2),
    }
    assert memory.outcomes.outcome_history(decided) == [
        {"status": "current", "as_of": days_ago(20)},
        {"status": "dpd30", "as_of": days_ago(12)},
        {"status": "dpd60", "as_of": days_ago(2)},
    ]


def test_every_status_is_accepted(chalice_client, decided):
    for offset, status in enumerate(LOAN_STATUSES):
        response = post_json(
            chalice_client, outcome_path(decided), {"status": status, "as_of": days_ago(30 - offset)}
        )
        assert response.status_code == 201, (status, response.body)


def test_as_of_on_the_decisions_day_and_today_are_accepted(chalice_client, decided):
    assert (
        post_json(
            chalice_client, outcome_path(decided), {"status": "current", "as_of": days_ago(40)}
        ).status_code
        == 201
    )
    assert (
        post_json(chalice_client, outcome_path(decided), {"status": "paid_off", "as_of": today()}).status_code
        == 201
    )


def test_as_of_before_the_decision_is_400(chalice_client, memory, decided):
    body = assert_error_shape(
        post_json(chalice_client, outcome_path(decided), {"status": "current", "as_of": days_ago(41)}),
        400,
        "validation_failed",
    )
    assert [detail["field"] for detail in body["error"]["details"]] == ["as_of"]
    assert memory.outcomes.outcome_history(decided) == []


def test_as_of_in_the_future_is_400(chalice_client, memory, decided):
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    body = assert_error_shape(
        post_json(chalice_client, outcome_path(decided), {"status": "current", "as_of": tomorrow}),
        400,
        "validation_failed",
    )
    assert [detail["field"] for detail in body["error"]["details"]] == ["as_of"]
    assert memory.outcomes.outcome_history(decided) == []


def test_every_bad_field_is_named_in_one_400(chalice_client, decided):
    body = assert_error_shape(
        post_json(
            chalice_client, outcome_path(decided), {"status": "late", "as_of": "2026-02-30", "extra": 1}
        ),
        400,
        "validation_failed",
    )
    assert [detail["field"] for detail in body["error"]["details"]] == ["status", "as_of", "extra"]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "current",
        None,
        {},
        {"status": "current"},
        {"as_of": "2026-01-01"},
        {"status": 1, "as_of": 20260101},
    ],
)
def test_malformed_bodies_are_400(chalice_client, decided, payload):
    assert_error_shape(post_json(chalice_client, outcome_path(decided), payload), 400, "validation_failed")


def test_unknown_decision_is_404(chalice_client):
    for decision_id in (str(uuid.uuid4()), "not-a-uuid", "x" * 3000):
        assert_error_shape(
            post_json(chalice_client, outcome_path(decision_id), {"status": "current", "as_of": today()}),
            404,
            "not_found",
        )


def test_another_clients_decision_is_404_and_untouched(chalice_client, memory, decided):
    memory.memory_store.decisions[decided]["client_id"] = "another-client"

    assert_error_shape(
        post_json(chalice_client, outcome_path(decided), {"status": "default", "as_of": today()}),
        404,
        "not_found",
    )
    assert memory.outcomes.outcome_history(decided) == []
    assert "loan_outcome" not in memory.memory_store.decisions[decided]


def test_dynamodb_down_is_503_with_retry_after(chalice_client, memory, decided):
    memory.outages.fail("dynamodb")

    response = post_json(chalice_client, outcome_path(decided), {"status": "current", "as_of": today()})

    assert_error_shape(response, 503, "dependency_unavailable")
    assert response.headers["Retry-After"] == str(resources.DEPENDENCY_RETRY_AFTER_SECONDS)


def test_the_answer_has_no_personal_data(chalice_client, decided):
    response = post_json(chalice_client, outcome_path(decided), {"status": "current", "as_of": today()})
    assert set(json.loads(response.body)) == {"decision_id", "status", "as_of", "latest"}
