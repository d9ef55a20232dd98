"""Outcome from the probability bands plus the policy rules, in one place (decide and counterfactuals)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.engine.artifact import Model
from chalicelib.engine.features import affordability_ratios
from chalicelib.engine.policy import WARNINGS_FOR_REVIEW, count_breaches
from chalicelib.engine.scorecard import probability_of

APPROVED, MANUAL_REVIEW, DECLINED = "approved", "manual_review", "declined"


@dataclass(frozen=True)
class Bands:
    """Probability bands: >= approve -> approved, >= review -> manual review, else declined.

    An approval within ``low_confidence_margin`` of the approve threshold is low-confidence and goes to
    manual review, as does an approval with ``WARNINGS_FOR_REVIEW`` or more policy warnings or any
    ``refer`` rule breached.
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


def outcome_of(probability: float, blocking: int, warnings: int, bands: Bands, referrals: int = 0) -> str:
    if blocking:
        return DECLINED
    if probability >= bands.approve:
        low_confidence = probability < bands.approve + bands.low_confidence_margin
        if low_confidence or referrals or warnings >= WARNINGS_FOR_REVIEW:
            return MANUAL_REVIEW
        return APPROVED
    if probability >= bands.review:
        return MANUAL_REVIEW
    return DECLINED


def outcome_for(model: Model, application: Mapping[str, Any], bands: Bands) -> str:
    """The outcome of a (possibly hypothetical) application: used by the counterfactual searches."""
    ratios = affordability_ratios(application)
    blocking, warnings, referrals = count_breaches(application, ratios)
    if blocking:
        return DECLINED
    return outcome_of(probability_of(model, application, ratios), blocking, warnings, bands, referrals)
