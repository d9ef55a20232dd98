"""PROVISIONAL stand-in for the decision engine (replaced by the engine work, issue 2).

Only here so the API layer can be built against the contract in ``chalicelib/engine/__init__.py``.
"""

from __future__ import annotations

import math
from typing import Any

_NUMERIC = {
    "age": (18, 100),
    "num_dependents": (0, 10),
    "years_at_current_job": (0, 60),
    "monthly_income": (0, 10**8),
    "existing_emi": (0, 10**8),
    "num_existing_loans": (0, 50),
    "cibil_score": (300, 900),
    "credit_history_years": (0, 80),
    "late_payments_last_2_years": (0, 100),
    "savings_balance": (0, 10**10),
    "years_with_bank": (0, 80),
    "loan_amount": (1, 10**9),
    "loan_tenure_months": (1, 600),
}
_OTHER = {
    "gender",
    "city",
    "education",
    "marital_status",
    "employment_type",
    "industry",
    "has_defaults",
    "owns_property",
    "loan_purpose",
    "applicant_name",
    "applicant_id",
}


class ValidationFailed(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def validate_application(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationFailed([{"field": "(body)", "problem": "must be a JSON object"}])
    errors = []
    for name, (low, high) in _NUMERIC.items():
        value = payload.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors.append({"field": name, "problem": f"must be an integer {low}..{high}"})
    for name in payload:
        if name not in _NUMERIC and name not in _OTHER:
            errors.append({"field": name, "problem": "unknown field"})
    if errors:
        raise ValidationFailed(errors)
    return dict(payload)


def scoring_inputs(application: dict[str, Any]) -> dict[str, Any]:
    return {k: application[k] for k in sorted(_NUMERIC)}


def model_info() -> dict[str, str]:
    return {"id": "provisional", "version": "0.0.0", "sha256": "0" * 64}


def decide(application: dict[str, Any]) -> dict[str, Any]:
    probability = 1 / (1 + math.exp(-(application["cibil_score"] - 650) / 30))
    outcome = "approved" if probability >= 0.65 else "manual_review" if probability >= 0.45 else "declined"
    return {
        "outcome": outcome,
        "probability": probability,
        "score": int(probability * 1000),
        "risk_band": "C",
        "reasons": [],
        "favourable_factors": [],
        "suggestions": [],
        "reapply_after_months": None,
        "policy": [],
        "model": model_info(),
    }


def quick_eligibility(payload: object) -> dict[str, Any]:
    return {"verdict": "possible", "strengths": [], "improvement_areas": []}
