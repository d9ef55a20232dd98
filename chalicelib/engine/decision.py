"""decide(): one validated application in, one explainable JSON decision out (no personal data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.engine.artifact import load_model
from chalicelib.engine.explain import MAX_REASONS, favourable_factors, model_reasons, policy_reasons
from chalicelib.engine.features import affordability_ratios, model_features
from chalicelib.engine.outcome import APPROVED, DECLINED, Bands, outcome_of
from chalicelib.engine.policy import evaluate_policy
from chalicelib.engine.scorecard import score_features
from chalicelib.engine.suggest import reapply_after_months, suggestions_for


def model_info() -> dict[str, str]:
    return load_model().info()


def decide(
    application: Mapping[str, Any],
    *,
    approve_threshold: float | None = None,
    review_threshold: float | None = None,
) -> dict[str, Any]:
    """Decide a validated application. Bands default to the artifact's thresholds (0.65 / 0.45)."""
    model = load_model()
    bands = Bands.of(model, approve_threshold, review_threshold)
    ratios = affordability_ratios(application)
    policy = evaluate_policy(application, ratios)
    features = model_features(application, ratios)
    score = score_features(model, features)
    outcome = outcome_of(
        score.probability, len(policy.blocking), len(policy.warnings), bands, len(policy.referrals)
    )

    reasons: list[dict[str, Any]] = []
    suggestions: list[dict[str, Any]] = []
    if outcome != APPROVED:
        reasons = policy_reasons(policy.blocking)
        if outcome != DECLINED and score.probability >= bands.approve:
            # an approval held back by the rules: say which
            reasons += policy_reasons(policy.referrals + policy.warnings)
        covered = frozenset(str(r["factor"]) for r in reasons)
        reasons = (reasons + model_reasons(model, score, MAX_REASONS - len(reasons), covered))[:MAX_REASONS]
        suggestions = suggestions_for(model, application, score, policy, bands)
    return {
        "outcome": outcome,
        "probability": score.probability,
        "score": score.score,
        "risk_band": model.risk_band(score.probability),
        "contributions": [
            {"factor": c.feature, "points": c.points, "max_points": c.best_points}
            for c in score.contributions
        ],
        "base_points": model.base_points,
        "reasons": reasons,
        "favourable_factors": favourable_factors(score, frozenset(str(r["factor"]) for r in reasons)),
        "suggestions": suggestions,
        "reapply_after_months": reapply_after_months(suggestions) if outcome == DECLINED else None,
        "policy": policy.checks,
        "affordability": {name: round(value, 4) for name, value in ratios.items()},
        "out_of_training_range": list(score.out_of_training_range),
        "thresholds": {"approve": bands.approve, "review": bands.review},
        "model": model.info(),
    }
