"""Shared helpers for the engine tests: the training rows, parsed exactly as the service would."""

from __future__ import annotations

import csv
import functools
from pathlib import Path
from typing import Any

from chalicelib.engine.schema import parse_csv_row

PROJECT_DIR = Path(__file__).resolve().parents[3]
TRAINING_CSV = PROJECT_DIR / "data" / "loan_applications.csv"


@functools.cache
def training_rows() -> tuple[tuple[dict[str, Any], int], ...]:
    with TRAINING_CSV.open(newline="", encoding="utf-8") as handle:
        return tuple((parse_csv_row(row), int(row["loan_approved"])) for row in csv.DictReader(handle))


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
