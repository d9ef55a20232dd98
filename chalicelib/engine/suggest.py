"""Soft rejection: what the applicant could change, with exact counterfactuals where the model allows.

Exact counterfactuals hold everything else equal and re-run the full outcome (score, bands, rules):

- **loan amount**: the largest amount, in steps of ``LOAN_STEP``, below the requested one that would
  be approved. The score never rises with the loan amount (every loan-dependent feature is
  constrained that way) and no rule relaxes with it, so a binary search is exact.
- **credit score**: the lowest CIBIL cut point of the model above the applicant's score that would
  flip the outcome to approved (if any does on its own).
- **tenure**: the shortest longer tenure whose smaller instalment would be approved.
- **existing EMI**: the highest monthly debt payment, at a debt-to-income cut point, that would be approved.

Re-apply timeline as in the original: 3 months by default, 6 with one high-priority suggestion, 9 with
two or more, 12 if any is critical.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from chalicelib.engine.artifact import Model
from chalicelib.engine.outcome import APPROVED, Bands, outcome_for
from chalicelib.engine.policy import (
    DTI_WARNING,
    LOANS_FAIL,
    MIN_AGE,
    MIN_MONTHLY_INCOME,
    PolicyResult,
)
from chalicelib.engine.schema import LOAN_TENURES
from chalicelib.engine.scorecard import Score

LOAN_STEP = 25_000
MAX_SUGGESTIONS = 6
CREDIT_SCORE_TARGET = 700  # the original suggests credit work below this score
INCOME_MULTIPLE_LIMIT = 60  # the original: loan over 60x monthly income -> income suggestion
INCOME_TARGET_DIVISOR = 48  # ... with target income = loan / 48
SAVINGS_TARGET_SHARE = 0.20  # savings of at least a fifth of the loan
PRIORITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _approved_with(model: Model, application: Mapping[str, Any], bands: Bands, **changes: Any) -> bool:
    return outcome_for(model, {**application, **changes}, bands) == APPROVED


def largest_approvable_loan(model: Model, application: Mapping[str, Any], bands: Bands) -> int | None:
    """Largest multiple of LOAN_STEP below the requested amount that would be approved, else None."""
    steps = (application["loan_amount"] - 1) // LOAN_STEP
    if steps < 1 or not _approved_with(model, application, bands, loan_amount=LOAN_STEP):
        return None
    low, high = 1, steps  # invariant: low is approvable
    while low < high:
        middle = (low + high + 1) // 2
        if _approved_with(model, application, bands, loan_amount=middle * LOAN_STEP):
            low = middle
        else:
            high = middle - 1
    return low * LOAN_STEP


def _first_approvable(
    model: Model, application: Mapping[str, Any], bands: Bands, field: str, candidates: list[int]
) -> int | None:
    """The first candidate (ordered from the smallest change) that would be approved, else None.

    Approval is monotone along the candidates (every model factor is monotone and so are the rules),
    so a bisection finds it with a handful of scorings.
    """
    if not candidates or not _approved_with(model, application, bands, **{field: candidates[-1]}):
        return None
    low, high = 0, len(candidates) - 1  # invariant: candidates[high] is approvable
    while low < high:
        middle = (low + high) // 2
        if _approved_with(model, application, bands, **{field: candidates[middle]}):
            high = middle
        else:
            low = middle + 1
    return candidates[high]


def credit_score_that_flips(model: Model, application: Mapping[str, Any], bands: Bands) -> int | None:
    feature = next((f for f in model.numeric if f.name == "cibil_score"), None)
    if feature is None:
        return None
    current = application["cibil_score"]
    return _first_approvable(
        model, application, bands, "cibil_score", [int(e) for e in feature.edges if e > current]
    )


def tenure_that_flips(model: Model, application: Mapping[str, Any], bands: Bands) -> int | None:
    for tenure in LOAN_TENURES:
        if tenure > application["loan_tenure_months"] and _approved_with(
            model, application, bands, loan_tenure_months=tenure
        ):
            return tenure
    return None


def existing_emi_that_flips(model: Model, application: Mapping[str, Any], bands: Bands) -> int | None:
    income = application["monthly_income"]
    feature = next((f for f in model.numeric if f.name == "debt_to_income"), None)
    if feature is None or income <= 0:
        return None
    current = application["existing_emi"]
    targets = sorted({max(0, math.ceil(edge * income) - 1) for edge in feature.edges} | {0}, reverse=True)
    return _first_approvable(model, application, bands, "existing_emi", [e for e in targets if e < current])


def _suggestion(
    category: str, current: Any, target: Any, action: str, expected_time: str, priority: str
) -> dict[str, Any]:
    return {
        "category": category,
        "current": current,
        "target": target,
        "action": action,
        "expected_time": expected_time,
        "priority": priority,
    }


def suggestions_for(
    model: Model, application: Mapping[str, Any], score: Score, policy: PolicyResult, bands: Bands
) -> list[dict[str, Any]]:
    a = application
    lost = {c.feature: c.best_points - c.points for c in score.contributions}
    breached = {b["id"] for b in policy.blocking}
    found: list[dict[str, Any]] = []

    if "POL-AGE-MIN" in breached:
        found.append(
            _suggestion(
                "eligibility",
                a["age"],
                MIN_AGE,
                f"Re-apply once you are {MIN_AGE}.",
                "when you turn 21",
                "critical",
            )
        )
    if "POL-INCOME-MIN" in breached:
        found.append(
            _suggestion(
                "income",
                a["monthly_income"],
                MIN_MONTHLY_INCOME,
                f"A monthly income of at least INR {MIN_MONTHLY_INCOME:,} is required.",
                "when your income reaches it",
                "critical",
            )
        )
    if "POL-LOANS-MAX" in breached:
        found.append(
            _suggestion(
                "debt",
                a["num_existing_loans"],
                LOANS_FAIL,
                "Close or consolidate existing loans.",
                "6-12 months",
                "critical",
            )
        )
    if a["has_defaults"]:
        found.append(
            _suggestion(
                "credit",
                True,
                False,
                "Settle the defaulted account and get a no-dues certificate from the lender.",
                "12 months or more",
                "critical",
            )
        )

    # Loan adjustment: immediate, exact.
    loan = largest_approvable_loan(model, a, bands)
    if loan is not None:
        found.append(
            _suggestion(
                "loan_adjustment",
                a["loan_amount"],
                loan,
                f"Apply for INR {loan:,} instead: with everything else unchanged it would be approved.",
                "immediately",
                "high",
            )
        )
    tenure = tenure_that_flips(model, a, bands)
    if tenure is not None:
        found.append(
            _suggestion(
                "loan_adjustment",
                a["loan_tenure_months"],
                tenure,
                f"Choose a {tenure}-month tenure: the smaller instalment would be approved.",
                "immediately",
                "high",
            )
        )

    # Credit score.
    flip = credit_score_that_flips(model, a, bands) if lost.get("cibil_score", 0) > 0 else None
    if a["cibil_score"] < CREDIT_SCORE_TARGET or flip is not None:
        target = flip if flip is not None else CREDIT_SCORE_TARGET
        if target > a["cibil_score"]:
            note = "would be approved, all else equal" if flip is not None else "a good credit standing"
            found.append(
                _suggestion(
                    "credit",
                    a["cibil_score"],
                    target,
                    f"Raise your CIBIL score to {target} ({note}): pay bills on time, keep card use low.",
                    "6-12 months",
                    "high" if flip is not None or a["cibil_score"] < CREDIT_SCORE_TARGET else "medium",
                )
            )
    if a["late_payments_last_2_years"] > 0 and lost.get("late_payments_last_2_years", 0) > 0:
        found.append(
            _suggestion(
                "credit",
                a["late_payments_last_2_years"],
                0,
                "Pay every instalment on time: late payments stop counting after two years.",
                "up to 24 months",
                "high",
            )
        )

    # Income (the original's rule).
    if a["loan_amount"] > INCOME_MULTIPLE_LIMIT * a["monthly_income"]:
        target_income = math.ceil(a["loan_amount"] / INCOME_TARGET_DIVISOR)
        found.append(
            _suggestion(
                "income",
                a["monthly_income"],
                target_income,
                "The loan is large for your income: a higher income or a co-applicant would help.",
                "6-12 months",
                "high",
            )
        )

    # Debt: the original's 40% rule, else the exact EMI that would flip the outcome.
    income = max(a["monthly_income"], 1)
    if a["existing_emi"] / income > DTI_WARNING:
        target_emi = math.floor(DTI_WARNING * income)
        found.append(
            _suggestion(
                "debt",
                a["existing_emi"],
                target_emi,
                f"Bring existing EMIs down to INR {target_emi:,} a month ({DTI_WARNING:.0%} of income).",
                "3-6 months",
                "critical" if "POL-DTI-MAX" in breached else "high",
            )
        )
    elif lost.get("debt_to_income", 0) > 0:
        emi = existing_emi_that_flips(model, a, bands)
        if emi is not None:
            found.append(
                _suggestion(
                    "debt",
                    a["existing_emi"],
                    emi,
                    f"Pay existing loans down to INR {emi:,} a month in EMIs: that would be approved.",
                    "3-6 months",
                    "medium",
                )
            )

    if a["years_at_current_job"] == 0:
        found.append(
            _suggestion(
                "employment",
                0,
                1,
                "Stay with your current employer: a year in the job counts for a lot.",
                "up to 12 months",
                "medium",
            )
        )
    if a["savings_balance"] < SAVINGS_TARGET_SHARE * a["loan_amount"]:
        target_savings = math.ceil(SAVINGS_TARGET_SHARE * a["loan_amount"])
        found.append(
            _suggestion(
                "savings",
                a["savings_balance"],
                target_savings,
                f"Build savings of at least {SAVINGS_TARGET_SHARE:.0%} of the loan.",
                "6-12 months",
                "low",
            )
        )

    found.sort(key=lambda s: PRIORITY_ORDER[s["priority"]])  # stable: order above breaks ties
    return found[:MAX_SUGGESTIONS]


def reapply_after_months(suggestions: list[dict[str, Any]]) -> int:
    priorities = [s["priority"] for s in suggestions]
    if "critical" in priorities:
        return 12
    high = priorities.count("high")
    return 9 if high >= 2 else 6 if high == 1 else 3
