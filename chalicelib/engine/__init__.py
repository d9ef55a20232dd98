"""Decision engine: validation, scoring, policy, reasons and suggestions. Imports nothing from AWS.

PUBLIC CONTRACT (the API layer depends on exactly these names and shapes):

    class ValidationFailed(Exception):
        errors: list[dict]          # [{"field": "cibil_score", "problem": "must be an integer 300..900"}]

    validate_application(payload: object) -> dict
        Type-, range- and category-checks one application (the columns of data/loan_applications.csv
        minus ``loan_approved``). Personal fields (applicant_name, applicant_id, pan, aadhaar, phone,
        email) are optional and format-checked. Unknown fields are REJECTED (named in errors).
        Returns a cleaned dict with canonical Python types; raises ValidationFailed listing EVERY
        offending field.

    scoring_inputs(application: dict) -> dict
        The canonical subset of fields that can change the decision (no personal data): the cache
        key is sha256 of its canonical JSON + model version.

    decide(application: dict) -> dict     # JSON-serialisable, no personal data
        {"outcome": "approved" | "manual_review" | "declined",
         "probability": float,             # approval probability
         "score": int,                     # scorecard points
         "risk_band": str,
         "reasons": [{"code", "factor", "value", "text", "points_lost"}],          # <= 4, ranked
         "favourable_factors": [{"code", "factor", "value", "text", "points"}],
         "suggestions": [{"category", "current", "target", "action", "expected_time", "priority"}],
         "reapply_after_months": int | None,
         "policy": [{"id", "severity", "passed", "message"}],
         "model": {"id", "version", "sha256"}}

    quick_eligibility(payload: object) -> dict   # the original's public eligibility check
    model_info() -> {"id", "version", "sha256"}
"""

from chalicelib.engine.contract import (
    ValidationFailed,
    decide,
    model_info,
    quick_eligibility,
    scoring_inputs,
    validate_application,
)

__all__ = [
    "ValidationFailed",
    "decide",
    "model_info",
    "quick_eligibility",
    "scoring_inputs",
    "validate_application",
]
