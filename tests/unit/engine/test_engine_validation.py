"""validate_application / quick eligibility validation: every field checked, every error reported."""

from __future__ import annotations

import jsonschema
import pytest
from engine_test_support import strong_application, training_rows

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
    validate_application(strong_application(age=18, monthly_income=0, num_existing_loans=8))


def test_personal_and_protected_fields_are_optional_and_format_checked() -> None:
    bare = strong_application()
    for name in ("gender", "marital_status", "city"):
        del bare[name]
    validate_application(bare)
    validate_application(
        strong_application(
            applicant_name="Kavita Pandey",
            applicant_id="APP100002",
            pan="ABCDE1234F",
            aadhaar="2345-6789-0123",
            phone="+91 9876543210",
            email="kavita.p@example.in",
        )
    )


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
