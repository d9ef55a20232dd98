"""Model features: the raw fields the scorecard uses and the affordability ratios derived from them.

Pure Python on purpose: training (``training/``) builds its design matrix by calling
:func:`model_features` row by row, and the run-time scorer calls the very same function, so the
features the model was fitted on and the features it is scored on cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from chalicelib.engine.types import Application, field_values

# The new loan's instalment is estimated as an amortising EMI at this fixed annual rate. It is a
# reference rate for an affordability ratio, not the price of the loan: a fixed rate keeps the ratio
# a pure function of the application (same application -> same features -> same decision).
REFERENCE_ANNUAL_RATE = 0.12

# Ratios divide by income or loan amount; validation admits 0 income (so the income policy rule can
# block it) and the denominators are floored at 1 INR so a ratio is always a finite number.
_MIN_DENOMINATOR = 1.0


def monthly_instalment(
    loan_amount: float, tenure_months: int, annual_rate: float = REFERENCE_ANNUAL_RATE
) -> float:
    """Equated monthly instalment of an amortising loan: P·r / (1 − (1 + r)^−n)."""
    monthly_rate = annual_rate / 12.0
    return loan_amount * monthly_rate / (1.0 - (1.0 + monthly_rate) ** -tenure_months)


def affordability_ratios(application: Application) -> dict[str, float]:
    """The ratios the original bank cared about, plus the new loan's burden on income."""
    income = max(float(application["monthly_income"]), _MIN_DENOMINATOR)
    loan = max(float(application["loan_amount"]), _MIN_DENOMINATOR)
    existing_emi = float(application["existing_emi"])
    new_emi = monthly_instalment(loan, int(application["loan_tenure_months"]))
    return {
        "debt_to_income": existing_emi / income,
        "loan_to_annual_income": loan / (12.0 * income),
        "new_emi_to_income": new_emi / income,
        "total_debt_to_income": (existing_emi + new_emi) / income,
        "savings_to_loan": float(application["savings_balance"]) / loan,
    }


# Raw numeric fields the scorecard may bin directly. Raw loan_amount and existing_emi are left out on
# purpose: they only mean something relative to income, which the ratios capture, and leaving them out
# makes the score monotone in the loan amount (a smaller loan never scores worse).
RAW_NUMERIC_FEATURES = (
    "age",
    "years_at_current_job",
    "monthly_income",
    "cibil_score",
    "credit_history_years",
    "late_payments_last_2_years",
    "savings_balance",
    "years_with_bank",
    "num_existing_loans",
    "num_dependents",
)
BOOLEAN_FEATURES = ("has_defaults", "owns_property")
RATIO_FEATURES = (
    "debt_to_income",
    "loan_to_annual_income",
    "new_emi_to_income",
    "total_debt_to_income",
    "savings_to_loan",
)
CATEGORICAL_FEATURES = ("employment_type", "loan_purpose", "loan_tenure_months")

# A model input: a number (0/1 for a flag) for the numeric, boolean and ratio features, a category's
# name for the categorical ones.
Features = dict[str, float | str]


def numbers_of(features: Mapping[str, float | str]) -> Mapping[str, float]:
    """``features`` read by a model's numeric feature names. A model artifact (hash-checked, written by
    training from the lists above) names numeric features only among RAW_NUMERIC_FEATURES,
    BOOLEAN_FEATURES and RATIO_FEATURES, which ``model_features`` gives as floats: the view is exact."""
    return cast(Mapping[str, float], features)


def categories_of(features: Mapping[str, float | str]) -> Mapping[str, str]:
    """``features`` read by a model's categorical feature names (CATEGORICAL_FEATURES: strings)."""
    return cast(Mapping[str, str], features)


def model_features(application: Application, ratios: Mapping[str, float] | None = None) -> Features:
    """Every candidate model input for one (validated) application: numbers, 0/1 flags, categories.

    ``ratios`` may pass in ``affordability_ratios(application)`` when the caller already has them.
    """
    values = field_values(application)
    features: Features = {name: float(values[name]) for name in RAW_NUMERIC_FEATURES}
    for name in BOOLEAN_FEATURES:
        features[name] = 1.0 if values[name] else 0.0
    features.update(affordability_ratios(application) if ratios is None else ratios)
    for name in CATEGORICAL_FEATURES:
        features[name] = str(values[name])
    return features
