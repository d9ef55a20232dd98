"""decide(): outcome from bands + rules, ranked reasons, exact counterfactual suggestions."""

from __future__ import annotations

import json

import pytest
from engine_test_support import strong_application, training_rows

from chalicelib.engine import decide, model_info, validate_application
from chalicelib.engine.artifact import load_model
from chalicelib.engine.outcome import APPROVED, Bands, outcome_for
from chalicelib.engine.schema import PERSONAL_FIELDS
from chalicelib.engine.suggest import LOAN_STEP, reapply_after_months

# A middling applicant: short job and credit history, some existing debt.
MIDDLING = {
    "age": 26,
    "years_at_current_job": 1,
    "credit_history_years": 2,
    "existing_emi": 15_000,
    "num_existing_loans": 1,
    "monthly_income": 60_000,
}


def decision(**changes: object) -> dict:
    return decide(validate_application(strong_application(**changes)))


def policy_ids(result: dict) -> set[str]:
    return {check["id"] for check in result["policy"] if not check["passed"]}


def test_a_strong_application_is_approved_without_reasons_or_suggestions() -> None:
    result = decision()
    assert result["outcome"] == "approved"
    assert result["probability"] >= 0.7
    assert result["reasons"] == [] and result["suggestions"] == []
    assert result["reapply_after_months"] is None
    assert result["favourable_factors"] and len(result["favourable_factors"]) <= 3
    assert result["model"] == model_info()


def test_the_decision_is_json_and_carries_no_personal_data() -> None:
    result = decision(
        applicant_name="Kavita Pandey", pan="ABCDE1234F", email="kp@example.in", cibil_score=640
    )
    text = json.dumps(result)
    for secret in ("Kavita", "ABCDE1234F", "kp@example.in"):
        assert secret not in text
    assert not set(result) & set(PERSONAL_FIELDS)


def test_contributions_and_base_points_add_up_to_the_score() -> None:
    result = decision(cibil_score=655, late_payments_last_2_years=2)
    assert result["base_points"] + sum(c["points"] for c in result["contributions"]) == result["score"]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"age": 20}, "POL-AGE-MIN"),
        ({"monthly_income": 12_000, "loan_amount": 100_000}, "POL-INCOME-MIN"),
        ({"existing_emi": 80_000, "num_existing_loans": 2}, "POL-DTI-MAX"),
        ({"num_existing_loans": 6, "existing_emi": 20_000}, "POL-LOANS-MAX"),
    ],
)
def test_blocking_rules_decline_whatever_the_score(changes: dict, rule: str) -> None:
    result = decision(**changes)
    assert result["outcome"] == "declined"
    assert result["reasons"][0]["code"] == rule
    assert rule in policy_ids(result)
    check = next(c for c in result["policy"] if c["id"] == rule)
    assert (result["reasons"][0]["factor"], result["reasons"][0]["value"]) == (
        check["factor"],
        check["value"],
    )
    factors = [r["factor"] for r in result["reasons"]]
    assert len(factors) == len(set(factors)), "a factor is given as a reason once"
    assert result["reapply_after_months"] == 12  # a critical suggestion


def test_three_warnings_turn_an_approval_into_manual_review() -> None:
    # over 65, 3 existing loans, loan above 60% of annual income: three warnings, still a high score
    changes = {"age": 70, "num_existing_loans": 3, "existing_emi": 5_000, "loan_amount": 1_000_000}
    result = decision(**changes)
    assert {"POL-AGE-MAX", "POL-LOANS-HIGH", "POL-LOAN-INCOME"} <= policy_ids(result)
    assert result["probability"] >= 0.7
    assert result["outcome"] == "manual_review"
    assert {r["code"] for r in result["reasons"]} >= {"POL-AGE-MAX", "POL-LOANS-HIGH", "POL-LOAN-INCOME"}
    two_warnings = decision(**{**changes, "age": 60})
    assert two_warnings["outcome"] == "approved"


def test_bands_are_configurable() -> None:
    result = decision(cibil_score=655)
    p = result["probability"]
    assert decide(validate_application(strong_application(cibil_score=655)), approve_threshold=p / 2)[
        "outcome"
    ] in ("approved", "manual_review")
    assert (
        decide(
            validate_application(strong_application(cibil_score=655)),
            review_threshold=min(1.0, p + 0.01),
            approve_threshold=1.0,
        )["outcome"]
        == "declined"
    )
    with pytest.raises(ValueError):
        decide(validate_application(strong_application()), approve_threshold=0.3, review_threshold=0.5)


def test_outcomes_follow_the_bands_on_the_training_rows() -> None:
    for application, _ in training_rows()[:1500]:
        result = decide(application)
        p, blocked = (
            result["probability"],
            any(not c["passed"] and c["severity"] != "warning" for c in result["policy"]),
        )
        if blocked or p < 0.45:
            assert result["outcome"] == "declined"
        elif p < 0.65:
            assert result["outcome"] == "manual_review"
        else:
            assert result["outcome"] in ("approved", "manual_review")


def test_reasons_are_at_most_four_ranked_by_points_lost() -> None:
    seen = 0
    for application, _ in training_rows()[:1500]:
        result = decide(application)
        if result["outcome"] == "approved":
            continue
        seen += 1
        reasons = result["reasons"]
        assert 1 <= len(reasons) <= 4
        lost = [r["points_lost"] for r in reasons if r["points_lost"] is not None]
        assert lost == sorted(lost, reverse=True) and all(x > 0 for x in lost)
        for reason in reasons:
            assert set(reason) == {"code", "factor", "value", "text", "points_lost"}
            assert reason["text"]
        assert len(result["suggestions"]) <= 6
    assert seen > 300


def test_model_reasons_measure_the_loss_against_the_best_bin() -> None:
    result = decision(**MIDDLING, cibil_score=640, late_payments_last_2_years=4, loan_amount=2_000_000)
    assert result["outcome"] == "declined"
    contributions = {c["factor"]: c for c in result["contributions"]}
    for reason in result["reasons"]:
        c = contributions[reason["factor"]]
        assert reason["points_lost"] == c["max_points"] - c["points"]
    biggest_loss = max(contributions.values(), key=lambda c: c["max_points"] - c["points"])
    assert result["reasons"][0]["factor"] == biggest_loss["factor"]
    assert {r["code"] for r in result["reasons"]} >= {"RSN-CREDIT-SCORE", "RSN-LATE-PAYMENTS"}


def test_the_largest_approvable_loan_is_exact() -> None:
    model = load_model()
    bands = Bands.of(model)
    application = validate_application(strong_application(**MIDDLING, cibil_score=640, loan_amount=500_000))
    result = decide(application)
    assert result["outcome"] != "approved"
    loan = next(
        s for s in result["suggestions"] if s["category"] == "loan_adjustment" and s["current"] == 500_000
    )
    target = loan["target"]
    assert target % LOAN_STEP == 0 and target < 500_000
    assert outcome_for(model, {**application, "loan_amount": target}, bands) == APPROVED
    assert outcome_for(model, {**application, "loan_amount": target + LOAN_STEP}, bands) != APPROVED


def test_the_credit_score_that_flips_the_outcome_is_exact() -> None:
    model = load_model()
    bands = Bands.of(model)
    application = validate_application(strong_application(**MIDDLING, cibil_score=640))
    result = decide(application)
    assert result["outcome"] != "approved"
    credit = next(s for s in result["suggestions"] if s["category"] == "credit" and s["current"] == 640)
    target = credit["target"]
    assert outcome_for(model, {**application, "cibil_score": target}, bands) == APPROVED
    assert outcome_for(model, {**application, "cibil_score": target - 1}, bands) != APPROVED


def test_suggestions_have_the_documented_shape() -> None:
    result = decision(cibil_score=610, years_at_current_job=0, savings_balance=20_000, existing_emi=55_000)
    assert 1 <= len(result["suggestions"]) <= 6
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    ranks = [order[s["priority"]] for s in result["suggestions"]]
    assert ranks == sorted(ranks)
    for suggestion in result["suggestions"]:
        assert set(suggestion) == {"category", "current", "target", "action", "expected_time", "priority"}
    assert {"credit", "debt", "employment"} <= {s["category"] for s in result["suggestions"]}


@pytest.mark.parametrize(
    ("priorities", "months"),
    [
        ([], 3),
        (["medium", "low"], 3),
        (["high"], 6),
        (["high", "high", "low"], 9),
        (["high", "critical"], 12),
    ],
)
def test_reapply_timeline(priorities: list[str], months: int) -> None:
    assert reapply_after_months([{"priority": p} for p in priorities]) == months


def test_protected_and_unused_fields_do_not_change_the_decision() -> None:
    base = decision(cibil_score=655)
    for changes in (
        {"gender": "Male"},
        {"marital_status": "Single"},
        {"city": "Delhi"},
        {"applicant_name": "Rahul Chauhan", "pan": "ABCDE1234F", "phone": "9876543210"},
    ):
        assert decision(cibil_score=655, **changes) == base


def test_a_past_default_is_never_approved_automatically() -> None:
    result = decision(has_defaults=True)
    assert result["probability"] >= 0.7  # the score alone would approve
    assert result["outcome"] == "manual_review"
    assert result["reasons"][0]["code"] == "POL-DEFAULT-REFER"
    assert decision()["outcome"] == "approved"


def test_favourable_factors_are_near_their_best_and_never_also_a_reason() -> None:
    # The credit score earns some points here but is the main reason against the applicant.
    result = decision(cibil_score=640, late_payments_last_2_years=3, **MIDDLING)
    assert result["outcome"] != "approved"
    reason_factors = {r["factor"] for r in result["reasons"]}
    assert "cibil_score" in reason_factors
    best = {c["factor"]: c["max_points"] for c in result["contributions"]}
    for factor in result["favourable_factors"]:
        assert factor["factor"] not in reason_factors
        assert factor["points"] >= 0.75 * best[factor["factor"]]
