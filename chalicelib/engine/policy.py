"""Policy rules: a table (``RULE_SPECS``) of what the product's lending policy requires of an application.

The table is code; its numbers (each rule's ``limit`` and ``severity``) come from the lending-policy
document (``lending_policy``): :func:`bind_rules` gives a policy's rules, and a decision reads the
rules of the policy it is given.

Severities: ``block`` (not eligible: declined before the score counts), ``fail`` (a strong policy
failure: declined), ``refer`` (never approved automatically: an approval becomes a manual review),
``warning`` (noted; three or more turn an approval into a manual review).

Added to the original's list:

- ``POL-FOIR-MAX`` / ``POL-FOIR-REVIEW``: the fixed-obligation-to-income ratio (existing EMIs plus the
  new loan's EMI, priced by the rate card in ``pricing``, over monthly income). This product's lending
  policy: over ``POL-FOIR-MAX``'s limit (60% in version 1) declines, over ``POL-FOIR-REVIEW``'s (50%)
  goes to a credit officer; Indian lenders commonly cap FOIR at 50-60%. The original bank's labels
  never looked at the new loan's instalment, so the model cannot have learned it: only a rule can stop
  an approval the applicant cannot repay.
- ``POL-DEFAULT-REFER``. The original bank approved none of the 355 applicants with a default on
  record, but those applicants also had weak credit scores, so the fitted model gives a default only a
  moderate weight. The rule keeps a person in the loop for the case the data never showed: a past
  default with an otherwise strong profile.

Not carried over: the original's "employed under 6 months" block. ``years_at_current_job`` is in
whole years (0 = under a year), so six months cannot be told apart from eleven; blocking every 0
would decline a third of applicants the original bank approved half of. The model prices short
tenure instead, and the suggestions cover "under a year".

Each rule names the application ``fields`` it depends on, so the quick eligibility check can apply
exactly the rules its fields determine.

Band rules (``POL-FOIR-REVIEW``, ``POL-DTI-HIGH``, ``POL-LOANS-HIGH``) cover the band between their own
limit and a harder rule's (``band_below``). Above the band the harder rule decides and the band rule is
not counted again (no second reason for the same ratio), but its check does not read "passed" either:
a FOIR of 137% is not "at most 50%". The check says ``passed: false`` and names the rule that decided.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from chalicelib.engine.types import Application, PolicyCheck, Severity, field_values

BLOCK: Final = "block"
FAIL: Final = "fail"
REFER: Final = "refer"
WARNING: Final = "warning"
DECLINING: frozenset[Severity] = frozenset((BLOCK, FAIL))  # severities that decline on their own

_INSTALMENT_FIELDS = ("monthly_income", "existing_emi", "loan_amount", "loan_tenure_months")


class RuleLimits(NamedTuple):
    """Every rule's number, by name (the document sets each as its rule's ``limit``)."""

    min_age: int
    min_monthly_income: int
    max_debt_to_income: float
    max_foir: float
    max_existing_loans: int
    foir_review_above: float
    debt_to_income_warning_above: float
    existing_loans_warning_from: int
    loan_to_annual_income_warning_above: float
    age_warning_above: int


Ratios = Mapping[str, float]


class RuleSpec(NamedTuple):
    """A rule of the table: what it looks at and how; ``limit`` names its number in ``RuleLimits``."""

    id: str
    factor: str  # the application field or ratio the rule looks at (a reason names it)
    fields: tuple[str, ...]  # the application fields the rule's outcome depends on
    limit: str | None  # the RuleLimits field the document's ``rules.<id>.limit`` sets (None: no number)
    description: Callable[[RuleLimits], str]
    breached: Callable[[RuleLimits, Application, Ratios], bool]
    message: Callable[[RuleLimits, Application, Ratios], str]
    band_below: str | None = None  # band rules: the id of the rule that decides above the band


class Rule(NamedTuple):
    """A rule with one policy's numbers and severity bound in (``bind_rules``)."""

    id: str
    severity: Severity
    factor: str
    fields: tuple[str, ...]
    description: str
    breached: Callable[[Application, Ratios], bool]
    message: Callable[[Application, Ratios], str]
    band_below: str | None


RULE_SPECS: tuple[RuleSpec, ...] = (  # table order is reason order: declining, referring, warning
    RuleSpec(
        "POL-AGE-MIN",
        "age",
        ("age",),
        "min_age",
        lambda x: f"Age at least {x.min_age}",
        lambda x, a, r: a["age"] < x.min_age,
        lambda x, a, r: f"Applicants must be at least {x.min_age} years old (age {a['age']}).",
    ),
    RuleSpec(
        "POL-INCOME-MIN",
        "monthly_income",
        ("monthly_income",),
        "min_monthly_income",
        lambda x: f"Monthly income at least INR {x.min_monthly_income:,}",
        lambda x, a, r: a["monthly_income"] < x.min_monthly_income,
        lambda x, a, r: (
            f"Monthly income must be at least INR {x.min_monthly_income:,} (INR {a['monthly_income']:,})."
        ),
    ),
    RuleSpec(
        "POL-DTI-MAX",
        "debt_to_income",
        ("monthly_income", "existing_emi"),
        "max_debt_to_income",
        lambda x: f"Debt-to-income at most {x.max_debt_to_income:.0%}",
        lambda x, a, r: r["debt_to_income"] > x.max_debt_to_income,
        lambda x, a, r: (
            f"Existing debt payments take {r['debt_to_income']:.0%} of income; "
            f"the limit is {x.max_debt_to_income:.0%}."
        ),
    ),
    RuleSpec(
        "POL-FOIR-MAX",
        "foir",
        _INSTALMENT_FIELDS,
        "max_foir",
        lambda x: f"All instalments incl. the new loan (FOIR) at most {x.max_foir:.0%} of income",
        lambda x, a, r: r["foir"] > x.max_foir,
        lambda x, a, r: (
            f"With the new loan's instalment, all instalments would take {r['foir']:.0%} of income; "
            f"the limit is {x.max_foir:.0%}."
        ),
    ),
    RuleSpec(
        "POL-LOANS-MAX",
        "num_existing_loans",
        ("num_existing_loans",),
        "max_existing_loans",
        lambda x: f"At most {x.max_existing_loans} existing loans",
        lambda x, a, r: a["num_existing_loans"] > x.max_existing_loans,
        lambda x, a, r: (
            f"{a['num_existing_loans']} existing loans; at most {x.max_existing_loans} are accepted."
        ),
    ),
    RuleSpec(
        "POL-DEFAULT-REFER",
        "has_defaults",
        ("has_defaults",),
        None,
        lambda x: "No loan default on record",
        lambda x, a, r: bool(a["has_defaults"]),
        lambda x, a, r: "A past loan default is on record: a credit officer must review the application.",
    ),
    RuleSpec(
        "POL-FOIR-REVIEW",
        "foir",
        _INSTALMENT_FIELDS,
        "foir_review_above",
        lambda x: f"All instalments incl. the new loan (FOIR) at most {x.foir_review_above:.0%} of income",
        lambda x, a, r: x.foir_review_above < r["foir"] <= x.max_foir,
        lambda x, a, r: (
            f"With the new loan's instalment, all instalments would take {r['foir']:.0%} of income "
            f"(over {x.foir_review_above:.0%}): a credit officer must review the application."
        ),
        band_below="POL-FOIR-MAX",
    ),
    RuleSpec(
        "POL-DTI-HIGH",
        "debt_to_income",
        ("monthly_income", "existing_emi"),
        "debt_to_income_warning_above",
        lambda x: f"Debt-to-income at most {x.debt_to_income_warning_above:.0%}",
        lambda x, a, r: x.debt_to_income_warning_above < r["debt_to_income"] <= x.max_debt_to_income,
        lambda x, a, r: (
            f"Existing debt payments take {r['debt_to_income']:.0%} of income "
            f"(over {x.debt_to_income_warning_above:.0%})."
        ),
        band_below="POL-DTI-MAX",
    ),
    RuleSpec(
        "POL-LOANS-HIGH",
        "num_existing_loans",
        ("num_existing_loans",),
        "existing_loans_warning_from",
        lambda x: f"Fewer than {x.existing_loans_warning_from} existing loans",
        lambda x, a, r: x.existing_loans_warning_from <= a["num_existing_loans"] <= x.max_existing_loans,
        lambda x, a, r: (
            f"{a['num_existing_loans']} existing loans ({x.existing_loans_warning_from} or more)."
        ),
        band_below="POL-LOANS-MAX",
    ),
    RuleSpec(
        "POL-LOAN-INCOME",
        "loan_to_annual_income",
        ("monthly_income", "loan_amount"),
        "loan_to_annual_income_warning_above",
        lambda x: f"Loan at most {x.loan_to_annual_income_warning_above:.0%} of annual income",
        lambda x, a, r: r["loan_to_annual_income"] > x.loan_to_annual_income_warning_above,
        lambda x, a, r: (
            f"The loan is {r['loan_to_annual_income']:.0%} of annual income "
            f"(over {x.loan_to_annual_income_warning_above:.0%})."
        ),
    ),
    RuleSpec(
        "POL-AGE-MAX",
        "age",
        ("age",),
        "age_warning_above",
        lambda x: f"Age at most {x.age_warning_above}",
        lambda x, a, r: a["age"] > x.age_warning_above,
        lambda x, a, r: f"Applicant is over {x.age_warning_above} (age {a['age']}); tenure is reviewed.",
    ),
)
RULE_IDS = tuple(spec.id for spec in RULE_SPECS)


def bind_rules(limits: RuleLimits, severities: Mapping[str, Severity]) -> tuple[Rule, ...]:
    """The table with one policy's numbers and severities (``severities``: rule id -> severity)."""
    return tuple(
        Rule(
            spec.id,
            severities[spec.id],
            spec.factor,
            spec.fields,
            spec.description(limits),
            functools.partial(spec.breached, limits),
            functools.partial(spec.message, limits),
            spec.band_below,
        )
        for spec in RULE_SPECS
    )


class PolicyResult(NamedTuple):
    checks: list[PolicyCheck]  # every rule: id, severity, factor, value, passed, message
    blocking: list[PolicyCheck]  # breached block/fail rules
    warnings: list[PolicyCheck]  # breached warnings
    referrals: list[PolicyCheck]  # breached refer rules


def breached_rules(rules: tuple[Rule, ...], application: Application, ratios: Ratios) -> tuple[Rule, ...]:
    """The rules ``application`` breaches, in table order; ``ratios`` must include ``foir``."""
    return tuple(rule for rule in rules if rule.breached(application, ratios))


def _above_band_message(rule: Rule, harder: Rule, application: Application, ratios: Ratios) -> str:
    decided = harder.message(application, ratios)
    return f"{rule.description}: not met. Above this rule's band, {harder.id} decides: {decided}"


def evaluate_policy(
    rules: tuple[Rule, ...],
    application: Application,
    ratios: Ratios,
    breached: tuple[Rule, ...] | None = None,
) -> PolicyResult:
    """Every rule as a JSON check, and the breached ones by severity (``breached`` if already known).

    A band rule whose harder rule is breached is not itself breached (it adds no reason), and its check
    reads ``passed: false`` with the harder rule's message: the value is over the band, not within it.
    """
    if breached is None:
        breached = breached_rules(rules, application, ratios)
    breached_by_id = {rule.id: rule for rule in breached}
    checks: list[PolicyCheck] = []
    blocking: list[PolicyCheck] = []
    warnings: list[PolicyCheck] = []
    referrals: list[PolicyCheck] = []
    by_severity = {BLOCK: blocking, FAIL: blocking, REFER: referrals, WARNING: warnings}
    for rule in rules:
        failed = rule.id in breached_by_id
        above_band = None if rule.band_below is None else breached_by_id.get(rule.band_below)
        value = ratios[rule.factor] if rule.factor in ratios else field_values(application)[rule.factor]
        if failed:
            message = rule.message(application, ratios)
        elif above_band is not None:
            message = _above_band_message(rule, above_band, application, ratios)
        else:
            message = rule.description
        check: PolicyCheck = {
            "id": rule.id,
            "severity": rule.severity,
            "factor": rule.factor,
            "value": round(value, 4) if isinstance(value, float) else value,
            "passed": not failed and above_band is None,
            "message": message,
        }
        checks.append(check)
        if failed:
            by_severity[rule.severity].append(check)
    return PolicyResult(checks, blocking, warnings, referrals)
