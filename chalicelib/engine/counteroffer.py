"""Counteroffers: other terms (amount, else tenure) on which a declined or referred application would
be approved, found by re-deciding the changed application, never estimated.

Approval is monotone in both terms, which makes the searches exact:

- a smaller loan never scores worse (every loan-dependent model feature is constrained that way), its
  instalment and so FOIR are lower, and no rule relaxes with a larger loan: bisection over the
  multiples of the policy's ``loan_step`` (from its ``min_loan_amount``) below the requested amount
  finds the largest approvable one;
- a longer tenure lowers the instalment (model ratios and FOIR alike) and no rule or model factor
  prefers a shorter one, so the first approvable tenure above the requested one (up to the policy's
  ``max_tenure_months``) is the shortest.

A counteroffer is an approval, so it passes every rule that can decline or refer (warnings are allowed
as for any approval: fewer than the policy's ``warnings_for_review``).
"""

from __future__ import annotations

from chalicelib.engine.artifact import Model
from chalicelib.engine.lending_policy import Policy
from chalicelib.engine.outcome import Assessment, assess
from chalicelib.engine.schema import LOAN_TENURES
from chalicelib.engine.types import APPROVED, Application, Counteroffer, with_field


def _approved_with(model: Model, policy: Policy, application: Application, field: str, value: int) -> bool:
    return assess(model, policy, with_field(application, field, value)).outcome == APPROVED


def largest_approvable_loan(model: Model, policy: Policy, application: Application) -> int | None:
    """Largest multiple of the policy's loan step (from its minimum amount) below the requested amount
    that would be approved, else None."""
    step = policy.counteroffer.loan_step
    first = max(1, -(-policy.counteroffer.min_loan_amount // step))  # the smallest multiple offered
    steps = (application["loan_amount"] - 1) // step
    if steps < first or not _approved_with(model, policy, application, "loan_amount", first * step):
        return None
    low, high = first, steps  # invariant: low is approvable
    while low < high:
        middle = (low + high + 1) // 2
        if _approved_with(model, policy, application, "loan_amount", middle * step):
            low = middle
        else:
            high = middle - 1
    return low * step


def first_approvable(
    model: Model, policy: Policy, application: Application, field: str, candidates: list[int]
) -> int | None:
    """The first candidate (ordered from the smallest change) that would be approved, else None.

    The caller guarantees approval is monotone along the candidates, so a bisection finds it with a
    handful of decisions.
    """
    if not candidates or not _approved_with(model, policy, application, field, candidates[-1]):
        return None
    low, high = 0, len(candidates) - 1  # invariant: candidates[high] is approvable
    while low < high:
        middle = (low + high) // 2
        if _approved_with(model, policy, application, field, candidates[middle]):
            high = middle
        else:
            low = middle + 1
    return candidates[high]


def shortest_approvable_tenure(model: Model, policy: Policy, application: Application) -> int | None:
    requested, longest = application["loan_tenure_months"], policy.counteroffer.max_tenure_months
    longer = [t for t in LOAN_TENURES if requested < t <= longest]
    return first_approvable(model, policy, application, "loan_tenure_months", longer)


def counteroffer_of(terms: Application, assessment: Assessment) -> Counteroffer:
    return {
        "loan_amount": int(terms["loan_amount"]),
        "loan_tenure_months": int(terms["loan_tenure_months"]),
        "emi": round(assessment.pricing.emi, 2),
        "annual_rate": assessment.pricing.annual_rate,
        "foir": round(assessment.pricing.foir, 4),
        "probability": round(assessment.probability, 6),
        "outcome": assessment.outcome,
    }


def find_counteroffer(
    model: Model,
    policy: Policy,
    application: Application,
    loan: int | None,
    tenure: int | None,
) -> Counteroffer | None:
    """The counteroffer from the searches' results (``loan`` first, else ``tenure``), re-decided: its
    ``outcome`` is what deciding those terms gives (approved, as the searches are exact)."""
    if loan is not None:
        terms: Application = {**application, "loan_amount": loan}
    elif tenure is not None:
        terms = {**application, "loan_tenure_months": tenure}
    else:
        return None
    return counteroffer_of(terms, assess(model, policy, terms))
