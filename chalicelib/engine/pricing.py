"""Pricing of the requested loan and the affordability measure built on it (FOIR).

The rate card is the policy's (``Policy.rate_card``, from the policy document's ``rate_card``). In
version 1: the original's CLI service priced loans at 10% a year plus 0/2/4/6 points by risk; the
points go to the model's risk bands A-D. Band E (below the review threshold) is never approved, and
is priced like D so that its FOIR is a conservative figure.

FOIR (fixed-obligation-to-income ratio) = (existing EMIs + the new loan's EMI at its priced rate) /
monthly income: the measure Indian lenders cap, commonly at 50-60%. The policy's limits on it are the
rules ``POL-FOIR-MAX`` and ``POL-FOIR-REVIEW``.

The model's own affordability features use a fixed reference rate instead (``features``): the model
was fitted on them, and a price that depends on the model's output must not feed back into it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.engine.features import monthly_instalment
from chalicelib.engine.types import Application, QuickApplication, RiskBand

_MIN_INCOME = 1.0  # validation admits 0 income; the ratio stays finite (and far above any limit)


@dataclass(slots=True)  # built for every re-decision: slots, not frozen, keep it cheap
class Priced:
    risk_band: RiskBand
    annual_rate: float
    emi: float
    foir: float


def foir(application: QuickApplication, emi: float) -> float:
    return (float(application["existing_emi"]) + emi) / max(float(application["monthly_income"]), _MIN_INCOME)


def price(application: Application, risk_band: RiskBand, rate_card: Mapping[str, float]) -> Priced:
    """The requested loan at ``rate_card``'s rate for ``risk_band``: rate, EMI and FOIR."""
    rate = rate_card[risk_band]
    emi = monthly_instalment(float(application["loan_amount"]), int(application["loan_tenure_months"]), rate)
    return Priced(risk_band, rate, emi, foir(application, emi))
