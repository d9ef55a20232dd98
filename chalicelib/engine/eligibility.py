"""The public quick eligibility check: no personal data, no model; the full decision's rules.

Two parts, both from the policy it is given (the same ``Policy`` a full decision takes), so the check
cannot drift from the full decision:

- **Blocking rules**: every declining rule of the full decision whose inputs the five fields give
  (``POL-INCOME-MIN``, ``POL-DTI-MAX``) and ``POL-FOIR-MAX`` on the most favourable terms the full
  decision could find (the longest tenure at the rate card's lowest rate): if it fires even then, it
  fires for every tenure. Any that fires is listed in ``blocked_by``.
- **Criteria** (the original's four, at the policy's limits; version 1's in brackets): CIBIL score at
  least the credit-score target (700), existing EMIs at most the debt-to-income warning level (40%),
  loan at most the loan-to-income warning level (60% of annual income), at least the policy's months
  in the current job (24).

Score scale: ``eligibility_score`` = 2 per criterion met - 1 per criterion missed, from -4 (none met)
to 8 (all met); a blocking rule caps it at -1. Verdict: >= 4 "likely", >= 2 "possible", >= 0
"needs_improvement", otherwise "unlikely" (so never "likely" where the full decision blocks).
"""

from __future__ import annotations

from typing import cast

from chalicelib.engine.features import monthly_instalment
from chalicelib.engine.lending_policy import Policy
from chalicelib.engine.policy import DECLINING, Rule
from chalicelib.engine.pricing import foir
from chalicelib.engine.schema import APPLICATION_FIELDS, ValidationFailed, validate_fields
from chalicelib.engine.types import Application, EligibilityCheck, QuickApplication, QuickEligibility, Verdict

BLOCKED_SCORE_CAP = -1  # the highest "unlikely" score

QUICK_FIELDS = {
    name: APPLICATION_FIELDS[name]
    for name in ("cibil_score", "monthly_income", "existing_emi", "loan_amount", "years_at_current_job")
}


def quick_blocking_rules(policy: Policy) -> tuple[Rule, ...]:
    """The policy's declining rules the five fields decide, and POL-FOIR-MAX on the best terms."""
    return tuple(
        rule
        for rule in policy.rules
        if rule.severity in DECLINING and (set(rule.fields) <= set(QUICK_FIELDS) or rule.id == "POL-FOIR-MAX")
    )


def _verdict(value: int) -> Verdict:
    if value >= 4:
        return "likely"
    if value >= 2:
        return "possible"
    if value >= 0:
        return "needs_improvement"
    return "unlikely"


def best_case_ratios(data: QuickApplication, policy: Policy) -> dict[str, float]:
    """The ratios the quick rules read, on the most favourable terms for the missing fields (the
    longest tenure a counteroffer may propose, at the rate card's lowest rate)."""
    income = max(float(data["monthly_income"]), 1.0)
    longest = policy.counteroffer.max_tenure_months
    emi = monthly_instalment(float(data["loan_amount"]), longest, policy.lowest_annual_rate)
    return {
        "debt_to_income": data["existing_emi"] / income,
        "loan_to_annual_income": data["loan_amount"] / (12 * income),
        "foir": foir(data, emi),
    }


def quick_eligibility(payload: object, policy: Policy) -> QuickEligibility:
    """Validate the five fields (unknown fields rejected), apply ``policy``'s blocking rules and the
    criteria at its limits."""
    # The validator checked each of QUICK_FIELDS to its type: the one place this JSON becomes typed.
    data = cast(QuickApplication, validate_fields(payload, QUICK_FIELDS))
    ratios = best_case_ratios(data, policy)
    months_employed = data["years_at_current_job"] * 12
    credit_target = policy.suggestions.credit_score_target
    dti_warning = policy.limits.debt_to_income_warning_above
    loan_warning = policy.limits.loan_to_annual_income_warning_above
    criteria = [
        (
            "credit_score",
            f"CIBIL score of at least {credit_target}",
            data["cibil_score"] >= credit_target,
            data["cibil_score"],
        ),
        (
            "debt_to_income",
            f"Existing EMIs at most {dti_warning:.0%} of income",
            ratios["debt_to_income"] <= dti_warning,
            round(ratios["debt_to_income"], 4),
        ),
        (
            "loan_to_income",
            f"Loan at most {loan_warning:.0%} of annual income",
            ratios["loan_to_annual_income"] <= loan_warning,
            round(ratios["loan_to_annual_income"], 4),
        ),
        (
            "employment",
            f"At least {policy.min_months_employed} months in the current job",
            months_employed >= policy.min_months_employed,
            months_employed,
        ),
    ]
    # The quick rules read only these five fields and the ratios (quick_blocking_rules picks them so).
    quick_application = cast(Application, data)
    blocked_by = [
        rule.id for rule in quick_blocking_rules(policy) if rule.breached(quick_application, ratios)
    ]
    strengths = [text for _, text, met, _ in criteria if met]
    improvements = [text for _, text, met, _ in criteria if not met]
    value = 2 * len(strengths) - len(improvements)
    if blocked_by:
        value = min(value, BLOCKED_SCORE_CAP)
    checks: list[EligibilityCheck] = [
        {"id": cid, "criterion": text, "met": met, "value": v} for cid, text, met, v in criteria
    ]
    return {
        "verdict": _verdict(value),
        "eligibility_score": value,
        "strengths": strengths,
        "improvement_areas": improvements,
        "checks": checks,
        "blocked_by": blocked_by,
        "note": "Indicative only: a full application is decided by the credit model and policy rules.",
    }


__all__ = ["QUICK_FIELDS", "ValidationFailed", "quick_eligibility"]
