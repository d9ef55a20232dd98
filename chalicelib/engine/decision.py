"""decide(): one validated application in, one explainable JSON decision out (no personal data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from chalicelib.engine.artifact import load_model
from chalicelib.engine.counteroffer import find_counteroffer
from chalicelib.engine.explain import (
    MAX_REASONS,
    favourable_factors,
    model_reasons,
    principal_reasons,
)
from chalicelib.engine.features import affordability_ratios, model_features
from chalicelib.engine.notice import render_notice
from chalicelib.engine.outcome import APPROVED, DECLINED, Bands, assess_with
from chalicelib.engine.policy import evaluate_policy
from chalicelib.engine.scorecard import score_features
from chalicelib.engine.suggest import Situation, reapply_after_months, suggestions_for
from chalicelib.engine.types import Decision, ModelInfo

PROBABILITY_DIGITS = 6  # display precision of probabilities


def model_info() -> ModelInfo:
    return load_model().info()  # type: ignore[return-value]  # id, version, sha256


def decide(
    application: Mapping[str, Any],
    *,
    approve_threshold: float | None = None,
    review_threshold: float | None = None,
    decided_on: dt.date | None = None,
) -> Decision:
    """Decide a validated application. Bands default to the artifact's thresholds (0.65 / 0.45);
    ``decided_on`` (default: today, UTC) dates the notice."""
    model = load_model()
    bands = Bands.of(model, approve_threshold, review_threshold)
    ratios = affordability_ratios(application)
    score = score_features(model, model_features(application, ratios))
    assessment = assess_with(model, application, bands, ratios, score.probability)
    policy = evaluate_policy(application, ratios, assessment.breached)
    reasons = principal_reasons(model, score, assessment, policy)
    suggestions, counteroffer, notice = [], None, None
    if assessment.outcome != APPROVED:
        situation = Situation(model, application, bands, assessment, score)
        suggestions = suggestions_for(situation)
        counteroffer = find_counteroffer(
            model, application, bands, situation.largest_loan, situation.shortest_tenure
        )
        key_factors = [str(r["text"]) for r in model_reasons(model, score, MAX_REASONS)]
        notice = render_notice(
            application,
            assessment.outcome,
            assessment.decided_by,
            reasons,
            key_factors,
            counteroffer,
            decided_on or dt.datetime.now(dt.UTC).date(),
        )
    probability = round(assessment.probability, PROBABILITY_DIGITS)
    pricing = assessment.pricing
    return {  # type: ignore[typeddict-item]  # literals checked by the tests against types.Decision
        "outcome": assessment.outcome,
        "decided_by": assessment.decided_by,
        "probability": probability,
        "risk_band": model.risk_band(probability),
        "model_probability": round(assessment.model_probability, PROBABILITY_DIGITS),
        "model_risk_band": assessment.model_risk_band,
        "score": score.score,
        "contributions": [
            {"factor": c.feature, "points": c.points, "max_points": c.best_points}
            for c in score.contributions
        ],
        "base_points": model.base_points,
        "reasons": reasons,
        "favourable_factors": favourable_factors(score, frozenset(str(r["factor"]) for r in reasons)),
        "suggestions": suggestions,
        "reapply_after_months": reapply_after_months(suggestions) if assessment.outcome == DECLINED else None,
        "counteroffer": counteroffer,
        "notice": notice,
        "policy": policy.checks,
        "affordability": {name: round(value, 4) for name, value in ratios.items()},
        "pricing": {
            "risk_band": pricing.risk_band,
            "annual_rate": pricing.annual_rate,
            "emi": round(pricing.emi, 2),
        },
        "out_of_training_range": list(score.out_of_training_range),
        "thresholds": {"approve": bands.approve, "review": bands.review},
        "model": model.info(),
    }
