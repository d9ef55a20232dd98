"""The original's public quick eligibility check: four criteria, no personal data, no model.

Each criterion met is a strength, each not met an improvement area; 2 x strengths - improvements
>= 4 is "likely", >= 2 "possible", >= 0 "needs_improvement", otherwise "unlikely". (With four
criteria the value is 3 x strengths - 4, so "needs_improvement" cannot occur; kept for fidelity.)
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.schema import APPLICATION_FIELDS, ValidationFailed, validate_fields

MIN_CIBIL = 700
MAX_DEBT_TO_INCOME = 0.30  # strictly below
MAX_LOAN_TO_ANNUAL_INCOME = 0.40
MIN_MONTHS_EMPLOYED = 24

QUICK_FIELDS = {
    name: APPLICATION_FIELDS[name]
    for name in ("cibil_score", "monthly_income", "existing_emi", "loan_amount", "years_at_current_job")
}


def _verdict(value: int) -> str:
    if value >= 4:
        return "likely"
    if value >= 2:
        return "possible"
    if value >= 0:
        return "needs_improvement"
    return "unlikely"


def quick_eligibility(payload: object) -> dict[str, Any]:
    """Validate the five fields (unknown fields rejected) and apply the four criteria."""
    data = validate_fields(payload, QUICK_FIELDS)
    income = max(data["monthly_income"], 1)
    months_employed = data["years_at_current_job"] * 12
    debt_to_income = data["existing_emi"] / income
    loan_to_annual_income = data["loan_amount"] / (12 * income)
    checks = [
        (
            "credit_score",
            f"CIBIL score of at least {MIN_CIBIL}",
            data["cibil_score"] >= MIN_CIBIL,
            data["cibil_score"],
        ),
        (
            "debt_to_income",
            f"Existing EMIs under {MAX_DEBT_TO_INCOME:.0%} of income",
            debt_to_income < MAX_DEBT_TO_INCOME,
            round(debt_to_income, 4),
        ),
        (
            "loan_to_income",
            f"Loan at most {MAX_LOAN_TO_ANNUAL_INCOME:.0%} of annual income",
            loan_to_annual_income <= MAX_LOAN_TO_ANNUAL_INCOME,
            round(loan_to_annual_income, 4),
        ),
        (
            "employment",
            f"At least {MIN_MONTHS_EMPLOYED} months in the current job",
            months_employed >= MIN_MONTHS_EMPLOYED,
            months_employed,
        ),
    ]
    strengths = [text for _, text, met, _ in checks if met]
    improvements = [text for _, text, met, _ in checks if not met]
    value = 2 * len(strengths) - len(improvements)
    return {
        "verdict": _verdict(value),
        "eligibility_score": value,
        "strengths": strengths,
        "improvement_areas": improvements,
        "checks": [{"id": cid, "criterion": text, "met": met, "value": v} for cid, text, met, v in checks],
        "note": "Indicative only: a full application is decided by the credit model and policy rules.",
    }


__all__ = ["QUICK_FIELDS", "ValidationFailed", "quick_eligibility"]
