"""Shared helpers for the engine tests: the training rows parsed exactly as the service would, sample
applications, and the hypothesis strategy of valid applications."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from chalicelib.engine import Policy, decide, load_policy, packaged_version, validate_application
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from chalicelib.engine.policy import BLOCK, FAIL, REFER, RULE_SPECS, WARNING
from chalicelib.engine.schema import APPLICATION_FIELDS, FieldSpec, parse_csv_row
from chalicelib.engine.types import Decision
from tests.support.samples import strong_application as strong_application

DECISION_DATE = dt.date(2026, 12, 1)
MODEL, POLICY = packaged_version()  # the shipped model artifact and lending-policy version 1
SEVERITIES = (BLOCK, FAIL, REFER, WARNING)
BAND_BELOW = {spec.id: spec.band_below for spec in RULE_SPECS}  # band rule -> the rule above its band
DECIDING = frozenset((BLOCK, FAIL, REFER))  # failed rules of these severities must be reasons
# Property tests: derandomised (reproducible in CI) and a few seconds each.
PROPERTIES = settings(
    max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

PROJECT_DIR = Path(__file__).resolve().parents[3]
TRAINING_CSV = PROJECT_DIR / "data" / "loan_applications.csv"


@functools.cache
def training_rows() -> tuple[tuple[dict[str, Any], int], ...]:
    with TRAINING_CSV.open(newline="", encoding="utf-8") as handle:
        return tuple((parse_csv_row(row), int(row["loan_approved"])) for row in csv.DictReader(handle))


# A middling applicant: short job and credit history, some existing debt.
MIDDLING = {
    "age": 26,
    "years_at_current_job": 1,
    "credit_history_years": 2,
    "existing_emi": 15_000,
    "num_existing_loans": 1,
    "monthly_income": 60_000,
}


@functools.cache
def _policy_v1_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    return document


def policy_v1_document() -> dict[str, Any]:
    """A fresh copy of the lending-policy version 1 document (edit it freely)."""
    return copy.deepcopy(_policy_v1_document())


def edited(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``document`` with each JSON pointer in ``changes`` set to its value (``"/a/b": 1``)."""
    for path, value in changes.items():
        *parents, last = [token.replace("~1", "/").replace("~0", "~") for token in path.split("/")[1:]]
        node = document
        for token in parents:
            node = node[int(token)] if isinstance(node, list) else node[token]
        node[last] = value
    return document


def policy_with(changes: dict[str, Any]) -> Policy:
    """Version 1 with ``changes`` (JSON pointer -> value), checked and loaded as any document is."""
    return load_policy(edited(policy_v1_document(), changes))


def decide_v1(application: Any, policy: Policy = POLICY, **options: Any) -> Decision:
    """``decide`` with the packaged model and ``policy`` (default: version 1)."""
    return decide(application, MODEL, policy, **options)


def decided(**changes: Any) -> Decision:
    """The decision on ``strong_application(**changes)``, validated first as the API does."""
    return decide_v1(validate_application(strong_application(**changes)), decided_on=DECISION_DATE)


def failed_rule_ids(result: Decision, severities: frozenset[str] = frozenset(SEVERITIES)) -> list[str]:
    """The rules the decision breached: checks not passed, except a band rule above its band (its
    harder rule failed and decided instead)."""
    not_passed = {c["id"] for c in result["policy"] if not c["passed"]}
    return [
        c["id"]
        for c in result["policy"]
        if c["id"] in not_passed and BAND_BELOW[c["id"]] not in not_passed and c["severity"] in severities
    ]


def applied(application: dict[str, Any], **changes: Any) -> Decision:
    return decide_v1({**application, **changes}, decided_on=DECISION_DATE)


# Generated valid applications: every field from its spec, with the money fields drawn on realistic
# scales (income, loan and EMIs that make FOIR land anywhere from low to far over the limit).
def _field_strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.choices:
        return st.sampled_from(spec.choices)
    if spec.kind == "boolean":
        return st.booleans()
    assert spec.minimum is not None and spec.maximum is not None
    return st.one_of(
        st.integers(spec.minimum, min(spec.maximum, max(spec.minimum, 1) * 1000)),
        st.integers(spec.minimum, spec.maximum),
    )


_WIDE = {
    "age": st.integers(18, 80),
    "monthly_income": st.integers(5_000, 400_000),
    "cibil_score": st.integers(300, 900),
    "num_existing_loans": st.integers(0, 8),
    "late_payments_last_2_years": st.integers(0, 10),
    "years_at_current_job": st.integers(0, 30),
    "credit_history_years": st.integers(0, 30),
    "savings_balance": st.integers(0, 3_000_000),
    "years_with_bank": st.integers(0, 30),
    "num_dependents": st.integers(0, 6),
}
# Profiles like the bank's approved applicants, so approvals, referrals and counteroffers are common.
_TYPICAL = {
    **_WIDE,
    "age": st.integers(24, 60),
    "monthly_income": st.integers(25_000, 250_000),
    "cibil_score": st.integers(650, 850),
    "num_existing_loans": st.integers(0, 3),
    "late_payments_last_2_years": st.integers(0, 2),
    "years_at_current_job": st.integers(1, 15),
    "credit_history_years": st.integers(2, 20),
    "has_defaults": st.just(False),
}


@st.composite
def valid_applications(draw: st.DrawFn) -> dict[str, Any]:
    """Half wide (anything valid, money on realistic scales), half typical applicants; the loan is a
    multiple of annual income and the existing EMIs a share of income, so FOIR spans both sides of
    every limit."""
    scales = _TYPICAL if draw(st.booleans()) else _WIDE
    application = {
        name: draw(scales[name] if name in scales else _field_strategy(spec))
        for name, spec in APPLICATION_FIELDS.items()
        if spec.required and name not in ("existing_emi", "loan_amount")
    }
    income = application["monthly_income"]
    application["existing_emi"] = int(income * draw(st.sampled_from([0, 0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.7])))
    annual_share = draw(st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]))
    application["loan_amount"] = max(1_000, int(12 * income * annual_share))
    return application
