"""quick_eligibility: the full decision's rules and limits, a documented score scale, never "likely"
where the full decision blocks on the fields given."""

from __future__ import annotations

import pytest
from engine_test_support import POLICY, PROPERTIES, decide_v1, valid_applications
from hypothesis import given

from chalicelib.engine import ValidationFailed, quick_eligibility_json_schema
from chalicelib.engine.eligibility import QUICK_FIELDS, quick_blocking_rules
from chalicelib.engine.eligibility import quick_eligibility as quick_eligibility_with
from chalicelib.engine.types import QuickEligibility

DTI_MAX, FOIR_MAX, INCOME_MIN = (POLICY.rule(i) for i in ("POL-DTI-MAX", "POL-FOIR-MAX", "POL-INCOME-MIN"))
QUICK_BLOCKING_RULES = quick_blocking_rules(POLICY)


def quick_eligibility(payload: object) -> QuickEligibility:
    return quick_eligibility_with(payload, POLICY)


GOOD = {
    "cibil_score": 750,
    "monthly_income": 100_000,
    "existing_emi": 10_000,
    "loan_amount": 400_000,
    "years_at_current_job": 3,
}


def test_all_criteria_met_is_likely() -> None:
    result = quick_eligibility(GOOD)
    assert (result["verdict"], result["eligibility_score"], result["blocked_by"]) == ("likely", 8, [])
    assert len(result["strengths"]) == 4 and result["improvement_areas"] == []
    assert all(check["met"] for check in result["checks"])


@pytest.mark.parametrize(
    ("changes", "verdict", "score"),
    [
        ({"cibil_score": 650}, "likely", 5),  # 3 met: 6 - 1
        ({"cibil_score": 650, "existing_emi": 45_000}, "possible", 2),  # 2 met: 4 - 2
        ({"cibil_score": 650, "existing_emi": 45_000, "years_at_current_job": 1}, "unlikely", -1),
        (
            {"cibil_score": 650, "existing_emi": 45_000, "years_at_current_job": 1, "loan_amount": 800_000},
            "unlikely",
            -4,
        ),
    ],
)
def test_verdict_scale(changes: dict, verdict: str, score: int) -> None:
    result = quick_eligibility({**GOOD, **changes})
    assert (result["verdict"], result["eligibility_score"]) == (verdict, score)


def test_the_limits_are_the_policy_limits() -> None:
    at_limits = {
        **GOOD,
        "cibil_score": 700,
        "existing_emi": 40_000,
        "loan_amount": 720_000,
        "years_at_current_job": 2,
    }
    assert quick_eligibility(at_limits)["verdict"] == "likely"
    over = quick_eligibility({**at_limits, "existing_emi": 40_001, "loan_amount": 720_100})
    assert {c["id"] for c in over["checks"] if not c["met"]} == {"debt_to_income", "loan_to_income"}


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"monthly_income": 12_000, "existing_emi": 0, "loan_amount": 50_000}, INCOME_MIN.id),
        ({"existing_emi": 61_000}, DTI_MAX.id),
        ({"loan_amount": 3_000_000}, FOIR_MAX.id),  # over 60% even at 60 months and the lowest rate
    ],
)
def test_a_blocking_rule_of_the_full_decision_makes_it_unlikely(changes: dict, rule: str) -> None:
    result = quick_eligibility({**GOOD, **changes})
    assert rule in result["blocked_by"]
    assert result["verdict"] == "unlikely" and result["eligibility_score"] <= -1


def test_the_quick_rules_are_the_full_decisions_declining_rules_on_its_fields() -> None:
    assert {r.id for r in QUICK_BLOCKING_RULES} == {INCOME_MIN.id, DTI_MAX.id, FOIR_MAX.id}


@PROPERTIES
@given(valid_applications())
def test_never_likely_where_the_full_decision_blocks_on_the_fields_given(application: dict) -> None:
    quick = quick_eligibility({name: application[name] for name in QUICK_FIELDS})
    result = decide_v1(application)
    failed = {c["id"] for c in result["policy"] if not c["passed"]}
    # Rules decided by the five fields alone must agree exactly; FOIR depends on the tenure asked for.
    for rule in (INCOME_MIN, DTI_MAX):
        assert (rule.id in failed) == (rule.id in quick["blocked_by"])
    if failed & {INCOME_MIN.id, DTI_MAX.id} or FOIR_MAX.id in quick["blocked_by"]:
        assert quick["verdict"] == "unlikely"
    if FOIR_MAX.id in quick["blocked_by"]:
        assert FOIR_MAX.id in failed, "blocked on the best terms means blocked on the terms asked"


def test_validation_names_every_bad_or_unknown_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        quick_eligibility(
            {"cibil_score": 1000, "monthly_income": "lots", "loan_amount": 1, "pan": "ABCDE1234F"}
        )
    assert {e["field"] for e in caught.value.errors} == {
        "cibil_score",
        "monthly_income",
        "loan_amount",
        "existing_emi",
        "years_at_current_job",
        "pan",
    }


def test_schema_lists_the_five_fields() -> None:
    schema = quick_eligibility_json_schema()
    assert set(schema["required"]) == set(GOOD) and schema["additionalProperties"] is False
