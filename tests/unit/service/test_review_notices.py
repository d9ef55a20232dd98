"""The notice of the action actually taken: after a reviewer decides a referred case, the client's
notice is the reviewer's (their coded reasons), and every notice issued, the engine's own declines
included, has a ``notice_issued`` audit entry whose digest matches the text the notice route serves.
On the in-memory twin and on moto's DynamoDB (the two stores write the final outcome differently)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

import app
from chalicelib import engine, resources
from chalicelib.service import decisions, reviews
from devstack.lambda_events import worker_context
from tests.support.http import post_json
from tests.support.samples import application_row
from tests.support.sqs import queued_records, sqs_event

CLIENT = "client-key-id"
REVIEWER = "sub-reviewer-1"


def first_row(outcome: str) -> dict[str, Any]:
    for row in range(400):
        candidate = application_row(row)
        if (
            engine.decide(engine.validate_application(candidate), *engine.packaged_version())["outcome"]
            == outcome
        ):
            return candidate
    raise AssertionError(f"no {outcome} applicant in the first 400 rows")


@pytest.fixture(params=["memory", "aws"])
def deps(request: pytest.FixtureRequest) -> Any:
    store = request.getfixturevalue(request.param)
    # Approvals close at once (no maker-checker): the notice is what is under test here.
    store.settings = store.settings._replace(second_approval_above_amount_override=10**12)
    return store


def referred_case(deps: Any) -> tuple[str, str, str]:
    """A sync manual_review decision, claimed by REVIEWER: (decision id, review id, subject id)."""
    made = decisions.make_decision(first_row("manual_review"), deps, CLIENT)
    assert made["outcome"] == "manual_review" and made["stored"] is True
    review_id = reviews.review_id_for(made["decision_id"])
    case = reviews.claim(deps, review_id, REVIEWER)
    return made["decision_id"], review_id, case["subject_id"]


def issued(deps: Any, subject_id: str) -> list[dict[str, Any]]:
    trail = reviews.trail(deps, subject_id)
    assert trail["verified"] is True
    return [entry for entry in trail["entries"] if entry["action"] == "notice_issued"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_reviewers_decline_is_the_notice_with_their_reasons_and_its_audit_entry_matches(deps):
    decision_id, review_id, subject_id = referred_case(deps)
    codes = ["RSN-CREDIT-SCORE", "POL-FOIR-MAX"]
    catalogue = engine.reason_catalogue(engine.packaged_version().policy)
    assert set(codes) <= set(catalogue)
    note = "spoke to the applicant, Asha Kumar"

    reviews.decide(deps, review_id, REVIEWER, {"outcome": "declined", "reason_codes": codes, "note": note})
    notice = decisions.decision_notice(decision_id, deps, CLIENT)

    assert (notice["kind"], notice["outcome"], notice["decided_by"]) == ("decline", "declined", "reviewer")
    assert notice["principal_reasons"] == [{"code": code, "text": catalogue[code]} for code in codes]
    assert "has been declined, as decided by a credit officer who reviewed it." in notice["text"]
    assert "referred" not in notice["text"]
    assert "Asha" not in json.dumps(notice)  # the free-text note never reaches the notice
    for reason in notice["principal_reasons"]:
        assert reason["text"] in notice["text"]
    engine_notice = deps.store.get_decision(decision_id)["decision"]["notice"]
    assert notice["credit_score"] == engine_notice["credit_score"]
    assert notice["key_factors"] == engine_notice["key_factors"]
    [entry] = issued(deps, subject_id)
    assert entry["actor"] == REVIEWER
    assert entry["details"] == {
        "decision_id": decision_id,
        "kind": "decline",
        "outcome": "declined",
        "decided_by": "reviewer",
        "reason_codes": codes,
        "text_sha256": sha256(notice["text"]),
    }


def test_a_reviewers_approval_is_a_notice_of_approval_and_the_record_keeps_both_views(deps):
    decision_id, review_id, subject_id = referred_case(deps)

    reviews.decide(deps, review_id, REVIEWER, {"outcome": "approved"})
    notice = decisions.decision_notice(decision_id, deps, CLIENT)
    on_record = decisions.decision_on_record(decision_id, deps, CLIENT)

    assert (notice["kind"], notice["outcome"], notice["decided_by"]) == ("approval", "approved", "reviewer")
    assert notice["principal_reasons"] == [] and notice["key_factors"] == []
    assert "has been approved, as decided by a credit officer" in notice["text"]
    assert "Principal reasons" not in notice["text"]
    [entry] = issued(deps, subject_id)
    assert entry["details"]["text_sha256"] == sha256(notice["text"])
    # The decision on record: the engine's outcome and its referral notice are never overwritten;
    # the reviewer's outcome sits beside them, and the notice of it only on the notice route.
    assert on_record["outcome"] == "manual_review"
    assert on_record["notice"]["kind"] in ("review", "counteroffer")
    assert on_record["final_outcome"] == "approved" and on_record["final_decided_by"] == "reviewer"
    assert on_record["notice"] == deps.store.get_decision(decision_id)["decision"]["notice"]
    assert on_record["notice"]["decided_by"] != "reviewer"


def test_a_review_closed_without_a_stored_notice_renders_the_same_notice(memory):
    memory.settings = memory.settings._replace(second_approval_above_amount_override=10**12)
    decision_id, review_id, _ = referred_case(memory)
    reviews.decide(memory, review_id, REVIEWER, {"outcome": "declined", "reason_codes": ["RSN-CREDIT-SCORE"]})
    stored = decisions.decision_notice(decision_id, memory, CLIENT)

    del memory.memory_store.decisions[decision_id]["final"]["notice"]  # closed before notices were stored

    assert decisions.decision_notice(decision_id, memory, CLIENT) == stored


def test_the_engines_own_decline_has_a_notice_issued_entry_matching_its_notice(deps):
    made = decisions.make_decision(first_row("declined"), deps, CLIENT)
    notice = decisions.decision_notice(made["decision_id"], deps, CLIENT)

    [entry] = issued(deps, made["decision_id"])

    assert entry["actor"] == reviews.ENGINE_ACTOR
    assert entry["details"] == {
        "decision_id": made["decision_id"],
        "kind": notice["kind"],
        "outcome": "declined",
        "decided_by": made["decided_by"],
        "reason_codes": [reason["code"] for reason in made["reasons"]],
        "text_sha256": sha256(notice["text"]),
    }


def test_a_referral_issues_no_notice_until_the_reviewer_decides(deps):
    _, _, subject_id = referred_case(deps)
    assert issued(deps, subject_id) == []


def test_an_async_engine_decline_has_its_notice_issued_entry(chalice_client, memory):
    response = post_json(chalice_client, "/v1/applications", first_row("declined"))
    assert response.status_code == 202
    application_id = json.loads(response.body)["application_id"]

    result = app.process_application_queue(
        sqs_event(*queued_records(memory.memory_queue)), worker_context("local", resources.LOCAL_REGION)
    )

    assert result == {"batchItemFailures": []}
    decision_id = memory.memory_store.applications[application_id]["decision_id"]
    owner = memory.memory_store.decisions[decision_id]["client_id"]
    notice = decisions.decision_notice(decision_id, memory, owner)
    [entry] = issued(memory, application_id)
    assert entry["details"]["decision_id"] == decision_id
    assert entry["details"]["text_sha256"] == sha256(notice["text"])
