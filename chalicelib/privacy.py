"""Personal data: masks for stored records, keyed hashes for identity numbers, log redaction.

Domain code (no AWS). Aadhaar is masked as UIDAI's own masked Aadhaar shows it: the first eight
digits hidden, the last four kept (``****-****-1234``; the "masked Aadhaar" option of e-Aadhaar,
https://myaadhaar.uidai.gov.in). The other fields follow the same rule, keep only what lets the
applicant recognise their own record: PAN ``ABCDE****F``, phone ``******3210``, email
``a****r@domain``, name ``A*** K****``; the caller's applicant id keeps only its last four
characters (``*****0001``).
Which fields are personal is defined once, by the engine's field specs (``PERSONAL_FIELDS``); a
personal field without a mask of its own here is fully masked, never stored in clear. A mask never
returns the raw value, whatever the input looks like: badly formed values are masked more
aggressively, never less.

Identity numbers are also hashed (HMAC-SHA256 with a service key, so that a leaked table cannot be
reversed by hashing every possible PAN or Aadhaar number, which a plain sha256 would allow). The key
comes from the environment variable ``PII_HASH_KEY``: the CloudFormation template generates one per
stage in Secrets Manager (``infra/functions.py``); only the local stack and tests fall back to the
development key (see ``pii_hash_key``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from collections.abc import Mapping

from chalicelib.engine.schema import PERSONAL_FIELDS

PII_HASH_KEY_ENV = "PII_HASH_KEY"
# Used only when PII_HASH_KEY is not set (local stack, tests). Hashes made with it are still
# unreadable in logs, but anyone who knows this constant can brute-force them: set the variable
# in every deployed stage.
DEVELOPMENT_PII_HASH_KEY = "loan-decisions-local-development-pii-key"

# Order of preference for the stable, non-reversible reference to an applicant.
_REFERENCE_FIELDS = ("pan", "aadhaar", "applicant_id", "email", "phone", "applicant_name")

_MASK = "*"
_PAN_PATTERN = re.compile(r"^[A-Z]{5}[0-9]{4}[A-Z]$")


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _fully_masked(value: str) -> str:
    # Same length as a typical value, never the real one: even the length is not kept.
    return _MASK * 8


def mask_pan(pan: str) -> str:
    """``ABCDE1234F`` -> ``ABCDE****F``; anything not shaped like a PAN is fully masked."""
    normalised = pan.strip().upper()
    if not _PAN_PATTERN.match(normalised):
        return _fully_masked(pan)
    return f"{normalised[:5]}{_MASK * 4}{normalised[-1]}"


def mask_aadhaar(aadhaar: str) -> str:
    """``1234 5678 9012`` -> ``****-****-9012`` (only the last four digits are kept)."""
    digits = _digits(aadhaar)
    if len(digits) != 12:
        return _fully_masked(aadhaar)
    return f"{_MASK * 4}-{_MASK * 4}-{digits[-4:]}"


def mask_phone(phone: str) -> str:
    """``9876543210`` -> ``******3210``; a country code (``+91``) is dropped, not kept."""
    digits = _digits(phone)
    if len(digits) < 8:
        return _fully_masked(phone)
    national = digits[-10:]
    return f"{_MASK * (len(national) - 4)}{national[-4:]}"


def mask_email(email: str) -> str:
    """``arjun.kumar@example.com`` -> ``a****r@example.com`` (first and last letter, fixed stars)."""
    local, at, domain = email.strip().rpartition("@")
    if not at or not local or not domain:
        return _fully_masked(email)
    if len(local) <= 2:
        return f"{local[0]}{_MASK * 4}@{domain}"
    return f"{local[0]}{_MASK * 4}{local[-1]}@{domain}"


def mask_identifier(identifier: str) -> str:
    """``APP100001`` -> ``*****0001``: the last four characters, and only of an id long enough that
    four characters do not give it away; shorter ids are fully masked."""
    text = identifier.strip()
    if len(text) < 8:
        return _fully_masked(identifier)
    return _MASK * (len(text) - 4) + text[-4:]


def mask_name(name: str) -> str:
    """``Amit Kumar`` -> ``A*** K****``: each word keeps its first letter."""
    words = name.split()
    if not words:
        return ""
    return " ".join(word[0] + _MASK * (len(word) - 1) for word in words)


_MASKS = {
    "applicant_name": mask_name,
    "applicant_id": mask_identifier,
    "pan": mask_pan,
    "aadhaar": mask_aadhaar,
    "phone": mask_phone,
    "email": mask_email,
}


def pii_hash_key() -> bytes:
    """The HMAC key for identity hashes: ``PII_HASH_KEY`` or the documented development key."""
    return os.environ.get(PII_HASH_KEY_ENV, DEVELOPMENT_PII_HASH_KEY).encode("utf-8")


def _canonical_identity(field: str, value: str) -> str:
    # The same person must hash the same however the number was typed.
    if field in ("aadhaar", "phone"):
        digits = _digits(value)
        return digits[-10:] if field == "phone" else digits
    if field in ("email",):
        return value.strip().lower()
    if field == "applicant_name":
        return " ".join(value.split()).lower()
    return value.strip().upper()


def hash_identity(field: str, value: str, *, key: bytes | None = None) -> str:
    """Keyed sha256 (HMAC) of an identity number, hex; the field name is part of the message so
    that a PAN and a phone number with the same characters never share a hash."""
    message = f"{field}:{_canonical_identity(field, value)}".encode()
    return hmac.new(key if key is not None else pii_hash_key(), message, hashlib.sha256).hexdigest()


def applicant_reference(application: Mapping[str, object], *, key: bytes | None = None) -> str | None:
    """A stable reference to the applicant (hash of the strongest identifier given), or None."""
    for field in _REFERENCE_FIELDS:
        value = application.get(field)
        if isinstance(value, str) and value.strip():
            return hash_identity(field, value, key=key)
    return None


def mask_personal_fields(application: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``application`` safe to store: personal fields masked, plus ``applicant_ref``
    (keyed sha256 of the strongest identifier, None when there is none). The input is not changed.
    Non-string personal values (which validation rejects anyway) are replaced by a full mask."""
    masked = dict(application)
    for field in PERSONAL_FIELDS:
        if field not in masked or masked[field] is None:
            continue
        value = masked[field]
        mask = _MASKS.get(field, _fully_masked)
        masked[field] = mask(value) if isinstance(value, str) else _fully_masked(str(value))
    masked["applicant_ref"] = applicant_reference(application)
    return masked


# --------------------------------------------------------------------------------------------
# Logs: a safety net. The code must not log personal fields in the first place; this filter
# redacts identity numbers that slip into a message anyway (names cannot be recognised by shape).
# --------------------------------------------------------------------------------------------
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[A-Za-z]{5}[0-9]{4}[A-Za-z]\b"), "[PAN]"),
    (re.compile(r"\b[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}\b"), "[AADHAAR]"),
    (re.compile(r"(?<![0-9])(?:\+?91[ -]?)?[6-9][0-9]{9}(?![0-9])"), "[PHONE]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[EMAIL]"),
)


def redact_text(text: str) -> str:
    """Replace anything shaped like a PAN, Aadhaar number, Indian mobile number or email."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class PersonalDataRedactingFilter(logging.Filter):
    """Logging filter that redacts identity numbers from the formatted message of every record.

    Attach to a handler or logger (``logger.addFilter(PersonalDataRedactingFilter())``; Powertools'
    Logger forwards ``addFilter`` to its standard logger). It never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Structured messages (Powertools logs dicts) keep their shape; only text is rewritten.
        if isinstance(record.msg, str):
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a malformed format string: redact what we have
                message = str(record.msg)
            record.msg = redact_text(message)
            record.args = None
        return True
