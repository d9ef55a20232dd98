"""explain: the reasons name what decided; every failed blocking or referral rule is among them."""

from __future__ import annotations

from engine_test_support import DECIDING, PROPERTIES, decide_v1, decided, failed_rule_ids, valid_applications
from hypothesis import given

from chalicelib.engine.explain import MAX_REASONS


def test_a_policy_decline_of_a_strong_profile_lists_only_rules() -> None:
    result = decided(monthly_income=12_000, loan_amount=100_000)
    assert result["decided_by"] == "policy"
    assert [r["code"] for r in result["reasons"]] == ["POL-INCOME-MIN"]


def test_a_decline_by_both_lists_the_rules_then_the_model_factors() -> None:
    result = decided(age=20, cibil_score=560, late_payments_last_2_years=6)
    assert result["decided_by"] == "policy+model"
    codes = [r["code"] for r in result["reasons"]]
    assert codes[0] == "POL-AGE-MIN" and any(c.startswith("RSN-") for c in codes)


@PROPERTIES
@given(valid_applications())
def test_every_failed_blocking_or_referral_rule_is_a_reason(application: dict) -> None:
    result = decide_v1(application)
    failed = failed_rule_ids(result, DECIDING)
    codes = [r["code"] for r in result["reasons"]]
    assert len(codes) <= MAX_REASONS
    if result["outcome"] == "approved":
        assert codes == [] and failed == []
    elif len(failed) <= MAX_REASONS:
        assert codes[: len(failed)] == failed
    else:  # more rules failed than reasons are given: the first four, in rule-table order
        assert codes == failed[:MAX_REASONS]
    if "model" not in result["decided_by"]:
        assert all(r["points_lost"] is None for r in result["reasons"])
