"""The lending policy as a versioned document: every number a decision uses besides the model's.

``lending_policy_v1.json`` (beside this module) is version 1, the policy the service shipped with;
``lending_policy.schema.json`` is its JSON Schema. :func:`load_policy` checks a document against the
schema and the cross-field constraints a schema cannot state (the review band below the approve
threshold, each band rule below its harder rule), naming every offending path as a JSON pointer, and
turns it into an immutable typed :class:`Policy` once. The engine reads a policy only from the
``Policy`` it is given.

A policy is addressed by the SHA-256 of its canonical JSON (``artifact.canonical_json``: sorted keys,
no spaces, UTF-8), the same canonical form as the model artifact.
"""

from __future__ import annotations

import functools
import hashlib
import json
import typing
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from chalicelib.engine.artifact import canonical_json
from chalicelib.engine.fraud import IDENTITY_SIGNALS, CountRule, FraudPolicy
from chalicelib.engine.json_schema import SchemaError, schema_errors
from chalicelib.engine.policy import RULE_SPECS, Rule, RuleLimits, bind_rules
from chalicelib.engine.types import (
    APPROVED,
    DECLINED,
    MANUAL_REVIEW,
    SEVERITIES,
    FraudSeverity,
    Outcome,
    Severity,
)

POLICY_V1_PATH = Path(__file__).with_name("lending_policy_v1.json")
POLICY_SCHEMA_PATH = Path(__file__).with_name("lending_policy.schema.json")


class PolicyInvalid(Exception):
    """A policy document failed its schema or a cross-field check; ``errors`` names each path once
    per problem: ``{"path": JSON pointer, "problem": text}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("invalid policy: " + "; ".join(f"{e['path'] or '/'} {e['problem']}" for e in errors))
        self.errors = errors


class Bands(NamedTuple):
    """Probability bands: >= approve -> approved, >= review -> manual review, else declined.

    An approval within ``low_confidence_margin`` of the approve threshold is low-confidence and goes to
    manual review.
    """

    approve: float
    review: float
    low_confidence_margin: float

    def model_outcome(self, probability: float) -> Outcome:
        if probability >= self.approve + self.low_confidence_margin:
            return APPROVED
        return MANUAL_REVIEW if probability >= self.review else DECLINED


class CounterofferTerms(NamedTuple):
    loan_step: int  # counteroffer amounts are multiples of this
    min_loan_amount: int  # ... and at least this
    max_tenure_months: int  # the longest tenure a counteroffer (or the quick check) may assume


class ReapplyAfter(NamedTuple):
    """Months until re-applying, by the suggestions' priorities (the original's timeline)."""

    default: int
    one_high: int
    two_or_more_high: int
    any_critical: int


class SuggestionTargets(NamedTuple):
    min_probability_gain: float
    credit_score_target: int
    income_multiple_limit: int
    income_target_divisor: int
    savings_target_share: float
    reapply_after: ReapplyAfter


class Policy(NamedTuple):
    """One lending-policy version, checked and typed (``load_policy``); never changed after loading."""

    policy_id: str
    version: str
    sha256: str  # of the document's canonical JSON
    bands: Bands
    limits: RuleLimits
    rules: tuple[Rule, ...]  # the rule table with this policy's limits and severities, in table order
    warnings_for_review: int
    base_annual_rate: float
    rate_card: Mapping[str, float]  # risk band -> annual rate (read-only)
    lowest_annual_rate: float
    counteroffer: CounterofferTerms
    suggestions: SuggestionTargets
    min_months_employed: int  # the quick eligibility check's employment criterion
    second_approval_above_amount: int  # review desk: a reviewer's approval above it needs a manager
    fraud: FraudPolicy  # fraud and velocity signals' thresholds and severities

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)


@functools.cache
def policy_schema() -> Mapping[str, Any]:
    """The JSON Schema of a policy document (read once)."""
    schema: dict[str, Any] = json.loads(POLICY_SCHEMA_PATH.read_text(encoding="utf-8"))
    return MappingProxyType(schema)


def policy_sha256(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(document))).hexdigest()


def _cross_field_errors(document: Mapping[str, Any]) -> list[SchemaError]:
    """What the schema cannot say: the order of the bands and of each band rule below its harder rule."""
    errors: list[SchemaError] = []
    bands = document["bands"]
    if bands["review"] > bands["approve"]:
        errors.append(
            SchemaError("/bands/review", f"must be at most the approve threshold ({bands['approve']})")
        )
    rules = document["rules"]
    for spec in RULE_SPECS:
        if spec.band_below is None:
            continue
        own, harder = rules[spec.id]["limit"], rules[spec.band_below]["limit"]
        if own > harder:
            errors.append(
                SchemaError(
                    f"/rules/{spec.id}/limit",
                    f"must be at most {spec.band_below}'s limit ({harder}): it is a band below it",
                )
            )
    return errors


_LIMIT_TYPES: dict[str, Any] = typing.get_type_hints(RuleLimits)  # int limits print as 21, not 21.0


def _limits(rules: Mapping[str, Any]) -> RuleLimits:
    values: dict[str, Any] = {}
    for spec in RULE_SPECS:
        if spec.limit is not None:
            limit = rules[spec.id]["limit"]
            values[spec.limit] = int(limit) if _LIMIT_TYPES[spec.limit] is int else float(limit)
    return RuleLimits(**values)


def _severities(rules: Mapping[str, Any]) -> dict[str, Severity]:
    """Each rule's severity, typed (the schema has checked each is one of ``SEVERITIES``)."""
    return {rule_id: next(s for s in SEVERITIES if s == rule["severity"]) for rule_id, rule in rules.items()}


_FRAUD_SEVERITIES: tuple[FraudSeverity, ...] = ("low", "medium", "high", "critical")
# Which signal each count rule counts (the document gives the numbers, the code the meaning).
_COUNT_RULE_SIGNALS = {
    **{f"FRD-{s.upper()}-REPEAT": s for s in IDENTITY_SIGNALS},
    **{f"FRD-{s.upper()}-REPEAT-HIGH": s for s in IDENTITY_SIGNALS},
    "FRD-DEVICE-BURST": "device_id",
    "FRD-IP-BURST": "ip_address",
}


def _fraud_severity(rule: Mapping[str, Any]) -> FraudSeverity:
    return next(s for s in _FRAUD_SEVERITIES if s == rule["severity"])


def _count_rule(code: str, signal: str, rule: Mapping[str, Any]) -> CountRule:
    return CountRule(code, signal, _fraud_severity(rule), int(rule["at_least"]), int(rule["window_seconds"]))


def _fraud_policy(section: Mapping[str, Any]) -> FraudPolicy:
    rules = section["rules"]
    count_rules = sorted(
        (_count_rule(code, signal, rules[code]) for code, signal in _COUNT_RULE_SIGNALS.items()),
        key=lambda rule: rule.at_least,  # tiers of one signal lowest first: the highest one met wins
    )
    loan, low, hours = (
        rules["FRD-LOAN-TO-INCOME"],
        rules["FRD-LOW-INCOME-HIGH-AMOUNT"],
        rules["FRD-ODD-HOURS"],
    )
    return FraudPolicy(
        utc_offset_minutes=int(section["utc_offset_minutes"]),
        count_rules=tuple(count_rules),
        reapply=_count_rule("FRD-REAPPLY-AFTER-DECLINE", "reapply", rules["FRD-REAPPLY-AFTER-DECLINE"]),
        loan_to_income_limit=float(loan["limit"]),
        loan_to_income_severity=_fraud_severity(loan),
        low_income_below=int(low["income_below"]),
        low_income_amount_above=int(low["amount_above"]),
        low_income_severity=_fraud_severity(low),
        odd_hours=(int(hours["from_hour"]), int(hours["to_hour"])),
        odd_hours_severity=_fraud_severity(hours),
        unchecked_severity=_fraud_severity(rules["FRD-UNCHECKED"]),
    )


def load_policy(document: object) -> Policy:
    """Check ``document`` (parsed JSON) and build its ``Policy``; raises ``PolicyInvalid`` naming every
    offending path (JSON pointer) and problem."""
    problems = schema_errors(policy_schema(), document)
    if not problems and isinstance(document, dict):  # the schema holds, so it is an object
        problems = _cross_field_errors(document)
    if problems or not isinstance(document, dict):
        raise PolicyInvalid([{"path": p.path, "problem": p.problem} for p in problems])
    doc: Mapping[str, Any] = document
    limits = _limits(doc["rules"])
    premiums = doc["rate_card"]["risk_premiums"]
    base_rate = float(doc["rate_card"]["base_annual_rate"])
    rate_card = {band: round(base_rate + float(premium), 4) for band, premium in premiums.items()}
    offer, targets = doc["counteroffer"], doc["suggestions"]
    reapply = targets["reapply_after_months"]
    return Policy(
        policy_id=doc["policy_id"],
        version=doc["version"],
        sha256=policy_sha256(doc),
        bands=Bands(
            float(doc["bands"]["approve"]),
            float(doc["bands"]["review"]),
            float(doc["bands"]["low_confidence_margin"]),
        ),
        limits=limits,
        rules=bind_rules(limits, _severities(doc["rules"])),
        warnings_for_review=int(doc["warnings_for_review"]),
        base_annual_rate=base_rate,
        rate_card=MappingProxyType(rate_card),
        lowest_annual_rate=min(rate_card.values()),
        counteroffer=CounterofferTerms(
            int(offer["loan_step"]), int(offer["min_loan_amount"]), int(offer["max_tenure_months"])
        ),
        suggestions=SuggestionTargets(
            min_probability_gain=float(targets["min_probability_gain"]),
            credit_score_target=int(targets["credit_score_target"]),
            income_multiple_limit=int(targets["income_multiple_limit"]),
            income_target_divisor=int(targets["income_target_divisor"]),
            savings_target_share=float(targets["savings_target_share"]),
            reapply_after=ReapplyAfter(
                int(reapply["default"]),
                int(reapply["one_high"]),
                int(reapply["two_or_more_high"]),
                int(reapply["any_critical"]),
            ),
        ),
        min_months_employed=int(doc["quick_eligibility"]["min_months_employed"]),
        second_approval_above_amount=int(doc["review_desk"]["second_approval_above_amount"]),
        fraud=_fraud_policy(doc["fraud"]),
    )


def read_policy(path: Path) -> Policy:
    """The policy document at ``path``, loaded (``PolicyInvalid`` if it fails its checks)."""
    return load_policy(json.loads(path.read_text(encoding="utf-8")))


@functools.cache
def packaged_policy() -> Policy:
    """Policy version 1, shipped in the package: read and checked on first use, then shared."""
    return read_policy(POLICY_V1_PATH)
