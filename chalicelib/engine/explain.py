"""Principal reasons and favourable factors: the reasons name what actually decided.

- Every failed rule that declines or refers is a reason, in rule-table order (declining rules first):
  each can decide the outcome on its own. Warnings are reasons only when they decided (enough of them
  to send an approval to review).
- Model factors are reasons only when the model's own view decided the outcome too (``decided_by``
  "model" or "policy+model"): a policy decline of an applicant the model would approve lists the
  rules, not model factors that played no part. A model factor's *points lost* = the points of its
  best attainable bin minus the applicant's points; ranked by points lost (ties: feature order).
- At most four reasons (US Regulation B practice). Only when more than four rules fail at once are
  some left out (rule-table order decides which stay); ``policy`` always lists every rule.
"""

from __future__ import annotations

from typing import NamedTuple

from chalicelib.engine.artifact import Model, NumericFeature
from chalicelib.engine.lending_policy import Policy
from chalicelib.engine.outcome import Assessment
from chalicelib.engine.policy import PolicyResult
from chalicelib.engine.scorecard import Contribution, Score
from chalicelib.engine.types import APPROVED, FavourableFactor, PolicyCheck, Reason, Scalar

MAX_REASONS = 4
MAX_FAVOURABLE = 3
FAVOURABLE_SHARE = 0.75  # of the factor's best attainable points


class Factor(NamedTuple):
    code: str  # stable reason code
    label: str  # plain-language name of the factor
    unit: str  # "count" | "years" | "inr" | "percent" | "score" | "flag"


FACTORS: dict[str, Factor] = {
    "age": Factor("AGE", "Age", "years"),
    "years_at_current_job": Factor("JOB-TENURE", "Time at current job", "years"),
    "monthly_income": Factor("INCOME", "Monthly income", "inr"),
    "cibil_score": Factor("CREDIT-SCORE", "Credit score (CIBIL)", "score"),
    "credit_history_years": Factor("CREDIT-HISTORY", "Length of credit history", "years"),
    "late_payments_last_2_years": Factor("LATE-PAYMENTS", "Late payments in the last 2 years", "count"),
    "savings_balance": Factor("SAVINGS", "Savings balance", "inr"),
    "years_with_bank": Factor("BANK-RELATIONSHIP", "Years with the bank", "years"),
    "num_existing_loans": Factor("EXISTING-LOANS", "Number of existing loans", "count"),
    "num_dependents": Factor("DEPENDENTS", "Number of dependents", "count"),
    "has_defaults": Factor("DEFAULTS", "Past loan default", "flag"),
    "owns_property": Factor("PROPERTY", "Property ownership", "flag"),
    "debt_to_income": Factor("DEBT-TO-INCOME", "Existing debt payments as a share of income", "percent"),
    "loan_to_annual_income": Factor("LOAN-TO-INCOME", "Loan amount as a share of annual income", "percent"),
    "new_emi_to_income": Factor("NEW-EMI-TO-INCOME", "New loan's instalment as a share of income", "percent"),
    "total_debt_to_income": Factor(
        "TOTAL-DEBT-TO-INCOME", "All instalments incl. the new loan vs income", "percent"
    ),
    "savings_to_loan": Factor("SAVINGS-TO-LOAN", "Savings as a share of the loan", "percent"),
    "employment_type": Factor("EMPLOYMENT-TYPE", "Employment type", "category"),
    "loan_purpose": Factor("LOAN-PURPOSE", "Loan purpose", "category"),
    "loan_tenure_months": Factor("LOAN-TENURE", "Loan tenure", "category"),
}


def factor_of(name: str) -> Factor:
    factor = FACTORS.get(name)
    if factor is None:  # a feature a future artifact adds: still explainable, just less nicely
        factor = Factor(name.upper().replace("_", "-"), name.replace("_", " ").capitalize(), "count")
    return factor


def format_value(unit: str, value: Scalar) -> str:
    if unit == "percent":
        return f"{float(value):.0%}"
    if unit == "inr":
        return f"INR {float(value):,.0f}"
    if unit == "flag":
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if unit == "years":
        return f"{value} year" if value == 1 else f"{value} years"
    return str(value)


def json_value(unit: str, value: Scalar) -> Scalar:
    """The applicant's value as JSON: integers stay integers, ratios are rounded to 4 places."""
    if unit == "flag":
        return bool(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() and unit != "percent" else round(value, 4)
    return value


def _best_range_text(feature: NumericFeature, unit: str) -> str:
    best = max(
        range(len(feature.points)), key=lambda i: (feature.points[i], -i if feature.direction > 0 else i)
    )
    if unit == "flag":
        return "no" if best == 0 else "yes"
    if feature.direction > 0:
        return f"{format_value(unit, feature.edges[best - 1])} or more" if best > 0 else "any value"
    if best == len(feature.edges):
        return "any value"
    edge = feature.edges[best]
    if unit in ("count", "years") and float(edge).is_integer():  # whole numbers: "under 1" reads "none"
        return "none" if edge <= 1 else f"{format_value(unit, edge - 1)} or fewer"
    return f"under {format_value(unit, edge)}"


def reason_text(model: Model, contribution: Contribution) -> str:
    factor = factor_of(contribution.feature)
    value = format_value(factor.unit, contribution.value)
    numeric = next((f for f in model.numeric if f.name == contribution.feature), None)
    if contribution.feature == "has_defaults":
        return "A past loan default is on record."
    if numeric is None:
        best = next(c.best_category for c in model.categorical if c.name == contribution.feature)
        return f"{factor.label} '{value}' scores lower than '{best}'."
    best_range = _best_range_text(numeric, factor.unit)
    return f"{factor.label} is {value}; the most points go to {best_range}."


def favourable_text(contribution: Contribution) -> str:
    factor = factor_of(contribution.feature)
    if contribution.feature == "has_defaults":
        return "No past loan default."
    return f"{factor.label} of {format_value(factor.unit, contribution.value)} counts in your favour."


def model_reasons(
    model: Model, score: Score, limit: int = MAX_REASONS, skip: frozenset[str] = frozenset()
) -> list[Reason]:
    """The ``limit`` factors that lost the most points, most points lost first.

    ``skip`` names factors a failed policy rule already gives as a reason (no reason twice).
    """
    losers = [c for c in score.contributions if c.best_points > c.points and c.feature not in skip]
    losers.sort(key=lambda c: c.points - c.best_points)  # stable: feature order breaks ties
    losers = losers[:limit]
    return [
        {
            "code": f"RSN-{factor_of(c.feature).code}",
            "factor": c.feature,
            "value": json_value(factor_of(c.feature).unit, c.value),
            "text": reason_text(model, c),
            "points_lost": c.best_points - c.points,
        }
        for c in losers
    ]


def policy_reasons(breaches: list[PolicyCheck]) -> list[Reason]:
    return [
        {
            "code": b["id"],
            "factor": b["factor"],
            "value": b["value"],
            "text": b["message"],
            "points_lost": None,
        }
        for b in breaches
    ]


def principal_reasons(
    model: Model, score: Score, assessment: Assessment, result: PolicyResult, warnings_for_review: int
) -> list[Reason]:
    """The reasons for a decision that is not an approval (``[]`` for an approval), at most four."""
    if assessment.outcome == APPROVED:
        return []
    breaches = result.blocking + result.referrals
    if (
        not result.blocking
        and "policy" in assessment.decided_by
        and len(result.warnings) >= warnings_for_review
    ):
        breaches += result.warnings
    reasons = policy_reasons(breaches)[:MAX_REASONS]
    if "model" in assessment.decided_by:
        covered = frozenset(str(r["factor"]) for r in reasons)
        reasons += model_reasons(model, score, MAX_REASONS - len(reasons), covered)
    return reasons


def favourable_factors(score: Score, skip: frozenset[str] = frozenset()) -> list[FavourableFactor]:
    """The factors that earned the most points, among those close to their best attainable value.

    A factor counts in the applicant's favour only when it earned at least FAVOURABLE_SHARE of its
    best bin's points: a credit score of 640 earns some points, but telling a declined applicant it
    "counts in their favour" while it is the main reason against them would contradict the reasons.
    ``skip`` names factors already given as reasons.
    """
    earners = [
        c
        for c in score.contributions
        if c.points > 0 and c.points >= FAVOURABLE_SHARE * c.best_points and c.feature not in skip
    ]
    earners.sort(key=lambda c: -c.points)
    return [
        {
            "code": f"FAV-{factor_of(c.feature).code}",
            "factor": c.feature,
            "value": json_value(factor_of(c.feature).unit, c.value),
            "text": favourable_text(c),
            "points": c.points,
        }
        for c in earners[:MAX_FAVOURABLE]
    ]


def reason_catalogue(policy: Policy) -> dict[str, str]:
    """Every reason code a decision (or a reviewer) may give, with what it means: ``policy``'s rules
    (ids with their descriptions at its limits) and the model factors' ``RSN-`` codes."""
    catalogue = {rule.id: rule.description for rule in policy.rules}
    catalogue.update({f"RSN-{factor.code}": factor.label for factor in FACTORS.values()})
    return catalogue
