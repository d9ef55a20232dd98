"""decide(): the final decision and the model's view kept apart, reasons that match what decided,
counteroffers and re-scored suggestions, a notice for every decision that is not a plain approval."""

from __future__ import annotations

import json

import pytest
from engine_test_support import (
    DECISION_DATE,
    MIDDLING,
    PROPERTIES,
    decide_v1,
    decided,
    policy_with,
    strong_application,
    training_rows,
    valid_applications,
)
from hypothesis import given

from chalicelib.engine import model_info, validate_application
from chalicelib.engine.schema import PERSONAL_FIELDS
from devstack.samples import sample_application

# The README's original sample, the data's first row: the instalment of 12,50,000 over 12 months is
# 138% of income.
README_ORIGINAL = sample_application(with_personal_data=False)


def test_a_strong_application_is_approved_without_reasons_suggestions_or_notice() -> None:
    result = decided()
    assert result["outcome"] == "approved" and result["decided_by"] == "policy+model"
    assert result["probability"] == result["model_probability"] >= 0.7
    assert result["risk_band"] == result["model_risk_band"] == "A"
    assert result["reasons"] == [] and result["suggestions"] == []
    assert result["counteroffer"] is None and result["notice"] is None
    assert result["reapply_after_months"] is None
    assert result["favourable_factors"] and len(result["favourable_factors"]) <= 3
    assert result["model"] == model_info()


def test_the_decision_is_json_and_carries_no_personal_data() -> None:
    result = decided(applicant_name="Kavita Pandey", pan="ABCDE1234F", email="kp@example.in", cibil_score=640)
    text = json.dumps(result, allow_nan=False)
    for secret in ("Kavita", "ABCDE1234F", "kp@example.in"):
        assert secret not in text
    assert not set(result) & set(PERSONAL_FIELDS)


def test_contributions_and_base_points_add_up_to_the_score() -> None:
    result = decided(cibil_score=655, late_payments_last_2_years=2)
    assert result["base_points"] + sum(c["points"] for c in result["contributions"]) == result["score"]


def test_probabilities_are_rounded_for_display() -> None:
    result = decided(cibil_score=655, late_payments_last_2_years=2)
    for key in ("probability", "model_probability"):
        assert result[key] == round(result[key], 6)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"age": 20}, "POL-AGE-MIN"),
        ({"monthly_income": 12_000, "loan_amount": 100_000}, "POL-INCOME-MIN"),
        ({"existing_emi": 80_000, "num_existing_loans": 2}, "POL-DTI-MAX"),
        ({"num_existing_loans": 6, "existing_emi": 20_000}, "POL-LOANS-MAX"),
        ({"loan_amount": 3_000_000, "loan_tenure_months": 24}, "POL-FOIR-MAX"),
    ],
)
def test_a_policy_decline_says_so_and_names_the_rule_not_the_model(changes: dict, rule: str) -> None:
    result = decided(**changes)
    assert result["outcome"] == "declined"
    assert result["reasons"][0]["code"] == rule
    check = next(c for c in result["policy"] if c["id"] == rule)
    assert (result["reasons"][0]["factor"], result["reasons"][0]["value"]) == (
        check["factor"],
        check["value"],
    )
    factors = [r["factor"] for r in result["reasons"]]
    assert len(factors) == len(set(factors)), "a factor is given as a reason once"
    if result["model_probability"] >= 0.7:  # the model alone would approve: it did not decide
        assert result["decided_by"] == "policy"
        assert all(r["code"].startswith("POL-") for r in result["reasons"])
        assert result["probability"] == 0.0 and result["risk_band"] == "E"
        assert result["model_risk_band"] == "A"
    assert result["reapply_after_months"] in (6, 9, 12)


def test_the_readme_original_sample_cannot_repay_and_gets_an_exact_counteroffer() -> None:
    application = validate_application(README_ORIGINAL)
    result = decide_v1(application, decided_on=DECISION_DATE)
    assert result["affordability"]["foir"] > 1.0
    assert result["outcome"] == "declined" and result["decided_by"] == "policy"
    assert result["reasons"][0]["code"] == "POL-FOIR-MAX"
    offer = result["counteroffer"]
    assert offer is not None and offer["loan_tenure_months"] == 12 and offer["outcome"] == "approved"
    assert offer["loan_amount"] % 25_000 == 0 and offer["foir"] <= 0.5
    assert decide_v1({**application, "loan_amount": offer["loan_amount"]})["outcome"] == "approved"
    assert decide_v1({**application, "loan_amount": offer["loan_amount"] + 25_000})["outcome"] != "approved"


def test_tenure_matters() -> None:
    short, long = (
        decided(loan_amount=2_500_000, loan_tenure_months=12),
        decided(loan_amount=2_500_000, loan_tenure_months=60),
    )
    assert short["outcome"] == "declined" and long["outcome"] == "approved"
    assert short["pricing"]["emi"] > long["pricing"]["emi"]


def test_three_warnings_turn_an_approval_into_manual_review() -> None:
    # over 65, 3 existing loans, loan above 60% of annual income: three warnings, still a high score
    changes = {"age": 70, "num_existing_loans": 3, "existing_emi": 5_000, "loan_amount": 1_000_000}
    result = decided(**changes)
    assert result["model_probability"] >= 0.7
    assert result["outcome"] == "manual_review" and result["decided_by"] == "policy"
    assert [r["code"] for r in result["reasons"]] == ["POL-LOANS-HIGH", "POL-LOAN-INCOME", "POL-AGE-MAX"]
    assert decided(**{**changes, "age": 60})["outcome"] == "approved"


def test_a_past_default_is_never_approved_automatically() -> None:
    result = decided(has_defaults=True)
    assert result["model_probability"] >= 0.7  # the score alone would approve
    assert result["outcome"] == "manual_review" and result["decided_by"] == "policy"
    assert [r["code"] for r in result["reasons"]] == ["POL-DEFAULT-REFER"]
    assert result["notice"] is not None and result["notice"]["kind"] == "review"


def test_a_model_decline_lists_a_failed_referral_rule_too() -> None:
    result = decided(**MIDDLING, cibil_score=600, late_payments_last_2_years=4, has_defaults=True)
    assert result["outcome"] == "declined" and result["decided_by"] == "model"
    codes = [r["code"] for r in result["reasons"]]
    assert codes[0] == "POL-DEFAULT-REFER" and "RSN-CREDIT-SCORE" in codes


def test_the_bands_come_from_the_policy() -> None:
    result = decided(cibil_score=655)
    p = result["model_probability"]
    application = validate_application(strong_application(cibil_score=655))
    lower = policy_with({"/bands/approve": round(p / 2, 4), "/bands/review": round(p / 4, 4)})
    higher = policy_with({"/bands/approve": 1.0, "/bands/review": min(1.0, round(p + 0.01, 4))})
    assert result["thresholds"] == {"approve": 0.65, "review": 0.45}
    assert decide_v1(application, lower)["outcome"] in ("approved", "manual_review")
    assert decide_v1(application, lower)["thresholds"]["approve"] == round(p / 2, 4)
    assert decide_v1(application, higher)["outcome"] == "declined"


def test_outcomes_follow_the_bands_and_the_rules_on_the_training_rows() -> None:
    for application, _ in training_rows()[:1500]:
        result = decide_v1(application)
        p = result["model_probability"]
        failed = {c["severity"] for c in result["policy"] if not c["passed"]}
        if failed & {"block", "fail"} or p < 0.45:
            assert result["outcome"] == "declined"
        elif p < 0.70 or "refer" in failed:
            assert result["outcome"] == "manual_review"
        else:
            assert result["outcome"] in ("approved", "manual_review")


def test_reasons_are_at_most_four_rules_first_then_factors_by_points_lost() -> None:
    seen = 0
    for application, _ in training_rows()[:1500]:
        result = decide_v1(application)
        if result["outcome"] == "approved":
            continue
        seen += 1
        reasons = result["reasons"]
        assert 1 <= len(reasons) <= 4
        kinds = [r["points_lost"] is None for r in reasons]
        assert kinds == sorted(kinds, reverse=True), "rules first"
        lost = [r["points_lost"] for r in reasons if r["points_lost"] is not None]
        assert lost == sorted(lost, reverse=True) and all(x > 0 for x in lost)
        if lost:
            assert "model" in result["decided_by"], "model factors only when the model decided too"
        for reason in reasons:
            assert set(reason) == {"code", "factor", "value", "text", "points_lost"} and reason["text"]
    assert seen > 300


def test_model_reasons_measure_the_loss_against_the_best_bin() -> None:
    result = decided(**MIDDLING, cibil_score=640, late_payments_last_2_years=4, loan_amount=200_000)
    assert result["outcome"] == "declined" and "model" in result["decided_by"]
    contributions = {c["factor"]: c for c in result["contributions"]}
    model_reasons = [r for r in result["reasons"] if r["points_lost"] is not None]
    for reason in model_reasons:
        c = contributions[reason["factor"]]
        assert reason["points_lost"] == c["max_points"] - c["points"]
    biggest_loss = max(contributions.values(), key=lambda c: c["max_points"] - c["points"])
    assert model_reasons[0]["factor"] == biggest_loss["factor"]
    assert {r["code"] for r in model_reasons} >= {"RSN-CREDIT-SCORE", "RSN-LATE-PAYMENTS"}


def test_protected_and_unused_fields_do_not_change_the_decision() -> None:
    base = decided(cibil_score=655)
    for changes in (
        {"gender": "Male"},
        {"marital_status": "Single"},
        {"city": "Delhi"},
        {"applicant_name": "Rahul Chauhan", "pan": "ABCDE1234F", "phone": "9876543210"},
    ):
        assert decided(cibil_score=655, **changes) == base


def test_favourable_factors_are_near_their_best_and_never_also_a_reason() -> None:
    result = decided(cibil_score=640, late_payments_last_2_years=3, **MIDDLING)
    assert result["outcome"] != "approved"
    reason_factors = {r["factor"] for r in result["reasons"]}
    assert "cibil_score" in reason_factors
    best = {c["factor"]: c["max_points"] for c in result["contributions"]}
    for factor in result["favourable_factors"]:
        assert factor["factor"] not in reason_factors
        assert factor["points"] >= 0.75 * best[factor["factor"]]


@PROPERTIES
@given(valid_applications())
def test_every_valid_application_gets_a_consistent_decision(application: dict) -> None:
    result = decide_v1(validate_application(application), decided_on=DECISION_DATE)
    json.dumps(result, allow_nan=False)
    assert 0.0 <= result["probability"] <= result["model_probability"] <= 1.0
    assert result["base_points"] + sum(c["points"] for c in result["contributions"]) == result["score"]
    assert len(result["reasons"]) <= 4 and len(result["suggestions"]) <= 6
    if result["outcome"] == "approved":
        assert result["reasons"] == [] and result["notice"] is None and result["counteroffer"] is None
        assert result["model_probability"] >= 0.70
    else:
        assert result["reasons"], "a non-approval always says why"
        assert result["notice"] is not None and result["notice"]["principal_reasons"] == [
            {"code": r["code"], "text": r["text"]} for r in result["reasons"]
        ]
