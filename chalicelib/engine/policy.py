"""Policy rules: a table (``RULES``) of what the product's lending policy requires of an application.

Severities: ``block`` (not eligible: declined before the score counts), ``fail`` (a strong policy
failure: declined), ``refer`` (never approved automatically: an approval becomes a manual review),
``warning`` (noted; three or more turn an approval into a manual review).

Added to the original's list:

- ``POL-FOIR-MAX`` / ``POL-FOIR-REVIEW``: the fixed-obligation-to-income ratio (existing EMIs plus the
  new loan's EMI, priced by the rate card in ``pricing``, over monthly income). This product's lending
  policy: over ``FOIR_LIMIT`` (60%) declines, over ``FOIR_REVIEW`` (50%) goes to a credit officer;
  Indian lenders commonly cap FOIR at 50-60%. The original bank's labels never looked at the new
  loan's instalment, so the model cannot have learned it: only a rule can stop an approval the
  applicant cannot repay.
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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

BLOCK, FAIL, REFER, WARNING = "block", "fail", "refer", "warning"
DECLINING = frozenset((BLOCK, FAIL))  # severities that decline on their own

MIN_AGE = 21
MAX_AGE_WITHOUT_WARNING = 65
MIN_MONTHLY_INCOME = 15_000
DTI_FAIL = 0.60
DTI_WARNING = 0.40
FOIR_LIMIT = 0.60  # hard limit: above it the applicant cannot carry the new instalment
FOIR_REVIEW = 0.50  # above it (up to the limit) a credit officer decides
LOANS_FAIL = 5  # more than this many existing loans
LOANS_WARNING = 3  # this many or more
LOAN_TO_ANNUAL_INCOME_WARNING = 0.60
WARNINGS_FOR_REVIEW = 3  # this many warnings turn an approval into a manual review

_INSTALMENT_FIELDS = ("monthly_income", "existing_emi", "loan_amount", "loan_tenure_months")


class Rule(NamedTuple):
    id: str
    severity: str
    factor: str  # the application field or ratio the rule looks at (a reason names it)
    fields: tuple[str, ...]  # the application fields the rule's outcome depends on
    description: str
    breached: Callable[[Mapping[str, Any], Mapping[str, float]], bool]
    message: Callable[[Mapping[str, Any], Mapping[str, float]], str]


AGE_MIN = Rule(
    "POL-AGE-MIN",
    BLOCK,
    "age",
    ("age",),
    f"Age at least {MIN_AGE}",
    lambda a, r: a["age"] < MIN_AGE,
    lambda a, r: f"Applicants must be at least {MIN_AGE} years old (age {a['age']}).",
)
INCOME_MIN = Rule(
    "POL-INCOME-MIN",
    BLOCK,
    "monthly_income",
    ("monthly_income",),
    f"Monthly income at least INR {MIN_MONTHLY_INCOME:,}",
    lambda a, r: a["monthly_income"] < MIN_MONTHLY_INCOME,
    lambda a, r: f"Monthly income must be at least INR {MIN_MONTHLY_INCOME:,} (INR {a['monthly_income']:,}).",
)
DTI_MAX = Rule(
    "POL-DTI-MAX",
    FAIL,
    "debt_to_income",
    ("monthly_income", "existing_emi"),
    f"Debt-to-income at most {DTI_FAIL:.0%}",
    lambda a, r: r["debt_to_income"] > DTI_FAIL,
    lambda a, r: (
        f"Existing debt payments take {r['debt_to_income']:.0%} of income; the limit is {DTI_FAIL:.0%}."
    ),
)
FOIR_MAX = Rule(
    "POL-FOIR-MAX",
    FAIL,
    "foir",
    _INSTALMENT_FIELDS,
    f"All instalments incl. the new loan (FOIR) at most {FOIR_LIMIT:.0%} of income",
    lambda a, r: r["foir"] > FOIR_LIMIT,
    lambda a, r: (
        f"With the new loan's instalment, all instalments would take {r['foir']:.0%} of income; "
        f"the limit is {FOIR_LIMIT:.0%}."
    ),
)
LOANS_MAX = Rule(
    "POL-LOANS-MAX",
    FAIL,
    "num_existing_loans",
    ("num_existing_loans",),
    f"At most {LOANS_FAIL} existing loans",
    lambda a, r: a["num_existing_loans"] > LOANS_FAIL,
    lambda a, r: f"{a['num_existing_loans']} existing loans; at most {LOANS_FAIL} are accepted.",
)
DEFAULT_REFER = Rule(
    "POL-DEFAULT-REFER",
    REFER,
    "has_defaults",
    ("has_defaults",),
    "No loan default on record",
    lambda a, r: bool(a["has_defaults"]),
    lambda a, r: "A past loan default is on record: a credit officer must review the application.",
)
FOIR_HIGH = Rule(
    "POL-FOIR-REVIEW",
    REFER,
    "foir",
    _INSTALMENT_FIELDS,
    f"All instalments incl. the new loan (FOIR) at most {FOIR_REVIEW:.0%} of income",
    lambda a, r: FOIR_REVIEW < r["foir"] <= FOIR_LIMIT,
    lambda a, r: (
        f"With the new loan's instalment, all instalments would take {r['foir']:.0%} of income "
        f"(over {FOIR_REVIEW:.0%}): a credit officer must review the application."
    ),
)
DTI_HIGH = Rule(
    "POL-DTI-HIGH",
    WARNING,
    "debt_to_income",
    ("monthly_income", "existing_emi"),
    f"Debt-to-income at most {DTI_WARNING:.0%}",
    lambda a, r: DTI_WARNING < r["debt_to_income"] <= DTI_FAIL,
    lambda a, r: f"Existing debt payments take {r['debt_to_income']:.0%} of income (over {DTI_WARNING:.0%}).",
)
LOANS_HIGH = Rule(
    "POL-LOANS-HIGH",
    WARNING,
    "num_existing_loans",
    ("num_existing_loans",),
    f"Fewer than {LOANS_WARNING} existing loans",
    lambda a, r: LOANS_WARNING <= a["num_existing_loans"] <= LOANS_FAIL,
    lambda a, r: f"{a['num_existing_loans']} existing loans ({LOANS_WARNING} or more).",
)
LOAN_INCOME = Rule(
    "POL-LOAN-INCOME",
    WARNING,
    "loan_to_annual_income",
    ("monthly_income", "loan_amount"),
    f"Loan at most {LOAN_TO_ANNUAL_INCOME_WARNING:.0%} of annual income",
    lambda a, r: r["loan_to_annual_income"] > LOAN_TO_ANNUAL_INCOME_WARNING,
    lambda a, r: (
        f"The loan is {r['loan_to_annual_income']:.0%} of annual income "
        f"(over {LOAN_TO_ANNUAL_INCOME_WARNING:.0%})."
    ),
)
AGE_MAX = Rule(
    "POL-AGE-MAX",
    WARNING,
    "age",
    ("age",),
    f"Age at most {MAX_AGE_WITHOUT_WARNING}",
    lambda a, r: a["age"] > MAX_AGE_WITHOUT_WARNING,
    lambda a, r: f"Applicant is over {MAX_AGE_WITHOUT_WARNING} (age {a['age']}); tenure is reviewed.",
)

# Table order is reason order: declining rules first, then referrals, then warnings.
RULES: tuple[Rule, ...] = (
    AGE_MIN,
    INCOME_MIN,
    DTI_MAX,
    FOIR_MAX,
    LOANS_MAX,
    DEFAULT_REFER,
    FOIR_HIGH,
    DTI_HIGH,
    LOANS_HIGH,
    LOAN_INCOME,
    AGE_MAX,
)


class PolicyResult(NamedTuple):
    checks: list[dict[str, Any]]  # every rule: id, severity, factor, value, passed, message
    blocking: list[dict[str, Any]]  # breached block/fail rules
    warnings: list[dict[str, Any]]  # breached warnings
    referrals: list[dict[str, Any]]  # breached refer rules


def breached_rules(application: Mapping[str, Any], ratios: Mapping[str, float]) -> tuple[Rule, ...]:
    """The rules ``application`` breaches, in table order; ``ratios`` must include ``foir``."""
    return tuple(rule for rule in RULES if rule.breached(application, ratios))


def evaluate_policy(
    application: Mapping[str, Any], ratios: Mapping[str, float], breached: tuple[Rule, ...] | None = None
) -> PolicyResult:
    """Every rule as a JSON check, and the breached ones by severity (``breached`` if already known)."""
    if breached is None:
        breached = breached_rules(application, ratios)
    checks: list[dict[str, Any]] = []
    blocking: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    referrals: list[dict[str, Any]] = []
    by_severity = {BLOCK: blocking, FAIL: blocking, REFER: referrals, WARNING: warnings}
    for rule in RULES:
        failed = rule in breached
        value = ratios[rule.factor] if rule.factor in ratios else application[rule.factor]
        check = {
            "id": rule.id,
            "severity": rule.severity,
            "factor": rule.factor,
            "value": round(value, 4) if isinstance(value, float) else value,
            "passed": not failed,
            "message": rule.message(application, ratios) if failed else rule.description,
        }
        checks.append(check)
        if failed:
            by_severity[rule.severity].append(check)
    return PolicyResult(checks, blocking, warnings, referrals)
