"""suggest: a rule table; every suggestion re-scored, useless ones dropped, decisive ones first."""

from __future__ import annotations

import pytest
from engine_test_support import (
    MIDDLING,
    POLICY,
    PROPERTIES,
    applied,
    decide_v1,
    decided,
    strong_application,
    valid_applications,
)
from hypothesis import given

from chalicelib.engine import validate_application
from chalicelib.engine.outcome import OUTCOME_RANK
from chalicelib.engine.suggest import SUGGESTION_RULES, reapply_after_months

MIN_AGE = POLICY.limits.min_age
MIN_PROBABILITY_GAIN = POLICY.suggestions.min_probability_gain

SUGGESTION_KEYS = {
    "id",
    "category",
    "current",
    "target",
    "action",
    "expected_time",
    "priority",
    "effect",
    "decisive",
    "clears",
}


def test_the_table_has_unique_ids_and_takes_ages_from_the_policy() -> None:
    assert len({r.id for r in SUGGESTION_RULES}) == len(SUGGESTION_RULES)
    age = next(r for r in SUGGESTION_RULES if r.field == "age")
    result = decided(age=19)
    suggestion = next(s for s in result["suggestions"] if s["id"] == age.id)
    assert suggestion["target"] == MIN_AGE and suggestion["clears"] == ["POL-AGE-MIN"]
    assert suggestion["expected_time"] == f"when you turn {MIN_AGE}"
    assert {r.id for r in POLICY.rules} >= set(suggestion["clears"])


LATE_PAYER = {
    "late_payments_last_2_years": 6,
    "cibil_score": 700,
    "years_at_current_job": 0,
    "credit_history_years": 1,
    "monthly_income": 40_000,
    "loan_amount": 300_000,
}


def test_fewer_late_payments_is_flagged_decisive_ranked_first_and_exact() -> None:
    application = validate_application(strong_application(**LATE_PAYER))
    result = decide_v1(application)
    assert result["outcome"] == "declined"
    first = result["suggestions"][0]
    assert first["id"] == "SUG-LATE-PAYMENTS" and first["decisive"] and first["effect"] == "approved"
    assert applied(application, late_payments_last_2_years=first["target"])["outcome"] == "approved"
    assert applied(application, late_payments_last_2_years=first["target"] + 1)["outcome"] != "approved"
    job = next(s for s in result["suggestions"] if s["id"] == "SUG-JOB-TENURE")
    assert not job["decisive"] and isinstance(job["effect"], float)
    assert job["effect"] >= result["probability"] + MIN_PROBABILITY_GAIN


def test_savings_that_do_not_move_the_probability_are_not_suggested() -> None:
    result = decided(**MIDDLING, cibil_score=610, savings_balance=20_000, loan_amount=800_000)
    assert result["outcome"] == "declined"
    assert "SUG-SAVINGS" not in {s["id"] for s in result["suggestions"]}


def test_the_credit_score_that_flips_the_outcome_is_exact() -> None:
    changes = {"late_payments_last_2_years": 3, "cibil_score": 650, "years_at_current_job": 1}
    application = validate_application(strong_application(**{**LATE_PAYER, **changes}))
    result = decide_v1(application)
    credit = next(s for s in result["suggestions"] if s["id"] == "SUG-CREDIT-SCORE")
    assert credit["decisive"]
    assert applied(application, cibil_score=credit["target"])["outcome"] == credit["effect"] == "approved"
    assert applied(application, cibil_score=credit["target"] - 1)["outcome"] != "approved"


def test_suggestions_have_the_documented_shape_and_order() -> None:
    result = decided(cibil_score=610, years_at_current_job=0, savings_balance=20_000, existing_emi=55_000)
    assert 1 <= len(result["suggestions"]) <= 6
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    keys = [(not s["decisive"], order[s["priority"]]) for s in result["suggestions"]]
    assert keys == sorted(keys)
    for suggestion in result["suggestions"]:
        assert set(suggestion) == SUGGESTION_KEYS


@pytest.mark.parametrize(
    ("priorities", "months"),
    [
        ([], 3),
        (["medium", "low"], 3),
        (["high"], 6),
        (["high", "high", "low"], 9),
        (["high", "critical"], 12),
    ],
)
def test_reapply_timeline(priorities: list[str], months: int) -> None:
    assert (
        reapply_after_months([{"priority": p} for p in priorities], POLICY.suggestions.reapply_after)
        == months
    )


@PROPERTIES
@given(valid_applications())
def test_every_suggestion_has_the_effect_it_states(application: dict) -> None:
    result = decide_v1(application)
    for s in result["suggestions"]:
        changed = applied(application, **{_field(s["id"]): s["target"]})
        if s["decisive"]:
            assert OUTCOME_RANK[changed["outcome"]] < OUTCOME_RANK[result["outcome"]], s
        if isinstance(s["effect"], str):
            assert changed["outcome"] == s["effect"] != result["outcome"]
        else:
            assert changed["outcome"] == result["outcome"] and changed["probability"] == s["effect"]
            assert s["clears"] or s["effect"] - result["probability"] >= MIN_PROBABILITY_GAIN - 1e-6
        failed_after = {c["id"] for c in changed["policy"] if not c["passed"]}
        assert not set(s["clears"]) & failed_after


def _field(suggestion_id: str) -> str:
    return next(r.field for r in SUGGESTION_RULES if r.id == suggestion_id)
