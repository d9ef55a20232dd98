"""Applications that open review cases, for the tests of the review desk (import as
``tests.support.review_cases``): distinct ``manual_review`` applicants from the sample data, and ones
large enough that a reviewer's approval needs a manager's second approval (maker-checker)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chalicelib import engine
from devstack.samples import applications

# The sample rows searched; every manual_review among them is a distinct applicant.
SEARCHED_ROWS = 400
# Scaling these together keeps an applicant's ratios (FOIR, loan to income) and so, mostly, the
# outcome, while the amount crosses the maker-checker threshold.
SCALED_FIELDS = ("loan_amount", "monthly_income", "savings_balance", "existing_emi")
SCALES = (2, 3, 4, 5, 6, 8, 10)


def _outcome(payload: dict[str, Any]) -> str:
    return str(engine.decide(engine.validate_application(payload), *engine.packaged_version())["outcome"])


def manual_review_applications() -> Iterator[dict[str, Any]]:
    for payload in applications(SEARCHED_ROWS, with_personal_data=True):
        if _outcome(payload) == "manual_review":
            yield payload


def manual_review_application() -> dict[str, Any]:
    for payload in manual_review_applications():
        return payload
    raise AssertionError(f"no manual_review applicant in the first {SEARCHED_ROWS} rows")


def large_manual_review_applications(
    above: int = engine.packaged_version().policy.second_approval_above_amount,
) -> Iterator[dict[str, Any]]:
    """``manual_review`` applications asking for more than ``above`` (an approval of one needs a
    second approval), each from a different sample applicant."""
    for payload in manual_review_applications():
        for scale in SCALES:
            scaled = {**payload, **{name: int(payload[name] * scale) for name in SCALED_FIELDS}}
            if scaled["loan_amount"] > above and _outcome(scaled) == "manual_review":
                yield scaled
                break
