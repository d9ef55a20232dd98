"""pricing: the rate card (10% + 0/2/4/6 by risk), the amortising EMI, FOIR."""

from __future__ import annotations

import pytest
from engine_test_support import POLICY

from chalicelib.engine.features import monthly_instalment
from chalicelib.engine.pricing import foir, price

RATE_CARD = POLICY.rate_card


def test_the_rate_card_of_policy_version_1_is_the_originals() -> None:
    assert RATE_CARD == {"A": 0.10, "B": 0.12, "C": 0.14, "D": 0.16, "E": 0.16}
    assert POLICY.lowest_annual_rate == 0.10


def test_the_emi_is_the_amortising_formula() -> None:
    # 1,00,000 over 12 months at 12% a year: the textbook 8,884.88
    assert monthly_instalment(100_000, 12, 0.12) == pytest.approx(8884.88, abs=0.01)


def test_price_uses_the_bands_rate_and_foir_counts_every_instalment() -> None:
    application = {
        "loan_amount": 500_000,
        "loan_tenure_months": 36,
        "existing_emi": 10_000,
        "monthly_income": 80_000,
    }
    a, d = price(application, "A", RATE_CARD), price(application, "D", RATE_CARD)
    assert (a.annual_rate, d.annual_rate) == (0.10, 0.16)
    assert a.emi == pytest.approx(monthly_instalment(500_000, 36, 0.10)) and d.emi > a.emi
    assert a.foir == pytest.approx((10_000 + a.emi) / 80_000) == foir(application, a.emi)


def test_foir_stays_finite_at_zero_income() -> None:
    assert foir({"existing_emi": 0, "monthly_income": 0}, 1_000.0) == 1_000.0
