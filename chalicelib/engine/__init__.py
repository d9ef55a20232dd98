"""Decision engine: validation, scoring, policy, reasons and suggestions. Imports nothing from AWS,
and nothing outside the standard library (no scikit-learn, numpy, scipy or pandas at run time).

PUBLIC CONTRACT (the API layer depends on exactly these names and shapes):

    class ValidationFailed(Exception):
        errors: list[dict]  # [{"field": "cibil_score", "problem": "must be an integer from 300 to 900"}]

    validate_application(payload: object) -> dict
        Type-, range- and category-checks one application (the columns of data/loan_applications.csv
        minus ``loan_approved``). Personal fields (applicant_name, applicant_id, pan, aadhaar, phone,
        email) are optional and format-checked; gender, marital_status and city are optional
        (fairness reporting only). Unknown fields are REJECTED (named in errors). Booleans accept JSON
        true/false only; integers accept JSON integers (and 5.0-style integral numbers).
        Returns a cleaned dict with canonical Python types; raises ValidationFailed listing EVERY
        offending field, one entry per field.

    APPLICATION_FIELDS: dict[str, FieldSpec]      # the field definitions validation uses
    application_json_schema() -> dict             # JSON Schema of an application (for OpenAPI)
    quick_eligibility_json_schema() -> dict       # JSON Schema of a quick-eligibility request

    scoring_inputs(application: dict) -> dict
        The canonical subset of fields that can change the decision (no personal data, no gender,
        marital status or city): the cache key is sha256 of its canonical JSON + model_info()["sha256"].

    decide(application: dict, *, approve_threshold=None, review_threshold=None) -> dict
        # JSON-serialisable, no personal data. Bands default to the artifact's 0.65 / 0.45.
        {"outcome": "approved" | "manual_review" | "declined",
         "probability": float,             # approval probability
         "score": int,                     # scorecard points = base_points + sum(contributions.points)
         "risk_band": "A".."E",
         "contributions": [{"factor", "points", "max_points"}],   # every model factor
         "base_points": int,
         "reasons": [{"code", "factor", "value", "text", "points_lost"}],   # <= 4, ranked; [] if approved
                 # failed rules first (code = rule id, points_lost None), then model factors
                 # by points lost against the factor's best bin (code "RSN-...")
         "favourable_factors": [{"code", "factor", "value", "text", "points"}],   # <= 3
         "suggestions": [{"category", "current", "target", "action", "expected_time", "priority"}],  # <= 6
         "reapply_after_months": int | None,   # declined only
         "policy": [{"id", "severity", "factor", "value", "passed", "message"}],   # every rule
         "affordability": {"debt_to_income", "loan_to_annual_income", "new_emi_to_income",
                           "total_debt_to_income", "savings_to_loan"},
         "out_of_training_range": [str],   # model factors scored with their edge bin
         "thresholds": {"approve", "review"},
         "model": {"id", "version", "sha256"}}

    quick_eligibility(payload: object) -> dict   # the original's public eligibility check
        payload: {cibil_score, monthly_income, existing_emi, loan_amount, years_at_current_job}
        -> {"verdict": "likely" | "possible" | "needs_improvement" | "unlikely", "eligibility_score",
            "strengths": [str], "improvement_areas": [str], "checks": [{"id", "criterion", "met", "value"}],
            "note"}; raises ValidationFailed like validate_application.
    model_info() -> {"id", "version", "sha256"}

The model artifact is read lazily on first use and cached for the life of the process.
"""

from chalicelib.engine.decision import decide, model_info
from chalicelib.engine.eligibility import QUICK_FIELDS, quick_eligibility
from chalicelib.engine.schema import (
    APPLICATION_FIELDS,
    ValidationFailed,
    application_json_schema,
    fields_json_schema,
    scoring_inputs,
    validate_application,
)


def quick_eligibility_json_schema() -> dict:
    """JSON Schema of a quick-eligibility request body."""
    return fields_json_schema(QUICK_FIELDS)


__all__ = [
    "APPLICATION_FIELDS",
    "ValidationFailed",
    "application_json_schema",
    "decide",
    "model_info",
    "quick_eligibility",
    "quick_eligibility_json_schema",
    "scoring_inputs",
    "validate_application",
]
