"""outcome: the final outcome is the worse of the model's and the policy's views; decided_by says
which produced it; assess() decides exactly as decide() does."""

from __future__ import annotations

import pytest
from engine_test_support import MODEL, POLICY, PROPERTIES, decide_v1, policy_v1_document, valid_applications
from hypothesis import given

from chalicelib.engine import PolicyInvalid, load_policy, validate_application
from chalicelib.engine.lending_policy import Bands
from chalicelib.engine.outcome import APPROVED, DECLINED, MANUAL_REVIEW, assess, policy_outcome

AGE_MAX, LOAN_INCOME, LOANS_HIGH, DEFAULT_REFER, FOIR_MAX = (
    POLICY.rule(rule_id)
    for rule_id in ("POL-AGE-MAX", "POL-LOAN-INCOME", "POL-LOANS-HIGH", "POL-DEFAULT-REFER", "POL-FOIR-MAX")
)


def test_model_bands_include_the_low_confidence_margin() -> None:
    bands = Bands(approve=0.65, review=0.45, low_confidence_margin=0.05)
    assert [bands.model_outcome(p) for p in (0.9, 0.71, 0.69, 0.65, 0.45, 0.44)] == [
        APPROVED,
        APPROVED,
        MANUAL_REVIEW,
        MANUAL_REVIEW,
        MANUAL_REVIEW,
        DECLINED,
    ]


@pytest.mark.parametrize(
    ("breached", "outcome"),
    [
        ((), APPROVED),
        ((AGE_MAX, LOAN_INCOME), APPROVED),
        ((AGE_MAX, LOAN_INCOME, LOANS_HIGH), MANUAL_REVIEW),
        ((DEFAULT_REFER,), MANUAL_REVIEW),
        ((DEFAULT_REFER, FOIR_MAX), DECLINED),
    ],
)
def test_the_policy_view(breached: tuple, outcome: str) -> None:
    assert policy_outcome(breached, POLICY.warnings_for_review) == outcome


def test_bands_must_be_ordered() -> None:
    document = policy_v1_document()
    document["bands"].update(approve=0.3, review=0.5)
    with pytest.raises(PolicyInvalid) as failure:
        load_policy(document)
    assert failure.value.errors == [
        {"path": "/bands/review", "problem": "must be at most the approve threshold (0.3)"}
    ]


@PROPERTIES
@given(valid_applications())
def test_assess_decides_as_decide_and_decided_by_names_the_deciding_views(application: dict) -> None:
    cleaned = validate_application(application)
    bands = POLICY.bands
    assessment = assess(MODEL, POLICY, cleaned)
    result = decide_v1(cleaned)
    assert (assessment.outcome, assessment.decided_by) == (result["outcome"], result["decided_by"])
    assert round(assessment.probability, 6) == result["probability"]
    by_model = bands.model_outcome(assessment.model_probability)
    by_policy = policy_outcome(assessment.breached, POLICY.warnings_for_review)
    rank = {APPROVED: 0, MANUAL_REVIEW: 1, DECLINED: 2}
    assert rank[result["outcome"]] == max(rank[by_model], rank[by_policy])
    assert ("model" in result["decided_by"]) == (by_model == result["outcome"])
    assert ("policy" in result["decided_by"]) == (by_policy == result["outcome"])
