"""Test data shared by the unit and integration tests (import as ``tests.support.samples``).

Applications come from ``devstack.samples`` (the one reader of the data file); the identity below
is added to them where a test proves personal data never reaches a log or a stored record.
"""

from __future__ import annotations

import itertools
from typing import Any

from devstack.samples import iter_applications

# Distinctive personal data: none of these strings may ever appear in a log or a stored record.
PERSONAL_DATA = {
    "applicant_name": "Ottoline Vashti-Marchbanks",
    "pan": "OVMPK4826T",
    "aadhaar": "4826 1937 5064",
    "phone": "8264019375",
    "email": "ottoline.vashti@example.net",
}
# How each value may appear once normalised by a careless logger or serialiser.
PERSONAL_DATA_VARIANTS = (
    "Ottoline",
    "Vashti",
    "Marchbanks",
    "OVMPK4826T",
    "4826 1937 5064",
    "482619375064",
    "8264019375",
    "ottoline.vashti",
)


def application_row(index: int, with_personal_data: bool = True) -> dict[str, Any]:
    """Row ``index`` (0-based) of the data file as an API payload; the file is read up to that row."""
    return next(itertools.islice(iter_applications(with_personal_data), index, None))


def strong_application(**changes: Any) -> dict[str, Any]:
    """A clearly approvable application (every factor in a good bin), with ``changes`` applied."""
    application = {
        "age": 40,
        "gender": "Female",
        "city": "Pune",
        "education": "Graduate",
        "marital_status": "Married",
        "num_dependents": 1,
        "employment_type": "Salaried",
        "industry": "Healthcare",
        "years_at_current_job": 8,
        "monthly_income": 120_000,
        "existing_emi": 0,
        "num_existing_loans": 0,
        "cibil_score": 790,
        "credit_history_years": 12,
        "late_payments_last_2_years": 0,
        "has_defaults": False,
        "owns_property": True,
        "savings_balance": 600_000,
        "years_with_bank": 10,
        "loan_amount": 500_000,
        "loan_tenure_months": 36,
        "loan_purpose": "Home Renovation",
    }
    application.update(changes)
    return application
