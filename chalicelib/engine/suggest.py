"""Suggestions: a rule table (``SUGGESTION_RULES``) of changes the applicant could make, each one
checked by deciding the changed application.

A rule names the one application field it changes and how to find the target value; every target is
then re-decided with everything else equal (``outcome.assess``) and the suggestion states its
``effect``: the new outcome when it changes, else the new probability. A suggestion is kept only if
it improves the outcome (``decisive``), clears a failed rule that declines or refers on its own (no
approval is possible without that), or raises the probability by at least the policy's
``min_probability_gain``. The targets' numbers are the policy's (``Policy.suggestions``, ``limits``).
Decisive suggestions come first, then by priority.

Exact targets where the model and rules allow (approval is monotone along each of these fields, so a
bisection over the candidates is exact): the largest approvable loan and the shortest approvable tenure
(shared with the counteroffer), the lowest CIBIL cut point that flips the outcome, the highest existing
EMI that would be approved, the most late payments that would still be approved.

Re-apply timeline as in the original (the policy's ``reapply_after``; version 1: 3 months by default, 6
with one high-priority suggestion, 9 with two or more, 12 if any is critical).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from chalicelib.engine.artifact import Model
from chalicelib.engine.counteroffer import (
    first_approvable,
    largest_approvable_loan,
    shortest_approvable_tenure,
)
from chalicelib.engine.lending_policy import Policy, ReapplyAfter
from chalicelib.engine.outcome import OUTCOME_RANK, Assessment, assess
from chalicelib.engine.policy import DECLINING, REFER
from chalicelib.engine.scorecard import Score
from chalicelib.engine.types import Application, Priority, Scalar, Suggestion, field_values, with_field

MAX_SUGGESTIONS = 6  # the API's contract (types.Decision): at most six, decisive first
PRIORITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@dataclass(frozen=True)  # not a NamedTuple like the other records: cached_property needs a __dict__
class Situation:
    """One decided application, with the exact searches computed on first use and shared."""

    model: Model
    policy: Policy
    application: Application
    current: Assessment
    score: Score

    @functools.cached_property
    def lost(self) -> dict[str, int]:
        return {c.feature: c.best_points - c.points for c in self.score.contributions}

    def failed(self, rule_id: str) -> bool:
        return any(rule.id == rule_id for rule in self.current.breached)

    @functools.cached_property
    def largest_loan(self) -> int | None:
        return largest_approvable_loan(self.model, self.policy, self.application)

    @functools.cached_property
    def shortest_tenure(self) -> int | None:
        return shortest_approvable_tenure(self.model, self.policy, self.application)

    def first_approvable(self, field: str, candidates: list[int]) -> int | None:
        return first_approvable(self.model, self.policy, self.application, field, candidates)


class SuggestionRule(NamedTuple):
    id: str
    category: str
    field: str  # the application field the suggestion changes
    target: Callable[[Situation], Scalar | None]  # None: the rule does not apply
    action: Callable[[Situation, Scalar], str]  # called with the rule's target
    expected_time: str  # may name the ``{target}``
    priority: Callable[[Situation], Priority]


def _always(priority: Priority) -> Callable[[Situation], Priority]:
    return lambda s: priority


def _credit_score_target(s: Situation) -> int | None:
    current = s.application["cibil_score"]
    if s.lost.get("cibil_score", 0) > 0:
        feature = next((f for f in s.model.numeric if f.name == "cibil_score"), None)
        edges = [int(e) for e in feature.edges if e > current] if feature else []
        flip = s.first_approvable("cibil_score", edges)
        if flip is not None:
            return int(flip)
    target = s.policy.suggestions.credit_score_target
    return target if current < target else None


def _late_payments_target(s: Situation) -> int | None:
    current = s.application["late_payments_last_2_years"]
    if current == 0 or s.lost.get("late_payments_last_2_years", 0) == 0:
        return None
    flip = s.first_approvable("late_payments_last_2_years", list(range(current - 1, -1, -1)))
    return 0 if flip is None else int(flip)


def _existing_emi_target(s: Situation) -> int | None:
    """The highest existing EMI (at a model cut point or the FOIR review limit) that is approved, else
    the original's 40%-of-income level when above it."""
    a = s.application
    income, current = a["monthly_income"], a["existing_emi"]
    if income <= 0 or current == 0:
        return None
    feature = next((f for f in s.model.numeric if f.name == "debt_to_income"), None)
    cut_points = {max(0, math.ceil(edge * income) - 1) for edge in (feature.edges if feature else ())}
    cut_points.add(max(0, math.floor(s.policy.limits.foir_review_above * income - s.current.pricing.emi)))
    candidates = sorted((e for e in cut_points | {0} if e < current), reverse=True)
    flip = s.first_approvable("existing_emi", candidates)
    if flip is not None:
        return int(flip)
    warning = s.policy.limits.debt_to_income_warning_above
    return math.floor(warning * income) if current > warning * income else None


def _income_target(s: Situation) -> int | None:
    loan: int = s.application["loan_amount"]
    targets = s.policy.suggestions
    if loan > targets.income_multiple_limit * s.application["monthly_income"]:
        return math.ceil(loan / targets.income_target_divisor)
    return None


def _savings_target(s: Situation) -> int | None:
    target = math.ceil(s.policy.suggestions.savings_target_share * s.application["loan_amount"])
    return target if s.application["savings_balance"] < target else None


SUGGESTION_RULES: tuple[SuggestionRule, ...] = (
    SuggestionRule(
        "SUG-AGE",
        "eligibility",
        "age",
        lambda s: s.policy.limits.min_age if s.failed("POL-AGE-MIN") else None,
        lambda s, t: f"Re-apply once you are {t}.",
        "when you turn {target}",
        _always("critical"),
    ),
    SuggestionRule(
        "SUG-INCOME-MIN",
        "income",
        "monthly_income",
        lambda s: s.policy.limits.min_monthly_income if s.failed("POL-INCOME-MIN") else None,
        lambda s, t: f"A monthly income of at least INR {t:,} is required.",
        "when your income reaches it",
        _always("critical"),
    ),
    SuggestionRule(
        "SUG-LOANS",
        "debt",
        "num_existing_loans",
        lambda s: s.policy.limits.max_existing_loans if s.failed("POL-LOANS-MAX") else None,
        lambda s, t: f"Close or consolidate existing loans to at most {t}.",
        "6-12 months",
        _always("critical"),
    ),
    SuggestionRule(
        "SUG-DEFAULT",
        "credit",
        "has_defaults",
        lambda s: False if s.application["has_defaults"] else None,
        lambda s, t: "Settle the defaulted account and get a no-dues certificate from the lender.",
        "12 months or more",
        _always("critical"),
    ),
    SuggestionRule(
        "SUG-LOAN-AMOUNT",
        "loan_adjustment",
        "loan_amount",
        lambda s: s.largest_loan,
        lambda s, t: f"Apply for INR {t:,} instead: with everything else unchanged it would be approved.",
        "immediately",
        _always("high"),
    ),
    SuggestionRule(
        "SUG-TENURE",
        "loan_adjustment",
        "loan_tenure_months",
        lambda s: s.shortest_tenure,
        lambda s, t: f"Choose a {t}-month tenure: the smaller instalment would be approved.",
        "immediately",
        _always("high"),
    ),
    SuggestionRule(
        "SUG-CREDIT-SCORE",
        "credit",
        "cibil_score",
        _credit_score_target,
        lambda s, t: f"Raise your CIBIL score to {t}: pay bills on time, keep card use low.",
        "6-12 months",
        _always("high"),
    ),
    SuggestionRule(
        "SUG-LATE-PAYMENTS",
        "credit",
        "late_payments_last_2_years",
        _late_payments_target,
        lambda s, t: (
            "Pay every instalment on time: late payments stop counting after two years "
            f"({t} or fewer in the last two years)."
        ),
        "up to 24 months",
        _always("high"),
    ),
    SuggestionRule(
        "SUG-INCOME",
        "income",
        "monthly_income",
        _income_target,
        lambda s, t: "The loan is large for your income: a higher income or a co-applicant would help.",
        "6-12 months",
        _always("high"),
    ),
    SuggestionRule(
        "SUG-DEBT",
        "debt",
        "existing_emi",
        _existing_emi_target,
        lambda s, t: f"Bring existing EMIs down to INR {t:,} a month.",
        "3-6 months",
        lambda s: "critical" if s.failed("POL-DTI-MAX") else "high",
    ),
    SuggestionRule(
        "SUG-JOB-TENURE",
        "employment",
        "years_at_current_job",
        lambda s: 1 if s.application["years_at_current_job"] == 0 else None,
        lambda s, t: "Stay with your current employer: a year in the job counts for a lot.",
        "up to 12 months",
        _always("medium"),
    ),
    SuggestionRule(
        "SUG-SAVINGS",
        "savings",
        "savings_balance",
        _savings_target,
        lambda s, t: (
            f"Build savings of at least {s.policy.suggestions.savings_target_share:.0%} of the loan "
            f"(INR {t:,})."
        ),
        "6-12 months",
        _always("low"),
    ),
)
_CLEARABLE = DECLINING | {REFER}  # rules without whose clearing no approval is possible


def suggestions_for(situation: Situation) -> list[Suggestion]:
    current = situation.current
    kept: list[tuple[bool, int, Suggestion]] = []
    for rule in SUGGESTION_RULES:
        target = rule.target(situation)
        if target is None or target == field_values(situation.application)[rule.field]:
            continue
        changed = assess(
            situation.model, situation.policy, with_field(situation.application, rule.field, target)
        )
        decisive = OUTCOME_RANK[changed.outcome] < OUTCOME_RANK[current.outcome]
        cleared = [r for r in current.breached if r not in changed.breached]
        necessary = any(r.severity in _CLEARABLE for r in cleared)
        gain = changed.probability - current.probability
        if not (decisive or necessary or gain >= situation.policy.suggestions.min_probability_gain):
            continue
        suggestion: Suggestion = {
            "id": rule.id,
            "category": rule.category,
            "current": field_values(situation.application)[rule.field],
            "target": target,
            "action": rule.action(situation, target),
            "expected_time": rule.expected_time.format(target=target),
            "priority": rule.priority(situation),
            "effect": (
                changed.outcome if changed.outcome != current.outcome else round(changed.probability, 6)
            ),
            "decisive": decisive,
            "clears": [r.id for r in cleared],
        }
        kept.append((not decisive, PRIORITY_ORDER[suggestion["priority"]], suggestion))
    kept.sort(key=lambda entry: entry[:2])  # stable: table order breaks ties
    return [suggestion for _, _, suggestion in kept[:MAX_SUGGESTIONS]]


def reapply_after_months(suggestions: Sequence[Mapping[str, object]], months: ReapplyAfter) -> int:
    priorities = [s["priority"] for s in suggestions]
    if "critical" in priorities:
        return months.any_critical
    high = priorities.count("high")
    return months.two_or_more_high if high >= 2 else months.one_high if high == 1 else months.default
