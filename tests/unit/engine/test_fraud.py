"""Fraud and velocity signals: the table over counts, what a flag does to a decision, the policy's
``fraud`` section and the new session fields' validation."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from engine_test_support import decide_v1, policy_with, strong_application

from chalicelib.engine import PolicyInvalid, ValidationFailed, validate_application
from chalicelib.engine.fraud import Submissions, local_hour, submission_flags
from chalicelib.engine.lending_policy import packaged_policy

# These tests give every submission its time (tests/conftest.py pins the hour for all others).
pytestmark = pytest.mark.lenders_hour_by_the_clock

FRAUD = packaged_policy().fraud
# 2026-12-01 12:00 IST (06:30 UTC): outside the odd hours, so only the counted rules can fire.
NOON_IST = int(dt.datetime(2026, 12, 1, 6, 30, tzinfo=dt.UTC).timestamp())
HOUR, DAY = 3600, 86400


def _times(count: int, *, every: int = 60, now: int = NOON_IST) -> list[int]:
    return [now - i * every for i in range(count)]


def _codes(submissions: Submissions) -> list[tuple[str, str]]:
    return [(f["code"], f["severity"]) for f in submission_flags(submissions, FRAUD)]


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (3, []),
        (4, [("FRD-PAN-REPEAT", "medium")]),
        (5, [("FRD-PAN-REPEAT", "medium")]),
        (6, [("FRD-PAN-REPEAT-HIGH", "high")]),
        (50, [("FRD-PAN-REPEAT-HIGH", "high")]),
    ],
)
def test_the_same_pan_more_than_3_times_a_day_is_medium_more_than_5_high(
    count: int, expected: list[tuple[str, str]]
) -> None:
    assert _codes(Submissions(NOON_IST, {"pan": _times(count)})) == expected


def test_a_count_is_over_the_sliding_window_only() -> None:
    # 10 submissions an hour apart: 4 in the last 4 hours, 10 in the day; a day and a second ago none.
    spread = _times(10, every=HOUR)
    assert _codes(Submissions(NOON_IST, {"aadhaar": spread})) == [("FRD-AADHAAR-REPEAT-HIGH", "high")]
    old = [t - DAY for t in spread]
    assert _codes(Submissions(NOON_IST, {"aadhaar": old})) == []
    [flag] = submission_flags(Submissions(NOON_IST, {"email": spread[:4]}), FRAUD)
    assert flag["evidence"] == {"count": 4, "window_seconds": DAY}


def test_five_applications_in_five_minutes_from_one_device_or_ip_is_critical() -> None:
    burst = _times(5, every=60)  # the oldest exactly 4 minutes ago
    assert _codes(Submissions(NOON_IST, {"device_id": burst})) == [("FRD-DEVICE-BURST", "critical")]
    assert _codes(Submissions(NOON_IST, {"ip_address": burst})) == [("FRD-IP-BURST", "critical")]
    assert _codes(Submissions(NOON_IST, {"ip_address": _times(5, every=75)})) == []  # 5 min: out


def test_a_reapplication_within_an_hour_of_a_decline_after_two_attempts_is_medium() -> None:
    three = _times(3, every=600)  # this one and two earlier attempts
    assert _codes(Submissions(NOON_IST, {"pan": three}, declined=[NOON_IST - 600])) == [
        ("FRD-REAPPLY-AFTER-DECLINE", "medium")
    ]
    assert _codes(Submissions(NOON_IST, {"pan": three[:2]}, declined=[NOON_IST - 600])) == []
    assert _codes(Submissions(NOON_IST, {"pan": three}, declined=[NOON_IST - 2 * HOUR])) == []


def test_the_hour_is_the_lenders_local_hour() -> None:
    # 21:45 UTC is 03:15 in India (UTC+05:30): an odd hour there, not in UTC.
    night_ist = int(dt.datetime(2026, 12, 1, 21, 45, tzinfo=dt.UTC).timestamp())
    assert local_hour(night_ist, 330) == 3
    assert _codes(Submissions(night_ist, {})) == [("FRD-ODD-HOURS", "low")]
    utc_lender = policy_with({"/fraud/utc_offset_minutes": 0}).fraud
    assert submission_flags(Submissions(night_ist, {}), utc_lender) == []


def test_unreadable_counters_flag_unchecked_high() -> None:
    assert _codes(Submissions(NOON_IST, {}, unchecked=True)) == [("FRD-UNCHECKED", "high")]


def test_a_high_flag_refers_an_approval_and_names_the_code_among_the_reasons() -> None:
    application = validate_application(strong_application(pan="ABCDE1234F"))
    plain = decide_v1(application)
    assert plain["outcome"] == "approved" and plain["risk_flags"] == []
    flagged = decide_v1(application, submissions=Submissions(NOON_IST, {"pan": _times(6)}))
    assert flagged["outcome"] == "manual_review" and flagged["decided_by"] == "policy"
    assert [r["code"] for r in flagged["reasons"]] == ["FRD-PAN-REPEAT-HIGH"]
    assert flagged["notice"] is not None and flagged["notice"]["kind"] == "review"
    assert flagged["risk_flags"] == [
        {"code": "FRD-PAN-REPEAT-HIGH", "severity": "high", "evidence": {"count": 6, "window_seconds": DAY}}
    ]
    # Nothing personal in the decision: the PAN appears nowhere in it.
    assert "ABCDE1234F" not in json.dumps(flagged)


def test_low_and_medium_flags_only_flag() -> None:
    application = validate_application(strong_application())
    flagged = decide_v1(application, submissions=Submissions(NOON_IST, {"phone": _times(4)}))
    assert flagged["outcome"] == "approved" and flagged["reasons"] == []
    assert [f["code"] for f in flagged["risk_flags"]] == ["FRD-PHONE-REPEAT"]


def test_a_fraud_signal_never_declines_and_never_adds_a_reason_to_a_decline() -> None:
    application = validate_application(strong_application(age=19))
    plain = decide_v1(application)
    assert plain["outcome"] == "declined"
    flagged = decide_v1(application, submissions=Submissions(NOON_IST, {"device_id": _times(9)}))
    assert flagged["outcome"] == "declined" and flagged["reasons"] == plain["reasons"]
    assert [f["code"] for f in flagged["risk_flags"]] == ["FRD-DEVICE-BURST"]


def test_the_one_application_rules_apply_without_counters() -> None:
    # 20 lakh on 15,000 a month is 133 times monthly income: high; FOIR declines it anyway (a loan of
    # 100 months' income has an instalment over the income at any tenure), and the flag adds no reason.
    big = decide_v1(validate_application(strong_application(monthly_income=15_000, loan_amount=2_000_000)))
    assert [(f["code"], f["evidence"]) for f in big["risk_flags"]] == [
        ("FRD-LOAN-TO-INCOME", {"value": 133.3, "limit": 100.0})
    ]
    assert big["outcome"] == "declined" and [r["code"] for r in big["reasons"]] == ["POL-FOIR-MAX"]
    low = decide_v1(validate_application(strong_application(monthly_income=14_000, loan_amount=600_000)))
    assert [(f["code"], f["severity"]) for f in low["risk_flags"]] == [
        ("FRD-LOW-INCOME-HIGH-AMOUNT", "medium")
    ]


def test_the_thresholds_and_severities_are_the_policy_documents() -> None:
    stricter = policy_with(
        {"/fraud/rules/FRD-PAN-REPEAT": {"severity": "critical", "at_least": 2, "window_seconds": 600}}
    )
    [flag] = submission_flags(Submissions(NOON_IST, {"pan": _times(2)}), stricter.fraud)
    assert flag == {
        "code": "FRD-PAN-REPEAT",
        "severity": "critical",
        "evidence": {"count": 2, "window_seconds": 600},
    }
    with pytest.raises(PolicyInvalid) as invalid:
        policy_with({"/fraud/rules/FRD-IP-BURST/severity": "block", "/fraud/utc_offset_minutes": 9999})
    assert {e["path"] for e in invalid.value.errors} == {
        "/fraud/rules/FRD-IP-BURST/severity",
        "/fraud/utc_offset_minutes",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("ip_address", "10.0.0.256"), ("ip_address", "::1::"), ("ip_address", 17), ("device_id", "../etc")],
)
def test_a_malformed_session_field_is_named(field: str, value: object) -> None:
    with pytest.raises(ValidationFailed) as failed:
        validate_application(strong_application(**{field: value}))
    assert [e["field"] for e in failed.value.errors] == [field]


def test_session_fields_are_accepted_and_an_ip_is_normalised() -> None:
    application = validate_application(
        strong_application(ip_address="2001:0db8:0000:0000:0000:0000:0000:0001", device_id="dev-42.a:b")
    )
    assert application["ip_address"] == "2001:db8::1" and application["device_id"] == "dev-42.a:b"
