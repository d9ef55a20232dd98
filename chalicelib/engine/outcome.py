"""The outcome of an application, in one place: ``decide``, the counteroffer and every re-scored
suggestion go through :func:`assess`, so a counteroffer or suggestion decides exactly as stated.

The final outcome is the worse of two views, kept apart:

- the **model's**: approval probability against the bands (an approval within the low-confidence
  margin of the approve threshold is a manual review);
- the **policy's**: declined if a block/fail rule is breached, manual review if a refer rule is or
  ``WARNINGS_FOR_REVIEW`` warnings are, else approved.

``decided_by`` says which view produced the final outcome ("policy+model" when both did).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from chalicelib.engine.artifact import Model
from chalicelib.engine.features import affordability_ratios
from chalicelib.engine.policy import DECLINING, REFER, WARNING, WARNINGS_FOR_REVIEW, Rule, breached_rules
from chalicelib.engine.pricing import Priced, price
from chalicelib.engine.scorecard import probability_of

APPROVED, MANUAL_REVIEW, DECLINED = "approved", "manual_review", "declined"
OUTCOME_RANK = {APPROVED: 0, MANUAL_REVIEW: 1, DECLINED: 2}  # higher is worse


class Bands(NamedTuple):
    """Probability bands: >= approve -> approved, >= review -> manual review, else declined.

    An approval within ``low_confidence_margin`` of the approve threshold is low-confidence and goes to
    manual review.
    """

    approve: float
    review: float
    low_confidence_margin: float

    @classmethod
    def of(cls, model: Model, approve: float | None = None, review: float | None = None) -> Bands:
        bands = cls(
            model.approve_threshold if approve is None else approve,
            model.review_threshold if review is None else review,
            model.low_confidence_margin,
        )
        if not 0.0 <= bands.review <= bands.approve <= 1.0:
            raise ValueError("bands need 0 <= review <= approve <= 1")
        return bands

    def model_outcome(self, probability: float) -> str:
        if probability >= self.approve + self.low_confidence_margin:
            return APPROVED
        return MANUAL_REVIEW if probability >= self.review else DECLINED


def policy_outcome(breached: tuple[Rule, ...]) -> str:
    if any(rule.severity in DECLINING for rule in breached):
        return DECLINED
    warnings = sum(rule.severity == WARNING for rule in breached)
    if warnings >= WARNINGS_FOR_REVIEW or any(rule.severity == REFER for rule in breached):
        return MANUAL_REVIEW
    return APPROVED


@dataclass(slots=True)  # built for every re-decision: slots, not frozen, keep it cheap
class Assessment:
    outcome: str
    decided_by: str  # "policy" | "model" | "policy+model"
    model_outcome: str
    model_probability: float
    model_risk_band: str
    probability: float  # the final view: the model's, or 0.0 when a declining rule is breached
    pricing: Priced
    ratios: dict[str, float]  # the model's ratios plus the policy's ``foir``
    breached: tuple[Rule, ...]


def assess_with(
    model: Model,
    application: Mapping[str, Any],
    bands: Bands,
    ratios: dict[str, float],
    model_probability: float,
) -> Assessment:
    """Price, apply the rules and combine with the model's probability (``ratios`` gains ``foir``)."""
    band = model.risk_band(model_probability)
    priced = price(application, band)
    ratios["foir"] = priced.foir
    breached = breached_rules(application, ratios)
    by_model, by_policy = bands.model_outcome(model_probability), policy_outcome(breached)
    outcome = max(by_model, by_policy, key=OUTCOME_RANK.__getitem__)
    decided_by = "policy+model" if by_model == by_policy else "model" if by_model == outcome else "policy"
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


def assess(model: Model, application: Mapping[str, Any], bands: Bands) -> Assessment:
    """The outcome of a (possibly hypothetical) application, exactly as ``decide`` would give it."""
    ratios = affordability_ratios(application)
    return assess_with(model, application, bands, ratios, probability_of(model, application, ratios))
