"""The review desk through the real handler (API Gateway proxy events carrying the Cognito
authorizer's verified claims, as in AWS), on the in-memory twin: cases open exactly once, one
reviewer at a time, human decisions beside the model's, maker-checker, the audit trail."""

from __future__ import annotations

import json
from typing import Any

import pytest

import app
from chalicelib import engine
from devstack.lambda_events import LocalLambdaContext
from tests.support.http import proxy_event
from tests.support.samples import application_row
from tests.support.sqs import drain_queue_into_worker

REVIEWER_1 = {"sub": "sub-reviewer-1", "cognito:groups": "reviewer", "cognito:username": "reviewer1"}
REVIEWER_2 = {"sub": "sub-reviewer-2", "cognito:groups": "reviewer", "cognito:username": "reviewer2"}
MANAGER = {"sub": "sub-manager-1", "cognito:groups": "manager", "cognito:username": "manager1"}
NOBODY = {"sub": "sub-nobody", "cognito:username": "nobody"}
CLIENT = "client-key-id"
CONTEXT = LocalLambdaContext(function_name="api_handler", region="us-east-1")


def call(method: str, path: str, resource: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
    response = app.app(proxy_event(method, path, resource, body, **kwargs), CONTEXT)
    return response["statusCode"], json.loads(response["body"])


def staff(method: str, path: str, claims: dict[str, str], body: Any = None) -> tuple[int, Any]:
    parts = path.split("/")
    parameters: dict[str, str] = {}
    resource = path
    if len(parts) > 3 and parts[2] == "reviews":
        parameters = {"review_id": parts[3]}
        resource = "/".join(["", "v1", "reviews", "{review_id}", *parts[4:]])
    elif path.endswith("/audit"):
        parameters = {"application_id": parts[3]}
        resource = "/v1/applications/{application_id}/audit"
    return call(method, path, resource, body, path_parameters=parameters or None, claims=claims)


def review_application(min_amount: int = 0) -> dict[str, Any]:
    for row in range(400):
        candidate = application_row(row)
        decision = engine.decide(engine.validate_application(candidate), *engine.packaged_version())
        if decision["outcome"] == "manual_review" and candidate["loan_amount"] > min_amount:
            return candidate
    raise AssertionError("no manual_review applicant in the first 400 rows")


@pytest.fixture
def sync_case(memory: Any) -> dict[str, Any]:
    payload = review_application()
    status, decision = call("POST", "/v1/decisions", "/v1/decisions", payload, api_key_id=CLIENT)
    assert status == 200 and decision["outcome"] == "manual_review"
    [case] = [case for case, _ in memory.memory_reviews.cases.values()]
    return {"decision": decision, "case": case, "payload": payload}


def test_a_manual_review_decision_opens_one_case_with_the_models_view(memory, sync_case):
    case = sync_case["case"]
    assert case["status"] == "open"
    assert case["decision_id"] == sync_case["decision"]["decision_id"]
    assert case["model"]["outcome"] == "manual_review"
    assert case["client_id"] == CLIENT
    assert case["due_at"] > case["opened_at"]
    status, page = staff("GET", "/v1/reviews?status=open", REVIEWER_1)
    status, page = call("GET", "/v1/reviews", "/v1/reviews", claims=REVIEWER_1)
    assert status == 200
    assert [item["review_id"] for item in page["items"]] == [case["review_id"]]
    assert page["items"][0]["seconds_to_sla"] > 0


def test_an_async_review_opens_exactly_once_however_often_the_message_comes(memory, chalice_client):
    payload = review_application()
    status, submitted = call("POST", "/v1/applications", "/v1/applications", payload, api_key_id=CLIENT)
    assert status == 202
    messages = list(memory.memory_queue.messages)
    assert drain_queue_into_worker(chalice_client, memory.memory_queue) == 1
    memory.memory_queue.messages.extend(messages)  # delivered again
    assert drain_queue_into_worker(chalice_client, memory.memory_queue) == 1
    assert len(memory.memory_reviews.cases) == 1
    [(case, _)] = memory.memory_reviews.cases.values()
    assert case["application_id"] == submitted["application_id"]
    status, audit = staff("GET", f"/v1/applications/{submitted['application_id']}/audit", REVIEWER_1)
    assert status == 200 and audit["verified"] is True
    assert [entry["action"] for entry in audit["entries"]] == ["submitted", "decided", "case_opened"]


def test_the_whole_flow_claim_decide_and_the_client_sees_the_final_outcome(memory, sync_case):
    review_id = sync_case["case"]["review_id"]
    assert staff("POST", f"/v1/reviews/{review_id}/claim", REVIEWER_1)[0] == 200
    status, closed = staff(
        "POST",
        f"/v1/reviews/{review_id}/decision",
        REVIEWER_1,
        {"outcome": "declined", "reason_codes": ["RSN-CREDIT-SCORE"], "note": "thin file"},
    )
    assert status == 200 and closed["status"] == "closed" and closed["final_outcome"] == "declined"

    decision_id = sync_case["decision"]["decision_id"]
    status, on_record = call(
        "GET",
        f"/v1/decisions/{decision_id}",
        "/v1/decisions/{decision_id}",
        path_parameters={"decision_id": decision_id},
        api_key_id=CLIENT,
    )
    assert status == 200
    assert on_record["final_outcome"] == "declined" and on_record["final_decided_by"] == "reviewer"
    assert on_record["outcome"] == "manual_review"  # the engine's view, never overwritten
    assert not {"claimed_by", "reviewed_by", "final_note", "audit"} & set(on_record)  # staff-only
    status, detail = staff("GET", f"/v1/reviews/{review_id}", REVIEWER_2)
    assert status == 200 and detail["audit"]["verified"] is True
    actions = [entry["action"] for entry in detail["audit"]["entries"]]
    assert actions == ["submitted", "decided", "case_opened", "claimed", "reviewed", "notice_issued"]
    assert all(entry["actor"] not in ("reviewer1", "reviewer2") for entry in detail["audit"]["entries"])
    events = [event.detail_type for event in memory.memory_events.published]
    assert events == ["decision.made", "review.completed"]


def test_one_reviewer_at_a_time_and_only_the_claimer_decides(memory, sync_case):
    review_id = sync_case["case"]["review_id"]
    assert staff("POST", f"/v1/reviews/{review_id}/claim", REVIEWER_1)[0] == 200
    status, body = staff("POST", f"/v1/reviews/{review_id}/claim", REVIEWER_2)
    assert status == 409
    assert {"field": "claimed_by", "problem": "claimed by sub-reviewer-1"} in body["error"]["details"]
    status, _ = staff("POST", f"/v1/reviews/{review_id}/decision", REVIEWER_2, {"outcome": "approved"})
    assert status == 409
    assert staff("POST", f"/v1/reviews/{review_id}/release", REVIEWER_2)[0] == 409
    assert staff("POST", f"/v1/reviews/{review_id}/release", REVIEWER_1)[0] == 200
    assert staff("POST", f"/v1/reviews/{review_id}/claim", REVIEWER_2)[0] == 200


def test_deciding_an_unclaimed_or_closed_case_is_409_with_its_state(memory, sync_case):
    review_id = sync_case["case"]["review_id"]
    status, body = staff("POST", f"/v1/reviews/{review_id}/decision", REVIEWER_1, {"outcome": "approved"})
    assert status == 409 and body["error"]["details"][0] == {"field": "status", "problem": "the case is open"}


def test_bad_decisions_name_every_field(memory, sync_case):
    review_id = sync_case["case"]["review_id"]
    staff("POST", f"/v1/reviews/{review_id}/claim", REVIEWER_1)
    status, body = staff(
        "POST",
        f"/v1/reviews/{review_id}/decision",
        REVIEWER_1,
        {"outcome": "declined", "reason_codes": [], "colour": "blue", "note": 5},
    )
    assert status == 400
    assert {"reason_codes", "colour", "note"} <= {detail["field"] for detail in body["error"]["details"]}
    status, body = staff(
        "POST",
        f"/v1/reviews/{review_id}/decision",
        REVIEWER_1,
        {"outcome": "declined", "reason_codes": ["NOPE"]},
    )
    assert status == 400 and body["error"]["details"][0]["field"] == "reason_codes"


def test_a_large_approval_needs_a_managers_second_approval_and_the_maker_cannot_check(memory):
    memory.settings = memory.settings._replace(second_approval_above_amount_override=0)
    payload = review_application()
    call("POST", "/v1/decisions", "/v1/decisions", payload, api_key_id=CLIENT)
    [(case, _)] = memory.memory_reviews.cases.values()
    review_id = case["review_id"]
    staff("POST", f"/v1/reviews/{review_id}/claim", REVIEWER_1)

    status, pending = staff("POST", f"/v1/reviews/{review_id}/decision", REVIEWER_1, {"outcome": "approved"})
    assert (
        status == 200
        and pending["status"] == "claimed"
        and pending["second_approval"]["maker"] == "sub-reviewer-1"
    )
    assert staff("POST", f"/v1/reviews/{review_id}/second-approval", REVIEWER_2, {"approve": True})[0] == 403
    maker_as_manager = {**REVIEWER_1, "cognito:groups": "reviewer,manager"}
    status, body = staff(
        "POST", f"/v1/reviews/{review_id}/second-approval", maker_as_manager, {"approve": True}
    )
    assert status == 403 and body["error"]["code"] == "maker_checker"
    status, closed = staff("POST", f"/v1/reviews/{review_id}/second-approval", MANAGER, {"approve": True})
    assert status == 200 and closed["final_outcome"] == "approved" and closed["checked_by"] == "sub-manager-1"


def test_staff_routes_need_a_staff_group_and_the_audit_chain_shows_tampering(memory, sync_case):
    assert call("GET", "/v1/reviews", "/v1/reviews")[0] == 401  # no token's claims
    assert call("GET", "/v1/reviews", "/v1/reviews", claims=NOBODY)[0] == 403
    review_id = sync_case["case"]["review_id"]
    staff("POST", f"/v1/reviews/{review_id}/claim", REVIEWER_1)
    subject = sync_case["case"]["subject_id"]
    memory.memory_reviews.audit[subject][2]["details"]["outcome"] = "approved"  # edited

    status, detail = staff("GET", f"/v1/reviews/{review_id}", REVIEWER_1)

    assert status == 200
    assert detail["audit"]["verified"] is False and detail["audit"]["first_broken_seq"] == 2


def test_unknown_review_is_404_and_bad_parameters_are_400(memory):
    assert staff("GET", "/v1/reviews/00000000-0000-0000-0000-000000000000", REVIEWER_1)[0] == 404
    assert staff("POST", "/v1/reviews/not-a-uuid/claim", REVIEWER_1)[0] == 404
    status, body = call(
        "GET", "/v1/reviews", "/v1/reviews", claims=REVIEWER_1, query={"status": "done", "limit": "0"}
    )
    assert status == 400
    assert {detail["field"] for detail in body["error"]["details"]} == {"status", "limit"}
