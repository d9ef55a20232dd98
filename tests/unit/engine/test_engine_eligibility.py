"""quick_eligibility: the original's four criteria and verdict scale, with its own validation."""

from __future__ import annotations

import pytest

from chalicelib.engine import ValidationFailed, quick_eligibility, quick_eligibility_json_schema

GOOD = {
    "cibil_score": 750,
    "monthly_income": 100_000,
    "existing_emi": 10_000,
    "loan_amount": 400_000,
    "years_at_current_job": 3,
}


def test_all_criteria_met_is_likely() -> None:
    result = quick_eligibility(GOOD)
    assert result["verdict"] == "likely"
    assert result["eligibility_score"] == 8
    assert len(result["strengths"]) == 4 and result["improvement_areas"] == []
    assert all(check["met"] for check in result["checks"])


@pytest.mark.parametrize(
    ("changes", "verdict", "score"),
    [
        ({"cibil_score": 650}, "likely", 5),  # 3 met: 6 - 1
        ({"cibil_score": 650, "existing_emi": 30_000}, "possible", 2),  # 2 met: 4 - 2
        ({"cibil_score": 650, "existing_emi": 30_000, "years_at_current_job": 1}, "unlikely", -1),
        (
            {"cibil_score": 650, "existing_emi": 30_000, "years_at_current_job": 1, "loan_amount": 500_000},
            "unlikely",
            -4,
        ),
    ],
)
def test_verdict_scale(changes: dict, verdict: str, score: int) -> None:
    result = quick_eligibility({**GOOD, **changes})
    assert (result["verdict"], result["eligibility_score"]) == (verdict, score)


def test_boundaries_follow_the_original() -> None:
    at_limits = {
        **GOOD,
        "cibil_score": 700,
        "existing_emi": 29_999,
        "loan_amount": 480_000,
        "years_at_current_job": 2,
    }
    assert quick_eligibility(at_limits)["verdict"] == "likely"
    dti_at_30 = quick_eligibility({**GOOD, "existing_emi": 30_000})
    assert "debt_to_income" in {c["id"] for c in dti_at_30["checks"] if not c["met"]}


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
