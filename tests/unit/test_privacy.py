"""Masks exactly as the original system's (SEED.md), keyed hashes, log redaction."""

from __future__ import annotations

import io
import logging

import pytest

from chalicelib.privacy import (
    PersonalDataRedactingFilter,
    applicant_reference,
    hash_identity,
    mask_aadhaar,
    mask_email,
    mask_identifier,
    mask_name,
    mask_pan,
    mask_personal_fields,
    mask_phone,
    redact_text,
)

KEY = b"test-key"


def _application() -> dict:
    from devstack.samples import sample_application

    return sample_application(with_personal_data=False)


def test_masks_match_the_original_examples() -> None:
    assert mask_pan("ABCDE1234F") == "ABCDE****F"
    assert mask_aadhaar("9876 5432 1234") == "****-****-1234"
    assert mask_aadhaar("987654321234") == "****-****-1234"
    assert mask_phone("9876543210") == "******3210"
    assert mask_email("arjun.kumar@domain") == "a****r@domain"
    assert mask_name("Amit Kumar") == "A*** K****"


def test_phone_country_code_is_dropped_not_kept() -> None:
    assert mask_phone("+91 98765 43210") == "******3210"


def test_pan_is_normalised_before_masking() -> None:
    assert mask_pan(" abcde1234f ") == "ABCDE****F"


@pytest.mark.parametrize(
    ("mask", "value"),
    [
        (mask_pan, "NOTAPAN"),
        (mask_pan, "ABCDE12345"),
        (mask_aadhaar, "12345"),
        (mask_phone, "12345"),
        (mask_email, "no-at-sign"),
        (mask_email, "@domain"),
    ],
)
def test_malformed_values_are_fully_masked(mask, value: str) -> None:
    masked = mask(value)
    assert set(masked) == {"*"}
    assert value not in masked


def test_short_email_local_part_keeps_only_first_letter() -> None:
    assert mask_email("ab@x.in") == "a****@x.in"


def test_hash_is_keyed_and_normalised() -> None:
    assert hash_identity("pan", "abcde1234f", key=KEY) == hash_identity("pan", "ABCDE1234F ", key=KEY)
    assert hash_identity("aadhaar", "1234 5678 9012", key=KEY) == hash_identity(
        "aadhaar", "1234-5678-9012", key=KEY
    )
    assert hash_identity("pan", "ABCDE1234F", key=KEY) != hash_identity("pan", "ABCDE1234F", key=b"other")
    # The field is part of the message: equal strings in different fields do not collide.
    assert hash_identity("pan", "X", key=KEY) != hash_identity("applicant_id", "X", key=KEY)
    digest = hash_identity("pan", "ABCDE1234F", key=KEY)
    assert len(digest) == 64 and int(digest, 16) >= 0


def test_hash_uses_environment_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PII_HASH_KEY", "one")
    first = hash_identity("pan", "ABCDE1234F")
    monkeypatch.setenv("PII_HASH_KEY", "two")
    assert hash_identity("pan", "ABCDE1234F") != first


def test_mask_personal_fields_returns_masked_copy_with_reference() -> None:
    application = {
        "applicant_name": "Amit Kumar",
        "pan": "ABCDE1234F",
        "aadhaar": "1234 5678 9012",
        "phone": "9876543210",
        "email": "arjun.kumar@domain",
        "cibil_score": 750,
    }
    original = dict(application)
    masked = mask_personal_fields(application)
    assert application == original  # not mutated
    assert masked == {
        "applicant_name": "A*** K****",
        "pan": "ABCDE****F",
        "aadhaar": "****-****-9012",
        "phone": "******3210",
        "email": "a****r@domain",
        "cibil_score": 750,
        "applicant_ref": hash_identity("pan", "ABCDE1234F"),
    }


def test_reference_falls_back_through_identifiers() -> None:
    assert applicant_reference({"aadhaar": "123456789012"}, key=KEY) == hash_identity(
        "aadhaar", "123456789012", key=KEY
    )
    assert applicant_reference({"applicant_id": "APP100001"}, key=KEY) == hash_identity(
        "applicant_id", "APP100001", key=KEY
    )
    assert applicant_reference({"cibil_score": 700}) is None
    assert mask_personal_fields({"cibil_score": 700}) == {"cibil_score": 700, "applicant_ref": None}


def test_non_string_personal_values_are_masked_not_kept() -> None:
    masked = mask_personal_fields({"pan": 1234567890, "phone": None})
    assert masked["pan"] == "********"
    assert masked["phone"] is None


def test_redact_text_removes_identity_numbers() -> None:
    text = "pan ABCDE1234F aadhaar 1234 5678 9012 phone +91 9876543210 mail a.b@example.com ok 750"
    redacted = redact_text(text)
    for secret in ("ABCDE1234F", "1234 5678 9012", "9876543210", "a.b@example.com"):
        assert secret not in redacted
    assert "[PAN]" in redacted and "[AADHAAR]" in redacted and "[PHONE]" in redacted
    assert "[EMAIL]" in redacted and "750" in redacted


def test_logging_filter_redacts_formatted_messages() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PersonalDataRedactingFilter())
    log = logging.getLogger("test_privacy.filter")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("applicant %s with %s", "ABCDE1234F", "x@example.org")
        log.warning({"structured": "kept as a dict"})
    finally:
        log.removeHandler(handler)
    output = stream.getvalue()
    assert "ABCDE1234F" not in output and "x@example.org" not in output
    assert "applicant [PAN] with [EMAIL]" in output
    assert "kept as a dict" in output


def test_the_personal_fields_are_the_engines_one_definition() -> None:
    from chalicelib import privacy
    from chalicelib.engine import APPLICATION_FIELDS

    assert tuple(n for n, s in APPLICATION_FIELDS.items() if s.personal) == privacy.PERSONAL_FIELDS
    assert "applicant_id" in privacy.PERSONAL_FIELDS
    # The session fields (device, IP) are personal data but say nothing about who the applicant is.
    assert set(privacy._REFERENCE_FIELDS) == set(privacy.PERSONAL_FIELDS) - {"device_id", "ip_address"}


def test_the_applicant_id_is_never_stored_in_clear() -> None:
    masked = mask_personal_fields({"applicant_id": "APP100001", "cibil_score": 700})
    assert masked["applicant_id"] == "*****0001"
    assert masked["applicant_ref"] == hash_identity("applicant_id", "APP100001")
    assert mask_identifier("A1") == "********"


def test_every_personal_field_is_masked_whatever_its_value() -> None:
    from chalicelib.engine import PERSONAL_FIELDS, validate_application

    identity = {
        "applicant_name": "अनन्या शर्मा",
        "applicant_id": "CUST-2026-77812",
        "pan": "ABCDE1234F",
        "aadhaar": "2345 6789 0123",
        "phone": "9876543210",
        "email": "ananya@example.in",
        "device_id": "android-7f3a9c2e",
        "ip_address": "203.0.113.77",
    }
    assert set(identity) == set(PERSONAL_FIELDS)
    payload = {**_application(), **identity}
    masked = mask_personal_fields(validate_application(payload))
    for field, value in identity.items():
        assert value not in str(masked[field]), field
