"""The review store on moto in-process (DynamoDB's own conditions and reserved words): versioned
case writes, the audit chain appended without overwriting, final outcomes beside the decision."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from chalicelib import engine
from chalicelib.audit_chain import verify
from chalicelib.service import decisions, reviews
from tests.support.samples import application_row


def manual_review_decision(aws):
    for row in range(400):
        payload = application_row(row)
        if (
            engine.decide(engine.validate_application(payload), *engine.packaged_version())["outcome"]
            == "manual_review"
        ):
            return decisions.make_decision(payload, aws, "client-a")
    raise AssertionError("no manual_review applicant in the first 400 rows")


def test_a_sync_manual_review_writes_its_case_and_trail_with_the_decision(aws):
    decision = manual_review_decision(aws)
    case, version = aws.reviews.get_case(reviews.review_id_for(decision["decision_id"]))
    assert (case["status"], version) == ("open", 1)
    trail = verify(aws.reviews.audit_entries(decision["decision_id"]))
    assert trail["verified"] and [e["action"] for e in trail["entries"]] == [
        "submitted",
        "decided",
        "case_opened",
    ]


def test_only_one_of_many_writers_of_a_version_wins(aws):
    decision = manual_review_decision(aws)
    case, version = aws.reviews.get_case(reviews.review_id_for(decision["decision_id"]))

    def claim(n: int) -> bool:
        return aws.reviews.replace_case({**case, "status": "claimed", "claimed_by": f"s{n}"}, version)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(claim, range(8)))
    assert results.count(True) == 1


def test_appending_chains_after_the_end_and_the_final_outcome_sits_beside_the_decision(aws):
    decision = manual_review_decision(aws)
    subject = decision["decision_id"]
    aws.reviews.append_audit(subject, [("claimed", "s1", "2026-12-01T10:00:00.000Z", {})], 2_000_000_000)
    aws.reviews.append_audit(subject, [("released", "s1", "2026-12-01T10:01:00.000Z", {})], 2_000_000_000)
    trail = verify(aws.reviews.audit_entries(subject))
    assert trail["verified"] and [e["seq"] for e in trail["entries"]] == [1, 2, 3, 4, 5]

    final = {
        "final_outcome": "declined",
        "final_decided_by": "reviewer",
        "final_reason_codes": [],
        "final_decided_at": "x",
    }
    aws.store.set_final_outcome(subject, None, final)

    record = aws.store.get_decision(subject)
    assert record["final"] == final and record["decision"]["outcome"] == "manual_review"
