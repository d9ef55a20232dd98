"""policy: the rule table, FOIR limits, no approval the applicant cannot repay, and checks that read
true to a person (a band rule above its band is not "passed")."""

from __future__ import annotations

import pytest
from engine_test_support import POLICY, PROPERTIES, decide_v1, decided, valid_applications
from hypothesis import given

from chalicelib.engine.policy import RULE_SPECS
from chalicelib.engine.schema import APPLICATION_FIELDS
from chalicelib.engine.types import Decision

RULES = POLICY.rules
FOIR_LIMIT, FOIR_REVIEW = POLICY.limits.max_foir, POLICY.limits.foir_review_above


def test_rule_ids_are_unique_and_fields_are_application_fields() -> None:
    assert len({r.id for r in RULES}) == len(RULES) == len(RULE_SPECS)
    for rule in RULES:
        assert set(rule.fields) <= set(APPLICATION_FIELDS), rule.id
    for spec in RULE_SPECS:
        assert spec.band_below is None or spec.band_below in {r.id for r in RULES}, spec.id


def test_foir_limits_are_a_review_band_below_a_hard_limit() -> None:
    assert 0.5 <= FOIR_REVIEW < FOIR_LIMIT <= 0.6
    # 12,00,000 over 36 months at 10% for an income of 1,20,000: FOIR about 32%
    for loan, outcome in ((1_200_000, "approved"), (2_000_000, "manual_review"), (3_000_000, "declined")):
        result = decided(loan_amount=loan)
        assert result["outcome"] == outcome, (loan, result["affordability"]["foir"])


@PROPERTIES
@given(valid_applications())
def test_foir_above_the_hard_limit_is_never_approved(application: dict) -> None:
    result = decide_v1(application)
    if result["affordability"]["foir"] > FOIR_LIMIT:
        assert result["outcome"] == "declined"
        assert "POL-FOIR-MAX" in {r["code"] for r in result["reasons"]}
    if result["outcome"] == "approved":
        assert result["affordability"]["foir"] <= FOIR_REVIEW


# A band rule above its band: not passed, not a second reason; the harder rule decides ------------------

BAND_RULES = {  # band rule -> (the harder rule, the application change that puts the value far above)
    "POL-FOIR-REVIEW": ("POL-FOIR-MAX", {"loan_amount": 5_100_000}),
    "POL-DTI-HIGH": ("POL-DTI-MAX", {"existing_emi": 84_000}),
    "POL-LOANS-HIGH": ("POL-LOANS-MAX", {"num_existing_loans": 7}),
}


def _check(result: Decision, rule_id: str) -> dict:
    return next(dict(c) for c in result["policy"] if c["id"] == rule_id)


def test_foir_137_percent_does_not_pass_the_50_percent_review_rule() -> None:
    result = decided(loan_amount=5_100_000)
    assert round(result["affordability"]["foir"], 2) == 1.37  # the example
    review, hard = _check(result, "POL-FOIR-REVIEW"), _check(result, "POL-FOIR-MAX")
    assert hard["passed"] is False and review["passed"] is False
    assert review["message"].startswith(
        "All instalments incl. the new loan (FOIR) at most 50% of income: not met."
    )
    assert "POL-FOIR-MAX decides" in review["message"] and "the limit is 60%" in review["message"]
    assert result["outcome"] == "declined"
    assert [r["code"] for r in result["reasons"]] == ["POL-FOIR-MAX"], "no second reason for the same ratio"


@pytest.mark.parametrize("rule_id", sorted(BAND_RULES))
def test_a_band_rule_reads_true_below_within_and_above_its_band(rule_id: str) -> None:
    harder, far_above = BAND_RULES[rule_id]
    below = decided()
    assert _check(below, rule_id)["passed"] is True and _check(below, harder)["passed"] is True
    above = decided(**far_above)
    assert _check(above, rule_id)["passed"] is False and _check(above, harder)["passed"] is False
    assert f"{harder} decides" in _check(above, rule_id)["message"]
    assert rule_id not in {r["code"] for r in above["reasons"]} and harder in {
        r["code"] for r in above["reasons"]
    }


def test_within_the_band_the_band_rule_itself_is_breached() -> None:
    result = decided(loan_amount=2_125_000)  # FOIR about 57%
    review, hard = _check(result, "POL-FOIR-REVIEW"), _check(result, "POL-FOIR-MAX")
    assert (review["passed"], hard["passed"]) == (False, True)
    assert review["message"].endswith("a credit officer must review the application.")
    assert [r["code"] for r in result["reasons"]] == ["POL-FOIR-REVIEW"]


LIMIT_CHECKS = {  # rule id -> whether the check should pass for its value (the description's test)
    "POL-FOIR-REVIEW": lambda v: v <= POLICY.limits.foir_review_above,
    "POL-FOIR-MAX": lambda v: v <= POLICY.limits.max_foir,
    "POL-DTI-HIGH": lambda v: v <= POLICY.limits.debt_to_income_warning_above,
    "POL-DTI-MAX": lambda v: v <= POLICY.limits.max_debt_to_income,
    "POL-LOANS-HIGH": lambda v: v < POLICY.limits.existing_loans_warning_from,
    "POL-LOANS-MAX": lambda v: v <= POLICY.limits.max_existing_loans,
}
ROUNDING = 1e-4  # check values are rounded to 4 places: at the limit itself either reading is true


@PROPERTIES
@given(valid_applications())
def test_every_limit_check_passes_exactly_when_its_value_is_within_the_limit(application: dict) -> None:
    result = decide_v1(application)
    for rule_id, within in LIMIT_CHECKS.items():
        check = _check(result, rule_id)
        limit_near = any(
            within(check["value"] + delta) != within(check["value"]) for delta in (-ROUNDING, ROUNDING)
        )
        if not limit_near:
            assert check["passed"] is within(check["value"]), check
