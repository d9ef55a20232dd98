"""decide(): one validated application, a model and a lending policy in, one explainable JSON decision
out (no personal data). ``decide`` reads nothing but its arguments: the caller chooses the decision
version (today the packaged one, :func:`packaged_version`: the shipped model artifact and policy
version 1)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.engine.artifact import Model, load_model
from chalicelib.engine.counteroffer import find_counteroffer
from chalicelib.engine.explain import (
    MAX_REASONS,
    favourable_factors,
    model_reasons,
    principal_reasons,
)
from chalicelib.engine.features import affordability_ratios, model_features
from chalicelib.engine.fraud import (
    Submissions,
    application_flags,
    fraud_reasons,
    refers,
    sorted_flags,
    submission_flags,
)
from chalicelib.engine.lending_policy import Policy, packaged_policy
from chalicelib.engine.notice import render_notice
from chalicelib.engine.outcome import assess_with
from chalicelib.engine.policy import evaluate_policy
from chalicelib.engine.scorecard import score_features
from chalicelib.engine.suggest import Situation, reapply_after_months, suggestions_for
from chalicelib.engine.types import (
    APPROVED,
    DECLINED,
    MANUAL_REVIEW,
    Affordability,
    Application,
    Decision,
    ModelInfo,
    Outcome,
)

PROBABILITY_DIGITS = 6  # display precision of probabilities


class DecisionLogic(NamedTuple):
    """What decides: a model and a lending policy (a decision version's content)."""

    model: Model
    policy: Policy


@functools.cache
def packaged_version() -> DecisionLogic:
    """The packaged decision version: the shipped model artifact and lending-policy version 1, read and
    checked on first use, then shared by every call in the process."""
    return DecisionLogic(load_model(), packaged_policy())


def model_info() -> ModelInfo:
    """The packaged model's id, version and sha256."""
    return load_model().info()


def _affordability(ratios: Mapping[str, float]) -> Affordability:
    """The model's ratios and the policy's FOIR, rounded to 4 places."""
    return {
        "debt_to_income": round(ratios["debt_to_income"], 4),
        "loan_to_annual_income": round(ratios["loan_to_annual_income"], 4),
        "new_emi_to_income": round(ratios["new_emi_to_income"], 4),
        "total_debt_to_income": round(ratios["total_debt_to_income"], 4),
        "savings_to_loan": round(ratios["savings_to_loan"], 4),
        "foir": round(ratios["foir"], 4),
    }


class MeasuredOutcome(NamedTuple):
    """What a validation report measures of a decision (engine/validation.py)."""

    outcome: Outcome  # decide()'s "outcome"
    model_probability: float  # decide()'s "model_probability"
    foir: float  # decide()'s "affordability"["foir"]


def decide_outcome(application: Application, model: Model, policy: Policy) -> MeasuredOutcome:
    """The outcome, model probability and FOIR that ``decide`` gives (no velocity counters), without
    what only the applicant reads: suggestions and the counteroffer search (searches over amounts
    and tenures, over half of a declined or referred decision's time), reasons and the notice. A
    version's validation report decides every holdout row this way; tests/unit/engine keeps it
    equal to ``decide``."""
    ratios = affordability_ratios(application)
    score = score_features(model, model_features(application, ratios))
    assessment = assess_with(model, policy, application, ratios, score.probability)
    outcome = assessment.outcome
    # decide's fraud referral: an approval the one-application fraud rules stop is referred.
    if outcome == APPROVED and refers(sorted_flags(application_flags(application, policy.fraud))):
        outcome = MANUAL_REVIEW
    return MeasuredOutcome(
        outcome, round(assessment.model_probability, PROBABILITY_DIGITS), round(ratios["foir"], 4)
    )


def decide(
    application: Application,
    model: Model,
    policy: Policy,
    *,
    decided_on: dt.date | None = None,
    submissions: Submissions | None = None,
) -> Decision:
    """Decide a validated application with ``model`` and ``policy``; ``decided_on`` (default: today,
    UTC) dates the notice. ``submissions`` (what the velocity counters saw) adds the fraud rules over
    counts and the submission hour to the one-application rules, which always apply: a high or
    critical flag sends an approval to manual review, never declines."""
    bands = policy.bands
    ratios = affordability_ratios(application)
    score = score_features(model, model_features(application, ratios))
    assessment = assess_with(model, policy, application, ratios, score.probability)
    result = evaluate_policy(policy.rules, application, ratios, assessment.breached)
    reasons = principal_reasons(model, score, assessment, result, policy.warnings_for_review)
    risk_flags = application_flags(application, policy.fraud)
    if submissions is not None:
        risk_flags += submission_flags(submissions, policy.fraud)
    risk_flags = sorted_flags(risk_flags)
    suggestions, counteroffer, notice = [], None, None
    if assessment.outcome != APPROVED:
        situation = Situation(model, policy, application, assessment, score)
        suggestions = suggestions_for(situation)
        counteroffer = find_counteroffer(
            model, policy, application, situation.largest_loan, situation.shortest_tenure
        )
    if refers(risk_flags) and assessment.outcome != DECLINED:
        # The fraud rules are part of the policy: an approval they stop is referred by the policy.
        if assessment.outcome == APPROVED:
            assessment.outcome, assessment.decided_by = MANUAL_REVIEW, "policy"
        reasons = (fraud_reasons(risk_flags) + reasons)[:MAX_REASONS]
    if assessment.outcome != APPROVED:
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
    return {
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
        "reapply_after_months": (
            reapply_after_months(suggestions, policy.suggestions.reapply_after)
            if assessment.outcome == DECLINED
            else None
        ),
        "counteroffer": counteroffer,
        "notice": notice,
        "policy": result.checks,
        "affordability": _affordability(ratios),
        "pricing": {
            "risk_band": pricing.risk_band,
            "annual_rate": pricing.annual_rate,
            "emi": round(pricing.emi, 2),
        },
        "out_of_training_range": list(score.out_of_training_range),
        "thresholds": {"approve": bands.approve, "review": bands.review},
        "model": model.info(),
        "risk_flags": risk_flags,
    }
