"""Clients and records over HTTP (chalice.test.Client, in-memory store, the local gateway emulation
supplying requestContext.identity.apiKeyId from two API keys): isolation, decisions on record, the
notice, lists with signed cursors, idempotency per client, decision events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import engine
from devstack.gateway import local_api_key_id, reset_local_gateway
from tests.support.http import assert_error_shape, body_of, post_json
from tests.support.samples import PERSONAL_DATA, PERSONAL_DATA_VARIANTS, application_row
from tests.support.sqs import drain_queue_into_worker

KEY_A, KEY_B = "client-a-key", "client-b-key"
A, B = {"x-api-key": KEY_A}, {"x-api-key": KEY_B}


@pytest.fixture
def two_clients(monkeypatch: pytest.MonkeyPatch, memory: Any) -> Iterator[Any]:
    monkeypatch.setenv("LOCAL_GATEWAY_EMULATION", "on")
    monkeypatch.setenv("LOCAL_API_KEYS", f"partner:{KEY_A},partner:{KEY_B}")
    reset_local_gateway()
    yield memory
    reset_local_gateway()


def approved_application() -> dict[str, Any]:
    for row in range(200):
        candidate = application_row(row)
        if (
            engine.decide(engine.validate_application(candidate), *engine.packaged_version())["outcome"]
            == "approved"
        ):
            return candidate
    raise AssertionError("no approved applicant in the first 200 rows")


def declined_application() -> dict[str, Any]:
    for row in range(200):
        candidate = application_row(row)
        if (
            engine.decide(engine.validate_application(candidate), *engine.packaged_version())["outcome"]
            == "declined"
        ):
            return candidate
    raise AssertionError("no declined applicant in the first 200 rows")


def decide(client: Any, payload: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = post_json(client, "/v1/decisions", payload, headers)
    assert response.status_code == 200, response.body
    return body_of(response)


# ---------------------------------------------------------------------------- isolation
def test_records_carry_the_api_key_id_as_their_owner(chalice_client, two_clients):
    decision = decide(chalice_client, application_row(0), A)
    record = two_clients.memory_store.decisions[decision["decision_id"]]
    assert record["client_id"] == local_api_key_id(KEY_A) != KEY_A  # the id, never the key


def test_a_foreign_decision_looks_exactly_like_an_unknown_one(chalice_client, two_clients):
    decision_id = decide(chalice_client, application_row(0), A)["decision_id"]

    foreign = chalice_client.http.get(f"/v1/decisions/{decision_id}", headers=B)
    unknown = chalice_client.http.get(f"/v1/decisions/{uuid.uuid4()}", headers=B)
    foreign_notice = chalice_client.http.get(f"/v1/decisions/{decision_id}/notice", headers=B)

    for response in (foreign, unknown, foreign_notice):
        body = assert_error_shape(response, 404, "not_found")
        assert body["error"]["message"] == "decision not found"
    assert {**body_of(foreign), "request_id": ""} == {**body_of(unknown), "request_id": ""}


def test_a_foreign_application_looks_exactly_like_an_unknown_one(chalice_client, two_clients):
    submitted = body_of(post_json(chalice_client, "/v1/applications", application_row(0), A))

    foreign = chalice_client.http.get(submitted["status_url"], headers=B)
    own = chalice_client.http.get(submitted["status_url"], headers=A)

    assert own.status_code == 200
    assert_error_shape(foreign, 404, "not_found")
    assert body_of(chalice_client.http.get("/v1/applications", headers=B))["items"] == []


def test_the_same_idempotency_key_from_two_clients_is_two_requests(chalice_client, two_clients):
    key = {"Idempotency-Key": "order-4711"}
    first = post_json(chalice_client, "/v1/applications", application_row(0), {**A, **key})
    other = post_json(chalice_client, "/v1/applications", application_row(0), {**B, **key})
    other_body = post_json(chalice_client, "/v1/applications", application_row(1), {**B, **key})
    replay = post_json(chalice_client, "/v1/applications", application_row(0), {**A, **key})

    assert first.status_code == other.status_code == replay.status_code == 202
    assert "Idempotent-Replayed" not in other.headers
    assert body_of(other)["application_id"] != body_of(first)["application_id"]
    assert body_of(replay)["application_id"] == body_of(first)["application_id"]
    assert replay.headers["Idempotent-Replayed"] == "true"
    # B's key is B's: reusing it with another body is B's own 422, not A's replay.
    assert_error_shape(other_body, 422, "idempotency_key_reused")


# ---------------------------------------------------------------------------- decisions on record
def test_a_decision_on_record_is_the_posted_body_without_transient_fields(chalice_client, two_clients):
    posted = decide(chalice_client, application_row(0), A)

    response = chalice_client.http.get(f"/v1/decisions/{posted['decision_id']}", headers=A)

    assert response.status_code == 200
    on_record = body_of(response)
    transient = {"cached", "cache", "stored"}
    assert {k: v for k, v in posted.items() if k not in transient} == {
        k: v for k, v in on_record.items() if k not in {"created_at", "source"}
    }
    assert on_record["source"] == "sync" and on_record["created_at"].endswith("Z")


def test_the_notice_as_json_and_as_plain_text(chalice_client, two_clients):
    declined = decide(chalice_client, declined_application(), A)
    path = f"/v1/decisions/{declined['decision_id']}/notice"

    as_json = chalice_client.http.get(path, headers=A)
    as_text = chalice_client.http.get(path, headers={**A, "Accept": "text/plain"})

    assert as_json.status_code == as_text.status_code == 200
    notice = body_of(as_json)
    assert notice == declined["notice"]
    assert as_text.headers["Content-Type"].startswith("text/plain")
    assert as_text.body.decode() == notice["text"]
    assert 1 <= len(notice["principal_reasons"]) <= 4


def test_an_approved_decision_has_no_notice(chalice_client, two_clients):
    approved = decide(chalice_client, approved_application(), A)
    response = chalice_client.http.get(f"/v1/decisions/{approved['decision_id']}/notice", headers=A)
    assert_error_shape(response, 404, "no_notice")


def test_records_are_kept_for_the_retention_period(chalice_client, two_clients):
    decision = decide(chalice_client, application_row(0), A)
    record = two_clients.memory_store.decisions[decision["decision_id"]]
    retention = two_clients.settings.record_retention_seconds
    assert retention == 762 * 86_400
    assert record["expires_at"] - retention in range(int(1.7e9), int(2.2e9))


# ---------------------------------------------------------------------------- lists
def test_lists_are_newest_first_paged_with_cursors_and_only_the_callers(chalice_client, two_clients):
    ids = [decide(chalice_client, application_row(row), A)["decision_id"] for row in range(5)]
    decide(chalice_client, application_row(0), B)

    seen: list[str] = []
    cursor = None
    for _ in range(3):
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = body_of(chalice_client.http.get(f"/v1/decisions?{query}", headers=A))
        seen += [item["decision_id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == list(reversed(ids))
    assert cursor is None


def test_lists_filter_by_outcome_status_and_dates(chalice_client, two_clients):
    approved = decide(chalice_client, approved_application(), A)
    declined = decide(chalice_client, declined_application(), A)
    post_json(chalice_client, "/v1/applications", application_row(0), A)

    def items(path: str) -> list[dict[str, Any]]:
        response = chalice_client.http.get(path, headers=A)
        assert response.status_code == 200, response.body
        return body_of(response)["items"]

    assert [i["decision_id"] for i in items("/v1/decisions?outcome=approved")] == [approved["decision_id"]]
    assert [i["decision_id"] for i in items("/v1/decisions?outcome=declined")] == [declined["decision_id"]]
    assert len(items("/v1/decisions?from=2000-01-01&to=2999-12-31")) == 2
    assert items("/v1/decisions?to=2000-01-01") == []
    assert [i["status"] for i in items("/v1/applications?status=PENDING")] == ["PENDING"]
    assert items("/v1/applications?status=DECIDED") == []


def test_bad_list_parameters_are_each_named(chalice_client, two_clients):
    response = chalice_client.http.get("/v1/decisions?outcome=maybe&from=yesterday&limit=0", headers=A)
    body = assert_error_shape(response, 400, "invalid_parameter")
    assert {detail["field"] for detail in body["error"]["details"]} == {"outcome", "from", "limit"}
    response = chalice_client.http.get("/v1/applications?status=done&limit=101", headers=A)
    body = assert_error_shape(response, 400, "invalid_parameter")
    assert {detail["field"] for detail in body["error"]["details"]} == {"status", "limit"}
    # A range that ends before it starts is a question with no answer, not a bad request.
    reversed_range = chalice_client.http.get("/v1/decisions?from=2026-12-02&to=2026-12-01", headers=A)
    assert reversed_range.status_code == 200
    assert body_of(reversed_range) == {"items": [], "next_cursor": None}


def test_a_tampered_or_foreign_cursor_is_a_400(chalice_client, two_clients):
    for row in range(3):
        decide(chalice_client, application_row(row), A)
    cursor = body_of(chalice_client.http.get("/v1/decisions?limit=1", headers=A))["next_cursor"]
    payload, signature = cursor.split(".")
    tampered = f"{payload[:-2]}xx.{signature}"

    for path, headers in (
        (f"/v1/decisions?limit=1&cursor={tampered}", A),
        (f"/v1/decisions?limit=1&cursor={cursor}", B),  # another client's cursor
        (f"/v1/decisions?limit=1&outcome=declined&cursor={cursor}", A),  # another query's cursor
    ):
        body = assert_error_shape(chalice_client.http.get(path, headers=headers), 400, "invalid_cursor")
        assert body["error"]["details"][0]["field"] == "cursor"
    # Not even shaped like a cursor: the declared pattern rejects it with the other parameters.
    malformed = chalice_client.http.get("/v1/decisions?cursor=not-a-cursor", headers=A)
    body = assert_error_shape(malformed, 400, "invalid_parameter")
    assert [detail["field"] for detail in body["error"]["details"]] == ["cursor"]
    assert chalice_client.http.get(f"/v1/decisions?limit=1&cursor={cursor}", headers=A).status_code == 200


# ---------------------------------------------------------------------------- events
def test_every_decision_publishes_one_event_without_personal_data(chalice_client, two_clients):
    applicant = {**application_row(0), **PERSONAL_DATA}
    sync = decide(chalice_client, applicant, A)
    submitted = body_of(post_json(chalice_client, "/v1/applications", applicant, B))
    assert drain_queue_into_worker(chalice_client, two_clients.memory_queue) == 1

    published = two_clients.memory_events.published
    assert published[0].decision_id == sync["decision_id"]
    assert len(published) == 2
    async_event = published[1]
    assert async_event.application_id == submitted["application_id"]
    assert async_event.client_id == local_api_key_id(KEY_B) and async_event.source == "async"
    text = json.dumps([event.detail() for event in published])
    assert not [part for part in PERSONAL_DATA_VARIANTS if part in text]


def test_an_events_outage_never_costs_the_decision(chalice_client, two_clients):
    two_clients.outages.fail("events")
    response = post_json(chalice_client, "/v1/decisions", application_row(0), A)
    assert response.status_code == 200
    assert body_of(response)["stored"] is True
    assert two_clients.memory_events.published == []
