"""validate_application / quick eligibility validation: every field checked, every error reported."""

from __future__ import annotations

import unicodedata

import jsonschema
import pytest
from engine_test_support import PROPERTIES, strong_application, training_rows
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.engine import (
    APPLICATION_FIELDS,
    ValidationFailed,
    application_json_schema,
    scoring_inputs,
    validate_application,
)
from chalicelib.engine.schema import DECISION_FIELDS, PERSONAL_FIELDS


def errors_of(payload: object) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as caught:
        validate_application(payload)
    fields = [e["field"] for e in caught.value.errors]
    assert len(fields) == len(set(fields)), "one message per offending field"
    return {e["field"]: e["problem"] for e in caught.value.errors}


def test_a_valid_application_comes_back_cleaned_and_equal() -> None:
    application = strong_application()
    assert validate_application(application) == application


def test_every_training_row_is_valid() -> None:
    assert len(training_rows()) == 5000


def test_all_offending_fields_are_reported_at_once() -> None:
    payload = strong_application(age=17, cibil_score=950, has_defaults="no", loan_purpose="Yacht", pan="bad")
    del payload["monthly_income"]
    payload["cibil"] = 700
    assert set(errors_of(payload)) == {
        "age",
        "cibil_score",
        "has_defaults",
        "loan_purpose",
        "pan",
        "monthly_income",
        "cibil",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("age", "40"),
        ("age", 40.5),
        ("age", True),
        ("age", 101),
        ("monthly_income", -1),
        ("cibil_score", 299),
        ("loan_tenure_months", 18),
        ("loan_amount", 999),
        ("has_defaults", 1),
        ("has_defaults", "true"),
        ("owns_property", None),
        ("education", "PhD"),
        ("employment_type", "salaried"),
        ("gender", "M"),
        ("city", "123"),
        ("applicant_name", "R2D2"),
        ("pan", "abcde1234f"),
        ("aadhaar", "1234 5678 9012"),
        ("phone", "12345"),
        ("email", "not-an-email"),
    ],
)
def test_bad_values_are_rejected_by_field(field: str, value: object) -> None:
    payload = strong_application(**{field: value})
    if field in ("owns_property",):
        assert errors_of(payload) == {field: "is required"}
    else:
        assert set(errors_of(payload)) == {field}


def test_unknown_fields_are_rejected_and_named() -> None:
    assert errors_of(strong_application(loan_approved=1, favourite_colour="red")) == {
        "loan_approved": "is not a known field",
        "favourite_colour": "is not a known field",
    }


def test_non_object_body_is_one_error() -> None:
    assert errors_of([1, 2]) == {"(body)": "must be a JSON object"}


def test_integral_floats_become_integers() -> None:
    cleaned = validate_application(strong_application(monthly_income=50000.0))
    assert cleaned["monthly_income"] == 50000 and isinstance(cleaned["monthly_income"], int)


def test_ranges_admit_the_values_policy_rules_exist_to_catch() -> None:
    # Validation admits what the policy rules decide on (a young applicant, no income, many loans)...
    edge = strong_application(age=18, monthly_income=0, num_existing_loans=8)
    assert validate_application(edge) == edge
    # ...and refuses only what lies outside the field's range.
    assert errors_of(strong_application(age=17, monthly_income=-1, num_existing_loans=51)).keys() == {
        "age",
        "monthly_income",
        "num_existing_loans",
    }


def test_personal_and_protected_fields_are_optional_and_format_checked() -> None:
    bare = strong_application()
    for name in ("gender", "marital_status", "city"):
        del bare[name]
    assert validate_application(bare) == bare
    personal = {
        "applicant_name": "Kavita Pandey",
        "applicant_id": "APP100002",
        "pan": "ABCDE1234F",
        "aadhaar": "2345-6789-0123",
        "phone": "+91 9876543210",
        "email": "kavita.p@example.in",
    }
    assert validate_application(strong_application(**personal)) == strong_application(**personal)
    # Format-checked: each one malformed is named, and only it.
    malformed = {"pan": "ABCDE1234", "aadhaar": "1234-5678-9012", "phone": "+91 12345", "email": "kavita@"}
    assert errors_of(strong_application(**malformed)).keys() == malformed.keys()


def test_scoring_inputs_hold_no_personal_or_protected_data() -> None:
    application = validate_application(strong_application(pan="ABCDE1234F", applicant_name="Kavita Pandey"))
    inputs = scoring_inputs(application)
    assert set(inputs) == set(DECISION_FIELDS)
    assert not set(inputs) & {*PERSONAL_FIELDS, "gender", "marital_status", "city"}


def test_json_schema_agrees_with_validation_on_the_same_payloads() -> None:
    schema = application_json_schema()
    assert set(schema["properties"]) == set(APPLICATION_FIELDS)
    validator = jsonschema.Draft202012Validator(schema)
    good = strong_application(pan="ABCDE1234F", phone="9876543210")
    assert not list(validator.iter_errors(good))
    for field, value in [("age", 17), ("loan_tenure_months", 18), ("pan", "abcde1234f"), ("has_defaults", 1)]:
        bad = strong_application(**{field: value})
        assert list(validator.iter_errors(bad)), field
        with pytest.raises(ValidationFailed):
            validate_application(bad)
    assert list(validator.iter_errors(strong_application(extra=1)))


def test_long_patterns_carry_an_example_that_is_valid() -> None:
    """Swagger UI generates a sample from a pattern when the schema has no example; from the name
    pattern (every letter and mark of Unicode) that held the docs page for 30-60 s."""
    schema = application_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    long_patterns = [
        name for name, field in schema["properties"].items() if len(field.get("pattern", "")) > 200
    ]
    assert long_patterns == ["city", "applicant_name"]
    for name in long_patterns:
        example = schema["properties"][name]["example"]
        application = strong_application(**{name: example})
        assert not list(validator.iter_errors(application)), name
        assert validate_application(application)[name] == example


@pytest.mark.parametrize(
    "name",
    ["अनन्या शर्मा", "கார்த்திக்", "Jose\u0301", "José", "A. Kumar", "O'Neil-Smith", "Zoë Ng Jr."],
)
def test_names_in_any_script_are_valid_and_nfc_normalised(name: str) -> None:
    cleaned = validate_application(strong_application(applicant_name=name, city=name))
    assert cleaned["applicant_name"] == unicodedata.normalize("NFC", name) == cleaned["city"]
    assert validate_application(strong_application(applicant_name="Jose\u0301"))["applicant_name"] == "José"


@pytest.mark.parametrize(
    "name", ["R2D2", "Asha\u0000", "Asha\tVerma", "x_y", "١٢", "\u0301Asha", "Asha-", ""]
)
def test_names_with_digits_controls_or_stray_marks_are_rejected(name: str) -> None:
    assert set(errors_of(strong_application(applicant_name=name))) == {"applicant_name"}


_LETTERS = st.characters(categories=("Lu", "Ll", "Lo"))
_MARKS = st.characters(categories=("Mn", "Mc"))
_WORDS = st.lists(st.tuples(_LETTERS, st.lists(_LETTERS | _MARKS, max_size=6)), min_size=1, max_size=3)


@PROPERTIES
@given(_WORDS, st.sampled_from([" ", "-", "'", ". "]))
def test_words_of_letters_and_marks_are_names(words: list, separator: str) -> None:
    name = separator.join(first + "".join(rest) for first, rest in words)  # at most 25 characters
    cleaned = validate_application(strong_application(applicant_name=name))
    assert cleaned["applicant_name"] == unicodedata.normalize("NFC", name)


@PROPERTIES
@given(_WORDS, st.characters(categories=("Nd", "Cc")))
def test_a_digit_or_control_character_anywhere_is_rejected(words: list, bad: str) -> None:
    name = " ".join(first + "".join(rest) for first, rest in words) + bad
    assert set(errors_of(strong_application(applicant_name=name))) == {"applicant_name"}


def test_personal_fields_include_the_applicant_id() -> None:
    assert "applicant_id" in PERSONAL_FIELDS
    assert set(PERSONAL_FIELDS) == {n for n, s in APPLICATION_FIELDS.items() if s.personal}


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)


@PROPERTIES
@given(st.dictionaries(st.sampled_from([*APPLICATION_FIELDS, "extra"]), junk) | junk)
def test_junk_only_ever_raises_validation_failed(payload: object) -> None:
    try:
        cleaned = validate_application(payload)
    except ValidationFailed as failure:
        assert failure.errors and all(set(e) == {"field", "problem"} for e in failure.errors)
    else:  # accepted: a cleaned copy that validates to itself
        assert isinstance(payload, dict) and set(cleaned) <= set(payload)
        assert validate_application(cleaned) == cleaned
