"""Counteroffers: other terms (amount, else tenure) on which a declined or referred application would
be approved, found by re-deciding the changed application, never estimated.

Approval is monotone in both terms, which makes the searches exact:

- a smaller loan never scores worse (every loan-dependent model feature is constrained that way), its
  instalment and so FOIR are lower, and no rule relaxes with a larger loan: bisection over the
  multiples of ``LOAN_STEP`` below the requested amount finds the largest approvable one;
- a longer tenure lowers the instalment (model ratios and FOIR alike) and no rule or model factor
  prefers a shorter one, so the first approvable tenure above the requested one is the shortest.

A counteroffer is an approval, so it passes every rule that can decline or refer (warnings are allowed
as for any approval: fewer than ``WARNINGS_FOR_REVIEW``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.engine.artifact import Model
from chalicelib.engine.outcome import APPROVED, Assessment, Bands, assess
from chalicelib.engine.schema import LOAN_TENURES
from chalicelib.engine.types import Counteroffer

LOAN_STEP = 25_000


def _approved_with(model: Model, application: Mapping[str, Any], bands: Bands, **changes: Any) -> bool:
    return assess(model, {**application, **changes}, bands).outcome == APPROVED


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


def first_approvable(
    model: Model, application: Mapping[str, Any], bands: Bands, field: str, candidates: list[Any]
) -> Any | None:
    """The first candidate (ordered from the smallest change) that would be approved, else None.

    The caller guarantees approval is monotone along the candidates, so a bisection finds it with a
    handful of decisions.
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


def shortest_approvable_tenure(model: Model, application: Mapping[str, Any], bands: Bands) -> int | None:
    longer = [t for t in LOAN_TENURES if t > application["loan_tenure_months"]]
    return first_approvable(model, application, bands, "loan_tenure_months", longer)


def counteroffer_of(terms: Mapping[str, Any], assessment: Assessment) -> Counteroffer:
    return {
        "loan_amount": int(terms["loan_amount"]),
        "loan_tenure_months": int(terms["loan_tenure_months"]),
        "emi": round(assessment.pricing.emi, 2),
        "annual_rate": assessment.pricing.annual_rate,
        "foir": round(assessment.pricing.foir, 4),
        "probability": round(assessment.probability, 6),
        "outcome": assessment.outcome,  # type: ignore[typeddict-item]  # one of the Outcome literals
    }


def find_counteroffer(
    model: Model,
    application: Mapping[str, Any],
    bands: Bands,
    loan: int | None,
    tenure: int | None,
) -> Counteroffer | None:
    """The counteroffer from the searches' results (``loan`` first, else ``tenure``), re-decided: its
    ``outcome`` is what deciding those terms gives (approved, as the searches are exact)."""
    if loan is not None:
        terms = {**application, "loan_amount": loan}
    elif tenure is not None:
        terms = {**application, "loan_tenure_months": tenure}
    else:
        return None
    return counteroffer_of(terms, assess(model, terms, bands))
