"""POST /v1/decisions and /v1/eligibility through chalice.test.Client, on the in-memory store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import engine, resources
from chalicelib.service.decisions import cache_key, version_key
from chalicelib.service.routing import CHAMPION, Served
from tests.support.http import assert_error_shape, post_json

DECISION_FIELDS = {
    "decision_id",
    "outcome",
    "probability",
    "risk_band",
    "reasons",
    "favourable_factors",
    "suggestions",
    "model_version",
    "cached",
}


def stored_decision(memory: Any, decision_id: str) -> dict[str, Any] | None:
    return memory.memory_store.decisions.get(decision_id)


def test_decision_returns_every_field_and_stores_a_masked_record(chalice_client, memory, application):
    response = post_json(chalice_client, "/v1/decisions", application)

    assert response.status_code == 200
    body = json.loads(response.body)
    assert set(body) >= DECISION_FIELDS
    assert body["outcome"] in {"approved", "manual_review", "declined"}
    assert 0.0 <= body["probability"] <= 1.0
    assert body["cached"] is False and body["cache"] == "miss" and body["stored"] is True
    record = stored_decision(memory, body["decision_id"])
    assert record is not None
    assert application["applicant_name"] not in json.dumps(record)
    first, last = application["applicant_name"].split()
    assert (
        record["applicant"]["applicant_name"]
        == f"{first[0]}{'*' * (len(first) - 1)} {last[0]}{'*' * (len(last) - 1)}"
    )
    assert record["applicant"]["applicant_ref"]


def test_repeat_is_served_from_cache_with_a_new_decision_id(chalice_client, memory, application):
    first = json.loads(post_json(chalice_client, "/v1/decisions", application).body)
    # A different applicant with the same scoring inputs must hit the same cache entry.
    second = json.loads(
        post_json(chalice_client, "/v1/decisions", {**application, "applicant_name": "Other Person"}).body
    )

    assert first["cached"] is False
    assert second["cached"] is True and second["cache"] == "hit"
    assert second["decision_id"] != first["decision_id"]
    for field in ("outcome", "probability", "risk_band", "reasons", "suggestions", "model_version"):
        assert second[field] == first[field]
    assert stored_decision(memory, second["decision_id"])["cached"] is True


@pytest.mark.parametrize("expired", [True, False])
def test_expired_cache_entry_is_not_served(chalice_client, memory, application, expired):
    # DynamoDB TTL deletes lazily: an expired item can still be read and must count as a miss.
    # The unexpired case proves the planted item sits under the key the handler looks up.
    cleaned = engine.validate_application(application)
    packaged = Served("v1", CHAMPION, engine.packaged_version())  # an empty registry's champion
    key = cache_key(cleaned, version_key(packaged), memory.settings.code_version)
    stale = {**engine.decide(cleaned, *engine.packaged_version()), "outcome": "stale"}
    memory.store.put_cached_decision(key, stale, expires_at=1 if expired else 2**40)

    body = json.loads(post_json(chalice_client, "/v1/decisions", application).body)

    assert body["cached"] is not expired
    assert (body["outcome"] == "stale") is not expired


def test_cache_key_changes_with_model_and_code_version(application):
    cleaned = engine.validate_application(application)
    assert cache_key(cleaned, "sha-a", "1") != cache_key(cleaned, "sha-b", "1")
    assert cache_key(cleaned, "sha-a", "1") != cache_key(cleaned, "sha-a", "2")
    assert cache_key(cleaned, "sha-a", "1") == cache_key(dict(reversed(list(cleaned.items()))), "sha-a", "1")


def test_invalid_fields_are_all_named(chalice_client, application):
    payload = {**application, "cibil_score": 5000, "monthly_income": "lots", "favourite_colour": "blue"}
    del payload["age"]

    body = assert_error_shape(post_json(chalice_client, "/v1/decisions", payload), 400, "validation_failed")

    named = {detail["field"] for detail in body["error"]["details"]}
    assert {"cibil_score", "monthly_income", "favourite_colour", "age"} <= named
    assert all(detail["problem"] for detail in body["error"]["details"])


def test_malformed_json_is_400(chalice_client):
    response = chalice_client.http.post(
        "/v1/decisions", headers={"Content-Type": "application/json"}, body='{"age": 30,'
    )
    body = assert_error_shape(response, 400, "malformed_json")
    assert body["error"]["details"][0]["field"] == "(body)"


def test_non_object_json_is_400_not_500(chalice_client):
    for payload in ([1, 2], "text", None, 7):
        assert_error_shape(post_json(chalice_client, "/v1/decisions", payload), 400, "validation_failed")


def test_nan_is_rejected_as_malformed(chalice_client):
    response = chalice_client.http.post(
        "/v1/decisions", headers={"Content-Type": "application/json"}, body='{"age": NaN}'
    )
    assert_error_shape(response, 400, "malformed_json")


def test_non_json_content_type_is_415(chalice_client, application):
    response = chalice_client.http.post(
        "/v1/decisions", headers={"Content-Type": "text/plain"}, body=json.dumps(application)
    )
    body = assert_error_shape(response, 415, "unsupported_media_type")
    assert body["error"]["details"] == [{"field": "Content-Type", "problem": "must be application/json"}]


def test_oversized_body_is_413(chalice_client, application):
    payload = {**application, "applicant_name": "x" * (resources.MAX_BODY_BYTES + 1)}
    assert_error_shape(post_json(chalice_client, "/v1/decisions", payload), 413, "payload_too_large")


def test_wrong_method_is_405_in_our_shape(chalice_client):
    response = chalice_client.http.put("/v1/decisions", body=b"{}")
    body = assert_error_shape(response, 405, "method_not_allowed")
    assert {"GET", "POST"} <= set(response.headers["Allow"].split(", "))
    assert "POST" in body["error"]["message"]


def test_dynamodb_down_still_decides_with_cache_bypassed(chalice_client, memory, application):
    memory.outages.fail("dynamodb")

    response = post_json(chalice_client, "/v1/decisions", application)

    assert response.status_code == 200
    body = json.loads(response.body)
    assert body["cache"] == "bypassed" and body["stored"] is False and body["cached"] is False
    assert body["outcome"] in {"approved", "manual_review", "declined"}
    assert response.headers["X-Request-ID"]


def test_eligibility_answers_with_a_verdict(chalice_client):
    payload = {
        "cibil_score": 760,
        "monthly_income": 90000,
        "existing_emi": 5000,
        "loan_amount": 300000,
        "years_at_current_job": 3,
    }
    response = post_json(chalice_client, "/v1/eligibility", payload)
    assert response.status_code == 200
    assert json.loads(response.body)["verdict"] in {"likely", "possible", "needs_improvement", "unlikely"}


def test_eligibility_names_missing_fields(chalice_client):
    response = post_json(chalice_client, "/v1/eligibility", {"cibil_score": 760})
    body = assert_error_shape(response, 400, "validation_failed")
    assert {"monthly_income", "existing_emi", "loan_amount", "years_at_current_job"} <= {
        detail["field"] for detail in body["error"]["details"]
    }
