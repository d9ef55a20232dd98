"""policy: the rule table, FOIR limits, and no approval the applicant cannot repay."""

from __future__ import annotations

from engine_test_support import POLICY, PROPERTIES, decide_v1, decided, valid_applications
from hypothesis import given

from chalicelib.engine.policy import RULE_SPECS
from chalicelib.engine.schema import APPLICATION_FIELDS

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
