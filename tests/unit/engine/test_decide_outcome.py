"""decide_outcome (what a version's validation report measures) equals decide on every holdout row,
under the packaged policy and under policies that approve more, fewer, and refer approvals for fraud."""

from __future__ import annotations

import collections
from typing import Any

import pytest
from engine_test_support import POLICY, policy_with

from chalicelib.engine import validation
from chalicelib.engine.artifact import load_model
from chalicelib.engine.decision import MeasuredOutcome, decide, decide_outcome
from chalicelib.engine.lending_policy import Policy

VARIANTS: dict[str, dict[str, Any]] = {
    "packaged": {},
    "approves more": {"/bands/approve": 0.3, "/bands/review": 0.2},
    "approves fewer": {"/bands/approve": 0.9, "/bands/review": 0.8},
    # a loan over 3 months' income is a high fraud flag: an approval it stops is referred
    "fraud refers": {"/bands/approve": 0.3, "/bands/review": 0.2, "/fraud/rules/FRD-LOAN-TO-INCOME/limit": 3},
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_decide_outcome_equals_decide_on_every_holdout_row(variant: str) -> None:
    model = load_model()
    policy: Policy = policy_with(VARIANTS[variant]) if VARIANTS[variant] else POLICY
    outcomes: collections.Counter[str] = collections.Counter()
    referred_for_fraud = 0
    same_bands_without_fraud_limit = policy_with(VARIANTS["approves more"])
    for application in validation.packaged_holdout().applications:
        decision = decide(application, model, policy)
        expected = MeasuredOutcome(
            decision["outcome"], decision["model_probability"], decision["affordability"]["foir"]
        )
        assert decide_outcome(application, model, policy) == expected, application
        outcomes[decision["outcome"]] += 1
        if variant == "fraud refers" and decision["outcome"] == "manual_review":
            without = decide_outcome(application, model, same_bands_without_fraud_limit)
            referred_for_fraud += without.outcome == "approved"
    assert len(outcomes) >= 2, outcomes  # the variant decides both ways, or it proves little
    if variant == "fraud refers":
        assert referred_for_fraud > 0
