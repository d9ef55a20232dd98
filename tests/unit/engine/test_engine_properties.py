"""Property tests: any valid application gets a consistent decision; any junk gets ValidationFailed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.engine import APPLICATION_FIELDS, ValidationFailed, decide, validate_application
from chalicelib.engine.artifact import load_model
from chalicelib.engine.outcome import APPROVED, Bands, outcome_for
from chalicelib.engine.schema import FieldSpec


def value_strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.choices:
        return st.sampled_from(spec.choices)
    if spec.kind == "integer":
        # mostly realistic values, sometimes anywhere in the valid range
        return st.one_of(
            st.integers(spec.minimum, min(spec.maximum, max(spec.minimum, 1) * 1000)),
            st.integers(spec.minimum, spec.maximum),
        )
    if spec.kind == "boolean":
        return st.booleans()
    return st.just("Pune")


applications = st.fixed_dictionaries(
    {
        name: value_strategy(spec)
        for name, spec in APPLICATION_FIELDS.items()
        if spec.required or name in ("gender", "marital_status")
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(applications)
def test_every_valid_application_gets_a_consistent_decision(application: dict[str, Any]) -> None:
    cleaned = validate_application(application)
    assert cleaned == application
    result = decide(cleaned)
    json.dumps(result, allow_nan=False)
    assert result["outcome"] in ("approved", "manual_review", "declined")
    assert 0.0 <= result["probability"] <= 1.0
    assert result["base_points"] + sum(c["points"] for c in result["contributions"]) == result["score"]
    assert len(result["reasons"]) <= 4 and len(result["suggestions"]) <= 6
    lost = [r["points_lost"] for r in result["reasons"] if r["points_lost"] is not None]
    assert lost == sorted(lost, reverse=True)
    if result["outcome"] == "approved":
        assert result["reasons"] == [] and result["probability"] >= 0.65
    else:
        assert result["reasons"], "a non-approval always says why"
    model = load_model()
    for suggestion in result["suggestions"]:
        if suggestion["category"] == "loan_adjustment" and suggestion["current"] == cleaned["loan_amount"]:
            changed = {**cleaned, "loan_amount": suggestion["target"]}
            assert outcome_for(model, changed, Bands.of(model)) == APPROVED


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*APPLICATION_FIELDS, "extra"]), junk) | junk)
def test_junk_only_ever_raises_validation_failed(payload: object) -> None:
    try:
        validate_application(payload)
    except ValidationFailed as failure:
        assert failure.errors and all(set(e) == {"field", "problem"} for e in failure.errors)
