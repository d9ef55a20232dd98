"""Property tests (hypothesis) on the engine's public API: validation and scoring monotonicity.

Strategies are built from the engine's own JSON schema of an application, so the tests follow the
field definitions instead of restating them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import engine
from devstack.samples import applications

SCHEMA = engine.application_json_schema()
FIELDS: dict[str, dict[str, Any]] = SCHEMA["properties"]
REQUIRED = set(SCHEMA["required"])
# Valid examples for the format-checked string fields (generating from their patterns is slow and
# adds nothing: validation treats them as opaque strings).
STRING_EXAMPLES = {
    "applicant_name": "Asha Verma",
    "applicant_id": "APP100001",
    "pan": "ABCDE1234F",
    "aadhaar": "2345 6789 0123",
    "phone": "+91 9876543210",
    "email": "asha.verma@example.com",
    "city": "Pune",
    "device_id": "android-7f3a9c2e",
    "ip_address": "203.0.113.7",
}
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def valid_value(name: str) -> st.SearchStrategy[Any]:
    spec = FIELDS[name]
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    if spec["type"] == "integer":
        return st.integers(min_value=spec["minimum"], max_value=spec["maximum"])
    if spec["type"] == "boolean":
        return st.booleans()
    return st.just(STRING_EXAMPLES[name])


def invalid_value(name: str) -> st.SearchStrategy[Any]:
    """Values the schema forbids for this field (never None: None counts as "not given")."""
    spec = FIELDS[name]
    wrong_type: list[Any] = [[], {"nested": 1}]
    if spec["type"] == "integer":
        wrong_type += ["12", True, 0.5]
        if "enum" in spec:
            wrong_type.append(max(spec["enum"]) + 1)
        else:
            wrong_type += [spec["minimum"] - 1, spec["maximum"] + 1]
    elif spec["type"] == "boolean":
        wrong_type += ["true", 1, 0]
    elif "enum" in spec:
        wrong_type += ["definitely not a choice", 3]
    else:
        wrong_type += [12345, False, "\u0000" * 3]
    return st.sampled_from(wrong_type)


@st.composite
def schema_applications(draw: st.DrawFn) -> dict[str, Any]:
    """Anything the schema allows: mostly far from real applicants (extreme incomes and debts)."""
    application = {}
    for name in FIELDS:
        if name in REQUIRED or draw(st.booleans()):
            application[name] = draw(valid_value(name))
    return application


def _data_rows() -> list[dict[str, Any]]:
    """The data file's first 1000 applications, limited to the fields the schema defines."""
    return [{name: value for name, value in row.items() if name in FIELDS} for row in applications(1000)]


DATA_ROWS = _data_rows()
JITTERED = (
    "cibil_score",
    "existing_emi",
    "monthly_income",
    "loan_amount",
    "years_at_current_job",
    "savings_balance",
)


@st.composite
def realistic_applications(draw: st.DrawFn) -> dict[str, Any]:
    """A real applicant from the data file with a few amounts moved within +-50%: the region where
    the probability is neither 0 nor 1, so monotonicity is tested where it matters."""
    application = dict(draw(st.sampled_from(DATA_ROWS)))
    for name in draw(st.sets(st.sampled_from(JITTERED), max_size=3)):
        spec = FIELDS[name]
        value = application[name]
        low = max(spec["minimum"], int(value * 0.5))
        high = min(spec["maximum"], max(low, int(value * 1.5)))
        application[name] = draw(st.integers(min_value=low, max_value=high))
    return application


def valid_applications() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(schema_applications(), realistic_applications())


# ---------------------------------------------------------------------------- validation
@PROPERTY_SETTINGS
@given(payload=JSON_VALUES)
def test_any_json_value_is_validated_or_rejected_never_crashes(payload: Any) -> None:
    try:
        cleaned = engine.validate_application(payload)
    except engine.ValidationFailed as failure:
        assert failure.errors
        assert all(isinstance(e["field"], str) and isinstance(e["problem"], str) for e in failure.errors)
    else:
        assert isinstance(cleaned, dict)


@PROPERTY_SETTINGS
@given(
    base=valid_applications(),
    overrides=st.dictionaries(st.sampled_from(sorted(FIELDS)), JSON_VALUES, max_size=6),
)
def test_known_fields_with_any_values_never_crash(base: dict[str, Any], overrides: dict[str, Any]) -> None:
    # Fields are checked one by one: the whole payload is refused for exactly the overrides that
    # are refused on their own, each named once, and accepted (every given field kept) otherwise.
    refused = {name for name, value in overrides.items() if _refuses({**base, name: value})}
    payload = {**base, **overrides}
    try:
        cleaned = engine.validate_application(payload)
    except engine.ValidationFailed as failure:
        assert refused and sorted(error["field"] for error in failure.errors) == sorted(refused)
    else:
        assert not refused
        assert set(cleaned) == {name for name, value in payload.items() if value is not None}


def _refuses(payload: dict[str, Any]) -> bool:
    try:
        engine.validate_application(payload)
    except engine.ValidationFailed:
        return True
    return False


@PROPERTY_SETTINGS
@given(application=valid_applications())
def test_valid_applications_are_accepted(application: dict[str, Any]) -> None:
    cleaned = engine.validate_application(application)
    assert set(cleaned) == set(application)


@PROPERTY_SETTINGS
@given(data=st.data(), application=valid_applications())
def test_every_invalid_field_is_named_exactly_once(data: st.DataObject, application: dict[str, Any]) -> None:
    corrupted = data.draw(st.sets(st.sampled_from(sorted(FIELDS)), max_size=6), label="corrupted")
    removable = sorted(REQUIRED - corrupted)
    removed = (
        data.draw(st.sets(st.sampled_from(removable), max_size=3), label="removed") if removable else set()
    )
    unknown = data.draw(
        st.sets(st.text(min_size=1, max_size=12).filter(lambda key: key not in FIELDS), max_size=3),
        label="unknown",
    )
    payload = dict(application)
    for name in corrupted:
        payload[name] = data.draw(invalid_value(name), label=name)
    for name in removed:
        payload.pop(name, None)
    for name in unknown:
        payload[name] = 1
    expected = corrupted | removed | unknown
    try:
        engine.validate_application(payload)
    except engine.ValidationFailed as failure:
        named = [error["field"] for error in failure.errors]
        assert sorted(named) == sorted(expected)
    else:
        assert not expected, f"accepted an application with invalid fields {expected}"


# ---------------------------------------------------------------------------- scoring
def probability(application: dict[str, Any]) -> float:
    return float(
        engine.decide(engine.validate_application(application), *engine.packaged_version())["probability"]
    )


@PROPERTY_SETTINGS
@given(data=st.data(), application=valid_applications())
def test_raising_the_credit_score_never_lowers_the_probability(
    data: st.DataObject, application: dict[str, Any]
) -> None:
    higher = data.draw(
        st.integers(min_value=application["cibil_score"], max_value=FIELDS["cibil_score"]["maximum"])
    )
    assert probability({**application, "cibil_score": higher}) >= probability(application) - 1e-12


@PROPERTY_SETTINGS
@given(data=st.data(), application=valid_applications())
def test_lowering_existing_emi_never_lowers_the_probability(
    data: st.DataObject, application: dict[str, Any]
) -> None:
    lower = data.draw(
        st.integers(min_value=FIELDS["existing_emi"]["minimum"], max_value=application["existing_emi"])
    )
    assert probability({**application, "existing_emi": lower}) >= probability(application) - 1e-12
