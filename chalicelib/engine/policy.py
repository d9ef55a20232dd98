"""Policy rules of the original service that apply to the application's fields.

Severities: ``block`` (not eligible: declined before the score counts), ``fail`` (a strong policy
failure: declined), ``refer`` (never approved automatically: an approval becomes a manual review),
``warning`` (noted; three or more turn an approval into a manual review).

Added to the original's list: ``POL-DEFAULT-REFER``. The original bank approved none of the 355
applicants with a default on record, but those applicants also had weak credit scores, so the fitted
model gives a default only a moderate weight. The rule keeps a person in the loop for the case the data
never showed: a past default with an otherwise strong profile.

Not carried over: the original's "employed under 6 months" block. ``years_at_current_job`` is in
whole years (0 = under a year), so six months cannot be told apart from eleven; blocking every 0
would decline a third of applicants the original bank approved half of. The model prices short
tenure instead, and the suggestions cover "under a year".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.engine.features import affordability_ratios

BLOCK, FAIL, REFER, WARNING = "block", "fail", "refer", "warning"

MIN_AGE = 21
MAX_AGE_WITHOUT_WARNING = 65
MIN_MONTHLY_INCOME = 15_000
DTI_FAIL = 0.60
DTI_WARNING = 0.40
LOANS_FAIL = 5  # more than this many existing loans
LOANS_WARNING = 3  # this many or more
LOAN_TO_ANNUAL_INCOME_WARNING = 0.60
WARNINGS_FOR_REVIEW = 3  # this many warnings turn an approval into a manual review


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    factor: str  # the application field or affordability ratio the rule looks at
    description: str
    breached: Callable[[Mapping[str, Any], Mapping[str, float]], bool]
    message: Callable[[Mapping[str, Any], Mapping[str, float]], str]


RULES: tuple[Rule, ...] = (
    Rule(
        "POL-AGE-MIN",
        BLOCK,
        "age",
        f"Age at least {MIN_AGE}",
        lambda a, r: a["age"] < MIN_AGE,
        lambda a, r: f"Applicants must be at least {MIN_AGE} years old (age {a['age']}).",
    ),
    Rule(
        "POL-INCOME-MIN",
        BLOCK,
        "monthly_income",
        f"Monthly income at least INR {MIN_MONTHLY_INCOME:,}",
        lambda a, r: a["monthly_income"] < MIN_MONTHLY_INCOME,
        lambda a, r: (
            f"Monthly income must be at least INR {MIN_MONTHLY_INCOME:,} (INR {a['monthly_income']:,})."
        ),
    ),
    Rule(
        "POL-DTI-MAX",
        FAIL,
        "debt_to_income",
        f"Debt-to-income at most {DTI_FAIL:.0%}",
        lambda a, r: r["debt_to_income"] > DTI_FAIL,
        lambda a, r: (
            f"Existing debt payments take {r['debt_to_income']:.0%} of income; the limit is {DTI_FAIL:.0%}."
        ),
    ),
    Rule(
        "POL-LOANS-MAX",
        FAIL,
        "num_existing_loans",
        f"At most {LOANS_FAIL} existing loans",
        lambda a, r: a["num_existing_loans"] > LOANS_FAIL,
        lambda a, r: f"{a['num_existing_loans']} existing loans; at most {LOANS_FAIL} are accepted.",
    ),
    Rule(
        "POL-DEFAULT-REFER",
        REFER,
        "has_defaults",
        "No loan default on record",
        lambda a, r: bool(a["has_defaults"]),
        lambda a, r: "A past loan default is on record: a credit officer must review the application.",
    ),
    Rule(
        "POL-DTI-HIGH",
        WARNING,
        "debt_to_income",
        f"Debt-to-income at most {DTI_WARNING:.0%}",
        lambda a, r: DTI_WARNING < r["debt_to_income"] <= DTI_FAIL,
        lambda a, r: (
            f"Existing debt payments take {r['debt_to_income']:.0%} of income (over {DTI_WARNING:.0%})."
        ),
    ),
    Rule(
        "POL-LOANS-HIGH",
        WARNING,
        "num_existing_loans",
        f"Fewer than {LOANS_WARNING} existing loans",
        lambda a, r: LOANS_WARNING <= a["num_existing_loans"] <= LOANS_FAIL,
        lambda a, r: f"{a['num_existing_loans']} existing loans ({LOANS_WARNING} or more).",
    ),
    Rule(
        "POL-LOAN-INCOME",
        WARNING,
        "loan_to_annual_income",
        f"Loan at most {LOAN_TO_ANNUAL_INCOME_WARNING:.0%} of annual income",
        lambda a, r: r["loan_to_annual_income"] > LOAN_TO_ANNUAL_INCOME_WARNING,
        lambda a, r: (
            f"The loan is {r['loan_to_annual_income']:.0%} of annual income "
            f"(over {LOAN_TO_ANNUAL_INCOME_WARNING:.0%})."
        ),
    ),
    Rule(
        "POL-AGE-MAX",
        WARNING,
        "age",
        f"Age at most {MAX_AGE_WITHOUT_WARNING}",
        lambda a, r: a["age"] > MAX_AGE_WITHOUT_WARNING,
        lambda a, r: f"Applicant is over {MAX_AGE_WITHOUT_WARNING} (age {a['age']}); tenure is reviewed.",
    ),
)


@dataclass(frozen=True)
class PolicyResult:
    checks: list[dict[str, Any]]  # every rule: id, severity, factor, value, passed, message
    blocking: list[dict[str, Any]]  # breached block/fail rules
    warnings: list[dict[str, Any]]  # breached warnings
    referrals: list[dict[str, Any]]  # breached refer rules


def evaluate_policy(
    application: Mapping[str, Any], ratios: Mapping[str, float] | None = None
) -> PolicyResult:
    if ratios is None:
        ratios = affordability_ratios(application)
    checks: list[dict[str, Any]] = []
    blocking: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    referrals: list[dict[str, Any]] = []
    by_severity = {BLOCK: blocking, FAIL: blocking, REFER: referrals, WARNING: warnings}
    for rule in RULES:
        breached = rule.breached(application, ratios)
        value = ratios[rule.factor] if rule.factor in ratios else application[rule.factor]
        check = {
            "id": rule.id,
            "severity": rule.severity,
            "factor": rule.factor,
            "value": round(value, 4) if isinstance(value, float) else value,
            "passed": not breached,
            "message": rule.message(application, ratios) if breached else rule.description,
        }
        checks.append(check)
        if breached:
            by_severity[rule.severity].append(check)
    return PolicyResult(checks, blocking, warnings, referrals)


def count_breaches(application: Mapping[str, Any], ratios: Mapping[str, float]) -> tuple[int, int, int]:
    """(blocking, warnings, referrals) without messages: the fast path for counterfactual searches."""
    blocking = warnings = referrals = 0
    for rule in RULES:
        if rule.breached(application, ratios):
            if rule.severity == WARNING:
                warnings += 1
            elif rule.severity == REFER:
                referrals += 1
            else:
                blocking += 1
    return blocking, warnings, referrals
