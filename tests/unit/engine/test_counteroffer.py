"""counteroffer: the largest approvable amount at the requested tenure, else the shortest approvable
tenure; exact, and it decides as stated."""

from __future__ import annotations

from engine_test_support import (
    POLICY,
    PROPERTIES,
    applied,
    decide_v1,
    decided,
    strong_application,
    valid_applications,
)
from hypothesis import given, note

from chalicelib.engine import validate_application
from chalicelib.engine.schema import LOAN_TENURES

LOAN_STEP = POLICY.counteroffer.loan_step


def test_the_largest_approvable_amount_is_exact() -> None:
    application = validate_application(strong_application(loan_amount=3_000_000, loan_tenure_months=36))
    offer = decide_v1(application)["counteroffer"]
    assert offer is not None and offer["loan_tenure_months"] == 36 and offer["outcome"] == "approved"
    assert offer["loan_amount"] % LOAN_STEP == 0 and offer["loan_amount"] < 3_000_000
    assert applied(application, loan_amount=offer["loan_amount"] + LOAN_STEP)["outcome"] != "approved"


SMALL_LOAN = {
    "monthly_income": 15_000,
    "loan_amount": 24_000,
    "loan_tenure_months": 12,
    "existing_emi": 6_000,
}


def test_the_shortest_approvable_tenure_when_no_amount_would_do() -> None:
    # An amount below one step cannot be reduced: only a longer tenure can help.
    application = validate_application(strong_application(**SMALL_LOAN))
    result = decide_v1(application)
    offer = result["counteroffer"]
    assert result["outcome"] != "approved" and offer is not None
    assert offer["loan_amount"] == 24_000 and offer["loan_tenure_months"] > 12
    shorter = [t for t in LOAN_TENURES if 12 < t < offer["loan_tenure_months"]]
    application = validate_application(
        strong_application(
            monthly_income=15_000, loan_amount=24_000, loan_tenure_months=12, existing_emi=6_000
        )
    )
    for tenure in shorter:
        assert applied(application, loan_tenure_months=tenure)["outcome"] != "approved"


def test_no_counteroffer_when_other_terms_cannot_help() -> None:
    assert decided(age=20)["counteroffer"] is None
    assert decided()["counteroffer"] is None  # approved as asked


@PROPERTIES
@given(valid_applications())
def test_a_counteroffer_decides_as_its_stated_outcome(application: dict) -> None:
    result = decide_v1(application)
    offer = result["counteroffer"]
    if offer is None:
        return
    note(str(offer))
    assert result["outcome"] != "approved" and offer["outcome"] == "approved"
    again = applied(
        application, loan_amount=offer["loan_amount"], loan_tenure_months=offer["loan_tenure_months"]
    )
    assert again["outcome"] == offer["outcome"]
    assert again["probability"] == offer["probability"]
    assert again["pricing"]["emi"] == offer["emi"]
    assert all(c["passed"] for c in again["policy"] if c["severity"] != "warning")
    changed_amount = offer["loan_amount"] != application["loan_amount"]
    changed_tenure = offer["loan_tenure_months"] != application["loan_tenure_months"]
    assert changed_amount != changed_tenure, "amount at the requested tenure, else tenure alone"
