"""The review desk over HTTP against the real local stack: a manual_review application goes
through the queue, the worker opens its case, real staff tokens (moto's Cognito, verified by the
local stage) claim it (twenty at once: exactly one wins) and decide it; the client sees the final
outcome and the notice of the reviewer's action (its audit entry names the text served); editing an
audit entry in DynamoDB breaks the chain where it was edited."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from chalicelib import engine, resources
from chalicelib.service.reviews import review_id_for
from devstack.client import ApiClient
from devstack.processes import wait_until
from devstack.samples import applications
from devstack.stack import DevStack

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tokens(stack: DevStack, staff_tokens: Callable[[DevStack], dict[str, str]]) -> dict[str, str]:
    return staff_tokens(stack)


def staff(stack: DevStack, token: str, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method, f"{stack.api_url}{path}", json=body, headers={"Authorization": token}, timeout=30
    )


def a_manual_review_application() -> dict[str, Any]:
    for payload in applications(400, with_personal_data=True):
        if (
            engine.decide(engine.validate_application(payload), *engine.packaged_version())["outcome"]
            == "manual_review"
        ):
            return payload
    raise AssertionError("no manual_review applicant in the first 400 rows")


@pytest.fixture(scope="module")
def case(api: ApiClient, stack: DevStack, tokens: dict[str, str]) -> dict[str, Any]:
    submitted = api.post("/v1/applications", a_manual_review_application())
    assert submitted.status_code == 202, submitted.text
    application_id = submitted.json()["application_id"]
    status = wait_until(
        lambda: (
            (body := api.get(f"/v1/applications/{application_id}").json())["status"] == "DECIDED" and body
        ),
        90,
        "the application to be decided",
        interval=0.3,
    )
    review_id = review_id_for(status["decision_id"])
    # The worker opens the case after the application is DECIDED (its own write): wait for it.
    wait_until(
        lambda: staff(stack, tokens["reviewer1"], "GET", f"/v1/reviews/{review_id}").status_code == 200,
        90,
        "the review case to be opened",
        interval=0.3,
    )
    return {"application_id": application_id, "decision_id": status["decision_id"], "review_id": review_id}


def test_twenty_simultaneous_claims_exactly_one_wins(
    stack: DevStack, tokens: dict[str, str], case: dict
) -> None:
    review_id = case["review_id"]
    listed = staff(stack, tokens["reviewer1"], "GET", "/v1/reviews?status=open&limit=100")
    assert listed.status_code == 200
    assert review_id in [item["review_id"] for item in listed.json()["items"]]

    def claim(n: int) -> requests.Response:
        token = tokens["reviewer1"] if n % 2 else tokens["reviewer2"]
        return staff(stack, token, "POST", f"/v1/reviews/{review_id}/claim")

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(claim, range(20)))

    assert sorted(response.status_code for response in responses) == [200] + [409] * 19
    [winner] = [response.json() for response in responses if response.status_code == 200]
    holder = winner["claimed_by"]
    for response in responses:
        if response.status_code == 409:
            assert {"field": "claimed_by", "problem": f"claimed by {holder}"} in response.json()["error"][
                "details"
            ]
    assert staff(stack, tokens["reviewer1"], "GET", f"/v1/reviews/{review_id}").json()["claimed_by"] == holder
    # Hand the case to reviewer1 for the rest of the flow: only its holder can release it.
    released = [
        name
        for name in ("reviewer1", "reviewer2")
        if staff(stack, tokens[name], "POST", f"/v1/reviews/{review_id}/release").status_code == 200
    ]
    assert len(released) == 1
    assert staff(stack, tokens["reviewer1"], "POST", f"/v1/reviews/{review_id}/claim").status_code == 200


def test_the_claimer_decides_and_the_client_sees_the_final_outcome(
    api: ApiClient, stack: DevStack, tokens: dict[str, str], case: dict
) -> None:
    review_id = case["review_id"]
    by_other = staff(
        stack,
        tokens["reviewer2"],
        "POST",
        f"/v1/reviews/{review_id}/decision",
        {"outcome": "declined", "reason_codes": ["RSN-CREDIT-SCORE"]},
    )
    assert by_other.status_code == 409
    decided = staff(
        stack,
        tokens["reviewer1"],
        "POST",
        f"/v1/reviews/{review_id}/decision",
        {"outcome": "declined", "reason_codes": ["RSN-CREDIT-SCORE"], "note": "checked the bureau file"},
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "closed"

    application = api.get(f"/v1/applications/{case['application_id']}").json()
    decision = api.get(f"/v1/decisions/{case['decision_id']}").json()
    for body in (application, decision):
        assert body["final_outcome"] == "declined" and body["final_decided_by"] == "reviewer"
        assert not {"claimed_by", "reviewed_by", "final_note", "audit", "second_approval"} & set(body)
    assert decision["outcome"] == "manual_review"
    assert (
        api.get(f"/v1/applications/{case['application_id']}/audit").status_code == 401
    )  # an API key is no staff


def test_the_notice_is_the_reviewers_decline_and_its_audit_entry_names_the_text_served(
    api: ApiClient, stack: DevStack, tokens: dict[str, str], case: dict
) -> None:
    # After test_the_claimer_decides_and_the_client_sees_the_final_outcome: declined, RSN-CREDIT-SCORE.
    path = f"/v1/decisions/{case['decision_id']}/notice"
    notice = api.get(path)
    text = api.get(path, headers={"Accept": "text/plain"})
    audit = staff(stack, tokens["manager1"], "GET", f"/v1/applications/{case['application_id']}/audit")

    assert notice.status_code == 200 and text.status_code == 200 and audit.status_code == 200
    body = notice.json()
    assert (body["kind"], body["outcome"], body["decided_by"]) == ("decline", "declined", "reviewer")
    assert [reason["code"] for reason in body["principal_reasons"]] == ["RSN-CREDIT-SCORE"]
    assert (
        body["principal_reasons"][0]["text"]
        == engine.reason_catalogue(engine.packaged_version().policy)["RSN-CREDIT-SCORE"]
    )
    assert text.text == body["text"] and "declined, as decided by a credit officer" in text.text
    assert "referred" not in text.text and "bureau" not in text.text  # the reviewer's note stays staff-only
    [issued] = [entry for entry in audit.json()["entries"] if entry["action"] == "notice_issued"]
    assert issued["details"]["kind"] == "decline"
    assert issued["details"]["reason_codes"] == ["RSN-CREDIT-SCORE"]
    assert issued["details"]["text_sha256"] == hashlib.sha256(text.text.encode()).hexdigest()


def test_editing_an_audit_entry_breaks_the_chain_where_it_was_edited(
    stack: DevStack, tokens: dict[str, str], case: dict
) -> None:
    path = f"/v1/applications/{case['application_id']}/audit"
    before = staff(stack, tokens["manager1"], "GET", path)
    assert before.status_code == 200 and before.json()["verified"] is True
    assert len(before.json()["entries"]) >= 4
    dynamodb = stack.client("dynamodb")
    table = stack.resource_name(resources.AUDIT_TABLE.suffix)
    dynamodb.update_item(
        TableName=table,
        Key={"subject_id": {"S": case["application_id"]}, "seq": {"S": "00000002"}},
        UpdateExpression="SET actor = :a",
        ExpressionAttributeValues={":a": {"S": "someone-else"}},
    )

    after = staff(stack, tokens["manager1"], "GET", path).json()

    assert after["verified"] is False and after["first_broken_seq"] == 2
    detail = staff(stack, tokens["reviewer1"], "GET", f"/v1/reviews/{case['review_id']}").json()
    assert detail["audit"]["verified"] is False
    assert staff(stack, tokens["reviewer1"], "GET", f"/v1/reviews/{uuid.uuid4()}").status_code == 404
