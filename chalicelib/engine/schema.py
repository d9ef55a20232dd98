"""The application schema: one definition drives validation, the JSON Schema (for OpenAPI) and CSV parsing.

Choices, documented here once:
- **Unknown fields are rejected** (each named in the errors): a typo such as ``cibil`` for
  ``cibil_score`` must not silently fall back to nothing.
- **Integers** accept JSON integers; a JSON number with a zero fraction (``50000.0``) is accepted as the
  integer. Strings (``"50000"``), fractions and booleans are rejected.
- **Booleans** accept JSON ``true``/``false`` only (not ``"yes"``, ``1`` or ``"true"``).
- **Ranges** are deliberately wider than the training data so the policy rules can do their job: age
  18–100 lets the age-under-21 rule decline, income from 0 lets the income-under-15,000 rule block.
  A valid value outside the training range is scored with the edge bin of that feature.
- **Names** (``applicant_name``, ``city``) are words of letters and combining marks of any script
  ("अनन्या शर्मा", "கார்த்திக்", "José" typed as e + U+0301), separated by spaces, dots, apostrophes or
  hyphens; NFC-normalised, so the same name typed either way is the same string. Digits, underscores,
  symbols and control characters are rejected. The JSON Schema's pattern says the same: its letter
  and mark classes are listed from this Python's Unicode database when the schema is built.
- **Personal fields** (``PERSONAL_FIELDS``: applicant_name, applicant_id, pan, aadhaar, phone, email)
  are optional and format-checked only; they never reach the model and are masked or hashed when
  stored (``chalicelib.privacy`` reads this one definition). ``gender``, ``marital_status`` and
  ``city`` are optional too: they are kept for fairness reporting and are never model inputs.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import sys
import unicodedata
from typing import Any, NamedTuple, cast

from chalicelib.engine.types import Application, Scalar, field_values


class ValidationFailed(Exception):
    """An application failed validation; ``errors`` names every offending field once."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s): " + ", ".join(e["field"] for e in errors))
        self.errors = errors


class FieldSpec(NamedTuple):
    kind: str  # "integer" | "boolean" | "category" | "string" | "name" | "ip" (see the module docstring)
    description: str
    required: bool = True
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | tuple[int, ...] = ()  # categories, or integer choices (tenures)
    pattern: str | None = None  # full-match regular expression for strings
    max_length: int | None = None
    personal: bool = False  # personal data: format-checked, never scored, masked when stored
    # The JSON Schema's example. Swagger UI shows it instead of generating a sample from the pattern:
    # from the name pattern (every letter and mark of Unicode) its generator took 30-60 s of the page.
    example: str | None = None


INDUSTRIES = (
    "Agriculture",
    "Banking & Finance",
    "Education",
    "Government",
    "Healthcare",
    "Hospitality",
    "Information Technology",
    "Manufacturing",
    "Media & Entertainment",
    "Real Estate",
    "Retail",
    "Telecommunications",
    "Transportation",
)
LOAN_PURPOSES = (
    "Business Expansion",
    "Debt Consolidation",
    "Education",
    "Electronics/Appliances",
    "Home Renovation",
    "Medical Emergency",
    "Personal Expenses",
    "Travel",
    "Vehicle Purchase",
    "Wedding",
)
EMPLOYMENT_TYPES = ("Salaried", "Self-Employed", "Business Owner", "Government", "Retired")
EDUCATION_LEVELS = ("High School", "Graduate", "Post Graduate", "Professional")
LOAN_TENURES = (12, 24, 36, 48, 60)

_INR_MAX = 10**9  # 100 crore: far above any retail loan, low enough to catch unit mistakes (paise)

APPLICATION_FIELDS: dict[str, FieldSpec] = {
    "age": FieldSpec("integer", "Applicant age in years", minimum=18, maximum=100),
    "gender": FieldSpec(
        "category",
        "Fairness reporting only; never a model input",
        required=False,
        choices=("Male", "Female", "Other"),
    ),
    "city": FieldSpec(
        "name",
        "City of residence (letters of any script); never a model input",
        required=False,
        max_length=60,
        example="Jaipur",
    ),
    "education": FieldSpec("category", "Highest education", choices=EDUCATION_LEVELS),
    "marital_status": FieldSpec(
        "category",
        "Fairness reporting only; never a model input",
        required=False,
        choices=("Single", "Married", "Divorced"),
    ),
    "num_dependents": FieldSpec("integer", "Number of dependents", minimum=0, maximum=20),
    "employment_type": FieldSpec("category", "Employment type", choices=EMPLOYMENT_TYPES),
    "industry": FieldSpec("category", "Industry of employment", choices=INDUSTRIES),
    "years_at_current_job": FieldSpec(
        "integer", "Whole years at the current job (0 = under a year)", minimum=0, maximum=60
    ),
    "monthly_income": FieldSpec("integer", "Monthly income, INR", minimum=0, maximum=_INR_MAX),
    "existing_emi": FieldSpec(
        "integer", "Instalments on existing loans, INR per month", minimum=0, maximum=_INR_MAX
    ),
    "num_existing_loans": FieldSpec("integer", "Number of existing loans", minimum=0, maximum=50),
    "cibil_score": FieldSpec("integer", "CIBIL credit score (300-900)", minimum=300, maximum=900),
    "credit_history_years": FieldSpec("integer", "Years of credit history", minimum=0, maximum=80),
    "late_payments_last_2_years": FieldSpec(
        "integer", "Late payments in the last 2 years", minimum=0, maximum=100
    ),
    "has_defaults": FieldSpec("boolean", "Has ever defaulted on a loan (JSON true/false)"),
    "owns_property": FieldSpec("boolean", "Owns property (JSON true/false)"),
    "savings_balance": FieldSpec("integer", "Savings balance, INR", minimum=0, maximum=_INR_MAX),
    "years_with_bank": FieldSpec("integer", "Years as a customer of the bank", minimum=0, maximum=100),
    "loan_amount": FieldSpec("integer", "Requested loan amount, INR", minimum=1_000, maximum=_INR_MAX),
    "loan_tenure_months": FieldSpec("integer", "Loan tenure in months", choices=LOAN_TENURES),
    "loan_purpose": FieldSpec("category", "Purpose of the loan", choices=LOAN_PURPOSES),
    # Personal data: optional, format-checked, never scored.
    "applicant_name": FieldSpec(
        "name",
        "Applicant name (letters and combining marks of any script)",
        required=False,
        personal=True,
        max_length=100,
        example="Ananya Sharma",
    ),
    "applicant_id": FieldSpec(
        "string",
        "Caller's applicant identifier",
        required=False,
        personal=True,
        pattern=r"[A-Za-z0-9][A-Za-z0-9_-]*",
        max_length=64,
    ),
    "pan": FieldSpec(
        "string", "PAN, e.g. ABCDE1234F", required=False, personal=True, pattern=r"[A-Z]{5}[0-9]{4}[A-Z]"
    ),
    "aadhaar": FieldSpec(
        "string",
        "Aadhaar number: 12 digits, optionally grouped 4-4-4 by spaces or hyphens",
        required=False,
        personal=True,
        pattern=r"[2-9][0-9]{3}(?:[0-9]{8}| [0-9]{4} [0-9]{4}|-[0-9]{4}-[0-9]{4})",
    ),
    "phone": FieldSpec(
        "string",
        "Indian mobile number, optionally prefixed +91",
        required=False,
        personal=True,
        pattern=r"(?:\+91[ -]?)?[6-9][0-9]{9}",
    ),
    "email": FieldSpec(
        "string",
        "E-mail address",
        required=False,
        personal=True,
        pattern=r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
        max_length=254,
    ),
    # The applicant's session as the lender's server saw it (the caller of this API is the lender, not
    # the applicant): counted for velocity signals, never scored, never stored in clear.
    "device_id": FieldSpec(
        "string",
        "The applicant's device identifier as the lender saw it (letters, digits, . _ : -)",
        required=False,
        personal=True,
        pattern=r"[A-Za-z0-9][A-Za-z0-9._:-]*",
        max_length=128,
    ),
    "ip_address": FieldSpec(
        "ip", "The applicant's IP address (IPv4 or IPv6) as the lender saw it", required=False, personal=True
    ),
}

PERSONAL_FIELDS = tuple(name for name, spec in APPLICATION_FIELDS.items() if spec.personal)
# Fields kept only for fairness reporting: validated, stored, never scored.
PROTECTED_FIELDS = ("gender", "marital_status", "city")
# Every field that can change a decision (the cache key is built from exactly these).
DECISION_FIELDS = tuple(
    name for name, spec in APPLICATION_FIELDS.items() if not spec.personal and name not in PROTECTED_FIELDS
)

# Names: a word is a letter followed by letters and combining marks; words are joined by separators.
_NAME_SEPARATORS = frozenset(" .'-")


@functools.cache
def _name_schema_pattern() -> str:
    """``_is_name`` as a regular expression: classes of every letter (L*) and mark (M*) code point."""
    ranges: dict[str, list[list[int]]] = {"L": [], "M": []}
    for code in range(sys.maxunicode + 1):
        kind = ranges.get(unicodedata.category(chr(code))[0])
        if kind is not None:
            if kind and kind[-1][1] == code - 1:
                kind[-1][1] = code
            else:
                kind.append([code, code])

    def char_class(kind: str) -> str:
        return "".join(chr(a) if a == b else f"{chr(a)}-{chr(b)}" for a, b in ranges[kind])

    letter, letter_or_mark = f"[{char_class('L')}]", f"[{char_class('L')}{char_class('M')}]"
    separator = r"[ '.\-]"  # _NAME_SEPARATORS
    return f"{letter}{letter_or_mark}*(?:{separator}+{letter}{letter_or_mark}*)*\\.?"


_COMPILED_PATTERNS = {
    name: re.compile(spec.pattern) for name, spec in APPLICATION_FIELDS.items() if spec.pattern
}


def _check_integer(name: str, spec: FieldSpec, value: object) -> tuple[int | None, str | None]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None, "must be an integer" + _range_text(spec)
    if spec.choices and value not in spec.choices:
        return None, "must be one of " + ", ".join(str(c) for c in spec.choices)
    if (spec.minimum is not None and value < spec.minimum) or (
        spec.maximum is not None and value > spec.maximum
    ):
        return None, "must be an integer" + _range_text(spec)
    return value, None


def _range_text(spec: FieldSpec) -> str:
    if spec.choices:
        return " (one of " + ", ".join(str(c) for c in spec.choices) + ")"
    return f" from {spec.minimum} to {spec.maximum}"


def _is_name(text: str) -> bool:
    """Words of letters and combining marks (any script), joined by separators; an optional final dot."""
    previous = None  # "letter" or "separator": what the last character was
    for char in text.removesuffix("."):
        category = unicodedata.category(char)[0]
        if category == "L" or (category == "M" and previous == "letter"):
            previous = "letter"
        elif char in _NAME_SEPARATORS and previous is not None:
            previous = "separator"
        else:
            return False
    return previous == "letter"


def _check_name(spec: FieldSpec, value: object) -> tuple[str | None, str | None]:
    if not isinstance(value, str):
        return None, "must be a string"
    normalised = unicodedata.normalize("NFC", value)
    if spec.max_length is not None and len(normalised) > spec.max_length:
        return None, f"must be at most {spec.max_length} characters"
    if not _is_name(normalised):
        return None, "has an invalid format (letters of any script, separated by spaces, . ' or -)"
    return normalised, None


def _check_ip(spec: FieldSpec, value: object) -> tuple[str | None, str | None]:
    """An IPv4 or IPv6 address, returned in its compressed form (one value, however it was typed)."""
    if not isinstance(value, str) or len(value) > 45:
        return None, "must be an IPv4 or IPv6 address"
    try:
        return ipaddress.ip_address(value).compressed, None
    except ValueError:
        return None, "must be an IPv4 or IPv6 address"


def _check_value(name: str, spec: FieldSpec, value: object) -> tuple[Scalar | None, str | None]:
    if spec.kind == "integer":
        return _check_integer(name, spec, value)
    if spec.kind == "boolean":
        if isinstance(value, bool):
            return value, None
        return None, "must be a JSON boolean (true or false)"
    if spec.kind == "category":
        if isinstance(value, str) and value in spec.choices:
            return value, None
        return None, "must be one of: " + ", ".join(str(c) for c in spec.choices)
    if spec.kind == "name":
        return _check_name(spec, value)
    if spec.kind == "ip":
        return _check_ip(spec, value)
    # string
    if not isinstance(value, str):
        return None, "must be a string"
    if spec.max_length is not None and len(value) > spec.max_length:
        return None, f"must be at most {spec.max_length} characters"
    pattern = _COMPILED_PATTERNS.get(name)
    if pattern is not None and not pattern.fullmatch(value):
        return None, "has an invalid format (" + spec.description + ")"
    return value, None


def validate_fields(payload: object, fields: dict[str, FieldSpec]) -> dict[str, Scalar]:
    """Check ``payload`` against ``fields``: cleaned copy, or ValidationFailed naming every bad field."""
    if not isinstance(payload, dict):
        raise ValidationFailed([{"field": "(body)", "problem": "must be a JSON object"}])
    errors: list[dict[str, str]] = []
    cleaned: dict[str, Scalar] = {}
    for name, spec in fields.items():
        if name not in payload or payload[name] is None:
            if spec.required:
                errors.append({"field": name, "problem": "is required"})
            continue
        value, problem = _check_value(name, spec, payload[name])
        if problem is None and value is not None:
            cleaned[name] = value
        else:  # a checker returns either a value or its problem
            errors.append({"field": name, "problem": problem or "is invalid"})
    for name in payload:
        if name not in fields:
            errors.append({"field": str(name), "problem": "is not a known field"})
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def validate_application(payload: object) -> Application:
    """Check every application field; return a cleaned copy in canonical types or raise with ALL errors."""
    # The one place a JSON value becomes an ``Application``: every field was checked to its kind above
    # (integer, boolean, category or string), and the required ones are present, as the type says.
    return cast(Application, validate_fields(payload, APPLICATION_FIELDS))


def scoring_inputs(application: Application) -> dict[str, Scalar]:
    """The fields that can change the decision, no personal data: the decision-cache key's content."""
    values = field_values(application)
    return {name: values[name] for name in DECISION_FIELDS}


def _field_json_schema(spec: FieldSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": spec.description}
    if spec.kind == "integer":
        schema["type"] = "integer"
        if spec.choices:
            schema["enum"] = list(spec.choices)
        else:
            schema["minimum"] = spec.minimum
            schema["maximum"] = spec.maximum
    elif spec.kind == "boolean":
        schema["type"] = "boolean"
    elif spec.kind == "category":
        schema["type"] = "string"
        schema["enum"] = list(spec.choices)
    elif spec.kind == "ip":
        schema["type"] = "string"
        schema["anyOf"] = [{"format": "ipv4"}, {"format": "ipv6"}]
        schema["maxLength"] = 45
    elif spec.kind == "name":
        schema["type"] = "string"
        schema["pattern"] = f"^(?:{_name_schema_pattern()})$"
        schema["maxLength"] = spec.max_length
    else:
        schema["type"] = "string"
        if spec.pattern:
            schema["pattern"] = f"^(?:{spec.pattern})$"
        if spec.max_length is not None:
            schema["maxLength"] = spec.max_length
    if spec.example is not None:
        schema["example"] = spec.example
    if spec.personal:
        schema["x-personal-data"] = True
    return schema


def fields_json_schema(fields: dict[str, FieldSpec]) -> dict[str, Any]:
    """JSON Schema (draft 2020-12 / OpenAPI 3.1) of an object with ``fields``."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [name for name, spec in fields.items() if spec.required],
        "properties": {name: _field_json_schema(spec) for name, spec in fields.items()},
    }


def application_json_schema() -> dict[str, Any]:
    """JSON Schema of one application (the request body of the decision endpoints)."""
    return fields_json_schema(APPLICATION_FIELDS)


def parse_csv_row(row: dict[str, str]) -> Application:
    """Convert one CSV row (all strings) to JSON-like types, then validate it like an API payload.

    Columns that are not application fields (e.g. the ``loan_approved`` label) are dropped.
    """
    payload: dict[str, object] = {}
    for name, spec in APPLICATION_FIELDS.items():
        raw = row.get(name)
        if raw is None or raw == "":
            continue
        if spec.kind == "integer":
            try:
                payload[name] = int(raw)
            except ValueError:
                payload[name] = raw
        elif spec.kind == "boolean":
            lowered = raw.strip().lower()
            payload[name] = True if lowered == "true" else False if lowered == "false" else raw
        else:
            payload[name] = raw
    return validate_application(payload)
