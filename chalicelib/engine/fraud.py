"""Fraud and velocity signals: a pure table of rules over counts (no AWS, no clock, no personal data).

The original service raised these alerts on every submission; this table carries them over, with
each rule's thresholds and severity in the lending-policy document (``fraud``), so they are versioned
with the rest of the policy:

- the same PAN, Aadhaar, phone or e-mail (keyed hashes, counted by the service) more than 3 times in
  24 hours: medium; more than 5: high (``FRD-<IDENTITY>-REPEAT`` / ``-REPEAT-HIGH``: ``at_least`` 4
  and 6, this application included);
- 5 or more applications in 5 minutes from one device or IP address (``FRD-DEVICE-BURST``,
  ``FRD-IP-BURST``): critical;
- a re-application within an hour of a declined one, after 2 or more earlier attempts
  (``FRD-REAPPLY-AFTER-DECLINE``): medium;
- a loan over 100 times monthly income (``FRD-LOAN-TO-INCOME``): high;
- monthly income under 15,000 asking for more than 5 lakh (``FRD-LOW-INCOME-HIGH-AMOUNT``): medium;
- submitted between 01:00 and 05:00 in the lender's time zone (``FRD-ODD-HOURS``): low;
- the counters could not be read or written (``FRD-UNCHECKED``): high, so an unchecked application is
  referred, never approved blind.

The original's rejection-rate spike is a property of the stream, not of one application: it is a
metric and an alarm (``resources.ALARM_THRESHOLDS``), not a rule here.

What a flag does (``refers``): high and critical send an approval to manual review (the ``FRD-*`` code
among the reasons); low and medium only flag. A fraud signal never declines.

A flag's evidence is counts and windows (or the ratio or hour that fired), never an identity value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from chalicelib.engine.types import FraudSeverity, Reason, RiskFlag

SEVERITY_RANK: Mapping[FraudSeverity, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
REFERRING: frozenset[FraudSeverity] = frozenset(("high", "critical"))
# The identity fields counted per client (keyed HMAC, see chalicelib.privacy) and the fields the
# lender passes about the applicant's session.
IDENTITY_SIGNALS: Final = ("pan", "aadhaar", "phone", "email")
SESSION_SIGNALS: Final = ("device_id", "ip_address")
COUNTED_SIGNALS: Final = IDENTITY_SIGNALS + SESSION_SIGNALS
UNCHECKED: Final = "FRD-UNCHECKED"
# Every code a flag can carry (the policy document's fraud.rules has exactly these keys).
FRAUD_CODES: Final = (
    *(f"FRD-{s.upper()}-REPEAT{tier}" for s in IDENTITY_SIGNALS for tier in ("", "-HIGH")),
    "FRD-DEVICE-BURST",
    "FRD-IP-BURST",
    "FRD-REAPPLY-AFTER-DECLINE",
    "FRD-LOAN-TO-INCOME",
    "FRD-LOW-INCOME-HIGH-AMOUNT",
    "FRD-ODD-HOURS",
    UNCHECKED,
)


class CountRule(NamedTuple):
    """Flag when at least ``at_least`` submissions of one signal fall in the last ``window_seconds``."""

    code: str
    signal: str  # a COUNTED_SIGNALS name, or "reapply"
    severity: FraudSeverity
    at_least: int
    window_seconds: int


class FraudPolicy(NamedTuple):
    """The ``fraud`` section of a policy document, typed (``lending_policy.load_policy``)."""

    utc_offset_minutes: int
    count_rules: tuple[CountRule, ...]  # in document order; tiers of one signal, lowest first
    reapply: CountRule
    loan_to_income_limit: float
    loan_to_income_severity: FraudSeverity
    low_income_below: int
    low_income_amount_above: int
    low_income_severity: FraudSeverity
    odd_hours: tuple[int, int]  # [from, to) local hours
    odd_hours_severity: FraudSeverity
    unchecked_severity: FraudSeverity

    def window_seconds(self) -> int:
        """The longest window any count rule looks back over (how long a counter must be kept)."""
        return max(rule.window_seconds for rule in (*self.count_rules, self.reapply))


class Submissions(NamedTuple):
    """What the counters saw for one application, as epoch seconds (this application included).

    ``seen``: per counted signal present on the application, the times of this client's submissions
    with the same value; ``declined``: times of the same applicant's earlier declined applications;
    ``unchecked``: the counters could not be read or written (then ``seen`` is empty)."""

    now: int
    seen: Mapping[str, Sequence[int]]
    declined: Sequence[int] = ()
    unchecked: bool = False


def _flag(code: str, severity: FraudSeverity, **evidence: int | float) -> RiskFlag:
    return {"code": code, "severity": severity, "evidence": evidence}  # type: ignore[typeddict-item]


def _in_window(times: Sequence[int], now: int, window_seconds: int) -> int:
    return sum(1 for t in times if now - window_seconds < t <= now)


def application_flags(application: Mapping[str, object], policy: FraudPolicy) -> list[RiskFlag]:
    """The one-application rules: what the application alone says (deterministic, cacheable)."""
    flags: list[RiskFlag] = []
    income = application["monthly_income"]
    amount = application["loan_amount"]
    assert isinstance(income, int) and isinstance(amount, int)  # a validated application
    if amount > policy.loan_to_income_limit * income:  # income 0 asking anything is over any multiple
        multiple = round(amount / income, 1) if income else float(amount)
        flags.append(
            _flag(
                "FRD-LOAN-TO-INCOME",
                policy.loan_to_income_severity,
                value=multiple,
                limit=policy.loan_to_income_limit,
            )
        )
    if income < policy.low_income_below and amount > policy.low_income_amount_above:
        flags.append(
            _flag(
                "FRD-LOW-INCOME-HIGH-AMOUNT", policy.low_income_severity, limit=policy.low_income_amount_above
            )
        )
    return flags


def local_hour(now: int, utc_offset_minutes: int) -> int:
    return (dt.datetime.fromtimestamp(now, dt.UTC) + dt.timedelta(minutes=utc_offset_minutes)).hour


def submission_flags(submissions: Submissions, policy: FraudPolicy) -> list[RiskFlag]:
    """The rules over counts and the submission time: at most one flag per signal (its highest tier)."""
    if submissions.unchecked:
        flags = [_flag(UNCHECKED, policy.unchecked_severity)]
    else:
        flags = []
        by_signal: dict[str, RiskFlag] = {}
        for rule in policy.count_rules:
            times = submissions.seen.get(rule.signal, ())
            count = _in_window(times, submissions.now, rule.window_seconds)
            known = by_signal.get(rule.signal)
            if count >= rule.at_least and (
                known is None or SEVERITY_RANK[rule.severity] >= SEVERITY_RANK[known["severity"]]
            ):
                by_signal[rule.signal] = _flag(
                    rule.code, rule.severity, count=count, window_seconds=rule.window_seconds
                )
        flags.extend(by_signal.values())
        reapply = policy.reapply
        declined = _in_window(submissions.declined, submissions.now, reapply.window_seconds)
        earlier = max(
            (
                _in_window(submissions.seen.get(s, ()), submissions.now, reapply.window_seconds) - 1
                for s in IDENTITY_SIGNALS
            ),
            default=0,
        )
        if declined and earlier >= reapply.at_least:
            flags.append(
                _flag(reapply.code, reapply.severity, count=earlier, window_seconds=reapply.window_seconds)
            )
    start, end = policy.odd_hours
    hour = local_hour(submissions.now, policy.utc_offset_minutes)
    if start <= hour < end:
        flags.append(_flag("FRD-ODD-HOURS", policy.odd_hours_severity, value=hour))
    return flags


def refers(flags: Sequence[RiskFlag]) -> bool:
    """Whether the flags send an approval to manual review (any high or critical)."""
    return any(flag["severity"] in REFERRING for flag in flags)


_REASON_TEXT = {
    "FRD-LOAN-TO-INCOME": "The loan is unusually large for the stated income: a credit officer verifies it.",
    UNCHECKED: "Repeated submissions could not be checked: a credit officer verifies the application.",
}
_DEFAULT_REASON_TEXT = "Unusual application activity: a credit officer verifies the application."


def fraud_reasons(flags: Sequence[RiskFlag]) -> list[Reason]:
    """The referring flags as reasons, most severe first (no personal data, no counts in the text)."""
    referring = sorted(
        (flag for flag in flags if flag["severity"] in REFERRING), key=lambda f: -SEVERITY_RANK[f["severity"]]
    )
    return [
        {
            "code": flag["code"],
            "factor": "fraud_signal",
            "value": flag["severity"],
            "text": _REASON_TEXT.get(flag["code"], _DEFAULT_REASON_TEXT),
            "points_lost": None,
        }
        for flag in referring
    ]


def sorted_flags(flags: Sequence[RiskFlag]) -> list[RiskFlag]:
    """Most severe first, then by code: one order for every decision."""
    return sorted(flags, key=lambda f: (-SEVERITY_RANK[f["severity"]], f["code"]))
