"""The engine's contract as types: what ``validate_application`` returns, what ``decide`` returns, what
``quick_eligibility`` and ``render_notice`` return.

These ``TypedDict``s are the single description of the engine's output: every key ``decide`` returns
is declared here with its type, and the API's response schema is generated from them. All values are
JSON-serialisable (str, int, float, bool, None, lists and dicts of those). Probabilities are rounded to
6 decimals, ratios to 4, money (INR) to 2.
"""

# No ``from __future__ import annotations`` here: TypedDict needs evaluated annotations to tell
# required keys from ``NotRequired`` ones (and a schema generator reads them the same way).
from collections.abc import Mapping
from typing import Final, Literal, NotRequired, TypedDict, cast, get_args

Outcome = Literal["approved", "manual_review", "declined"]
APPROVED: Final = "approved"
MANUAL_REVIEW: Final = "manual_review"
DECLINED: Final = "declined"
DecidedBy = Literal["policy", "model", "policy+model"]
# A notice states the engine's decision, or the action a credit officer took on a referred one.
NoticeKind = Literal["decline", "counteroffer", "review", "approval"]
RiskBand = Literal["A", "B", "C", "D", "E"]
Severity = Literal["block", "fail", "refer", "warning"]
Priority = Literal["critical", "high", "medium", "low"]
Verdict = Literal["likely", "possible", "needs_improvement", "unlikely"]
FraudSeverity = Literal["low", "medium", "high", "critical"]
RISK_BANDS: tuple[RiskBand, ...] = get_args(RiskBand)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
# An applicant's value of a factor or field: a count, an amount, a ratio, a flag or a category.
Scalar = int | float | bool | str


class Application(TypedDict):
    """A validated application (``validate_application``'s result); optional fields may be absent."""

    age: int
    education: str
    num_dependents: int
    employment_type: str
    industry: str
    years_at_current_job: int
    monthly_income: int
    existing_emi: int
    num_existing_loans: int
    cibil_score: int
    credit_history_years: int
    late_payments_last_2_years: int
    has_defaults: bool
    owns_property: bool
    savings_balance: int
    years_with_bank: int
    loan_amount: int
    loan_tenure_months: int
    loan_purpose: str
    # Fairness reporting only, never scored.
    gender: NotRequired[str]
    marital_status: NotRequired[str]
    city: NotRequired[str]
    # Personal data: never scored, never in a decision, masked or hashed when stored.
    applicant_name: NotRequired[str]
    applicant_id: NotRequired[str]
    pan: NotRequired[str]
    aadhaar: NotRequired[str]
    phone: NotRequired[str]
    email: NotRequired[str]
    # The applicant's session as the lender saw it: counted for velocity signals, never scored.
    device_id: NotRequired[str]
    ip_address: NotRequired[str]


class QuickApplication(TypedDict):
    """The five fields of a quick eligibility check (``eligibility.QUICK_FIELDS``). An ``Application``
    is one too: it has these keys, required, with these types."""

    cibil_score: int
    monthly_income: int
    existing_emi: int
    loan_amount: int
    years_at_current_job: int


def field_values(application: Application) -> Mapping[str, Scalar]:
    """``application`` read by field name: for code that names fields as data (the policy table, the
    feature lists, the suggestion rules), where a ``TypedDict`` key must be a literal. Every field of
    an ``Application`` is a ``Scalar``, so this view is exact (the same object, no copy)."""
    return cast(Mapping[str, Scalar], application)


def with_field(application: Application, name: str, value: Scalar) -> Application:
    """A copy of ``application`` with ``name`` set to ``value`` (a counteroffer's or a suggestion's
    changed terms). The callers name an application field and pass a value of that field's type (the
    rules of ``suggest`` and ``counteroffer`` are written so), which is what the cast records."""
    changed = dict(application)
    changed[name] = value
    return cast(Application, changed)


class Contribution(TypedDict):
    factor: str
    points: int  # this applicant's points for the factor
    max_points: int  # the factor's best attainable points


class Reason(TypedDict):
    """A principal reason: a failed policy rule (``code`` = rule id, ``points_lost`` None) or a model
    factor (``code`` ``RSN-...``, ``points_lost`` against the factor's best bin)."""

    code: str
    factor: str
    value: Scalar
    text: str
    points_lost: int | None


class FavourableFactor(TypedDict):
    code: str
    factor: str
    value: Scalar
    text: str
    points: int


class Suggestion(TypedDict):
    """One change the applicant could make, re-scored by deciding the changed application."""

    id: str  # the suggestion rule's id (``SUG-...``)
    category: str
    current: Scalar
    target: Scalar
    action: str
    expected_time: str
    priority: Priority
    # The changed application's outcome when it differs from this one, else its new probability.
    effect: Outcome | float
    decisive: bool  # this change alone improves the outcome
    clears: list[str]  # ids of the failed policy rules this change alone clears


class PolicyCheck(TypedDict):
    id: str
    severity: Severity
    factor: str
    value: Scalar
    passed: bool
    message: str


class Affordability(TypedDict):
    """The model's ratios (the new instalment at the model's fixed reference rate) and the policy's
    FOIR (all instalments, the new one priced by the rate card, over monthly income)."""

    debt_to_income: float
    loan_to_annual_income: float
    new_emi_to_income: float
    total_debt_to_income: float
    savings_to_loan: float
    foir: float


class Pricing(TypedDict):
    """The requested loan priced by the rate card for the model's risk band."""

    risk_band: RiskBand
    annual_rate: float
    emi: float  # INR per month, amortising


class Counteroffer(TypedDict):
    """An offer on other terms (amount and/or tenure) that decides as ``outcome`` when re-decided."""

    loan_amount: int
    loan_tenure_months: int
    emi: float
    annual_rate: float
    foir: float
    probability: float
    outcome: Outcome


class NoticeReason(TypedDict):
    code: str
    text: str


class CreditScoreUsed(TypedDict):
    name: str
    value: int
    minimum: int
    maximum: int


class Notice(TypedDict):
    """The statement the lender sends for a declined, counter-offered or referred application, or of
    the action a credit officer took on a referred one (``decided_by`` "reviewer")."""

    kind: NoticeKind
    date: str  # ISO date of the decision
    outcome: Outcome
    decided_by: DecidedBy | Literal["reviewer"]
    principal_reasons: list[NoticeReason]  # <= 4
    credit_score: CreditScoreUsed
    key_factors: list[str]
    counteroffer: Counteroffer | None
    text: str  # the same notice as plain text


class ModelInfo(TypedDict):
    id: str
    version: str
    sha256: str


class Thresholds(TypedDict):
    approve: float
    review: float


class RiskEvidence(TypedDict):
    """What made a fraud rule fire: counts and windows, or the value against its limit; never an
    identity value."""

    count: NotRequired[int]  # submissions in the window, this one included
    window_seconds: NotRequired[int]
    value: NotRequired[float]  # e.g. the loan as a multiple of monthly income, or the local hour
    limit: NotRequired[float]


class RiskFlag(TypedDict):
    """A fraud or velocity signal (``chalicelib.engine.fraud``): high and critical refer to review."""

    code: str  # FRD-...
    severity: FraudSeverity
    evidence: RiskEvidence


class Decision(TypedDict):
    """``decide``'s result: the final decision, and the model's view of it kept apart."""

    outcome: Outcome
    decided_by: DecidedBy
    # The final decision's view: the model's probability unless a blocking rule declined (then 0.0).
    probability: float
    risk_band: RiskBand  # band of ``probability``
    # The model's own view, whatever the policy rules said.
    model_probability: float
    model_risk_band: RiskBand
    score: int  # scorecard points: base_points + sum of contributions' points
    contributions: list[Contribution]
    base_points: int
    reasons: list[Reason]  # <= 4, ranked; [] when approved
    favourable_factors: list[FavourableFactor]  # <= 3
    suggestions: list[Suggestion]  # <= 6, decisive first
    reapply_after_months: int | None  # declined only
    counteroffer: Counteroffer | None  # declined or review only, when other terms would be approved
    notice: Notice | None  # declined, counter-offered or review only
    policy: list[PolicyCheck]  # every rule
    affordability: Affordability
    pricing: Pricing
    out_of_training_range: list[str]  # model factors scored with their edge bin
    thresholds: Thresholds
    model: ModelInfo
    risk_flags: list[RiskFlag]  # fraud and velocity signals, most severe first


class EligibilityCheck(TypedDict):
    id: str
    criterion: str
    met: bool
    value: int | float


class QuickEligibility(TypedDict):
    """``quick_eligibility``'s result. ``eligibility_score`` = 2 per criterion met - 1 per criterion
    missed (-4 to 8), capped at -1 when a blocking rule of the full decision fires on the fields given;
    verdict: >= 4 likely, >= 2 possible, >= 0 needs_improvement, else unlikely."""

    verdict: Verdict
    eligibility_score: int
    strengths: list[str]
    improvement_areas: list[str]
    checks: list[EligibilityCheck]
    blocked_by: list[str]  # ids of the full decision's blocking rules that fire on these fields
    note: str


class QuickEligibilityRequest(TypedDict):
    cibil_score: int
    monthly_income: int
    existing_emi: int
    loan_amount: int
    years_at_current_job: int
