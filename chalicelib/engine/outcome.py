"""The outcome of an application, in one place: ``decide``, the counteroffer and every re-scored
suggestion go through :func:`assess`, so a counteroffer or suggestion decides exactly as stated.

The final outcome is the worse of two views, kept apart:

- the **model's**: approval probability against the policy's bands (an approval within the
  low-confidence margin of the approve threshold is a manual review);
- the **policy's**: declined if a block/fail rule is breached, manual review if a refer rule is or
  the policy's ``warnings_for_review`` warnings are, else approved.

``decided_by`` says which view produced the final outcome ("policy+model" when both did).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.engine.artifact import Model
from chalicelib.engine.features import affordability_ratios
from chalicelib.engine.lending_policy import Policy
from chalicelib.engine.policy import DECLINING, REFER, WARNING, Rule, breached_rules
from chalicelib.engine.pricing import Priced, price
from chalicelib.engine.scorecard import probability_of
from chalicelib.engine.types import (
    APPROVED,
    DECLINED,
    MANUAL_REVIEW,
    Application,
    DecidedBy,
    Outcome,
    RiskBand,
)

OUTCOME_RANK: dict[str, int] = {APPROVED: 0, MANUAL_REVIEW: 1, DECLINED: 2}  # higher is worse


def policy_outcome(breached: tuple[Rule, ...], warnings_for_review: int) -> Outcome:
    if any(rule.severity in DECLINING for rule in breached):
        return DECLINED
    warnings = sum(rule.severity == WARNING for rule in breached)
    if warnings >= warnings_for_review or any(rule.severity == REFER for rule in breached):
        return MANUAL_REVIEW
    return APPROVED


@dataclass(slots=True)  # built for every re-decision: slots, not frozen, keep it cheap
class Assessment:
    outcome: Outcome
    decided_by: DecidedBy
    model_outcome: Outcome
    model_probability: float
    model_risk_band: RiskBand
    probability: float  # the final view: the model's, or 0.0 when a declining rule is breached
    pricing: Priced
    ratios: dict[str, float]  # the model's ratios plus the policy's ``foir``
    breached: tuple[Rule, ...]


def assess_with(
    model: Model,
    policy: Policy,
    application: Application,
    ratios: dict[str, float],
    model_probability: float,
) -> Assessment:
    """Price, apply the rules and combine with the model's probability (``ratios`` gains ``foir``)."""
    band = model.risk_band(model_probability)
    priced = price(application, band, policy.rate_card)
    ratios["foir"] = priced.foir
    breached = breached_rules(policy.rules, application, ratios)
    by_model = policy.bands.model_outcome(model_probability)
    by_policy = policy_outcome(breached, policy.warnings_for_review)
    outcome = max(by_model, by_policy, key=OUTCOME_RANK.__getitem__)
    decided_by: DecidedBy = (
        "policy+model" if by_model == by_policy else "model" if by_model == outcome else "policy"
    )
    blocked = by_policy == DECLINED
    return Assessment(
        outcome=outcome,
        decided_by=decided_by,
        model_outcome=by_model,
        model_probability=model_probability,
        model_risk_band=band,
        probability=0.0 if blocked else model_probability,
        pricing=priced,
        ratios=ratios,
        breached=breached,
    )


def assess(model: Model, policy: Policy, application: Application) -> Assessment:
    """The outcome of a (possibly hypothetical) application, exactly as ``decide`` would give it."""
    ratios = affordability_ratios(application)
    return assess_with(model, policy, application, ratios, probability_of(model, application, ratios))
