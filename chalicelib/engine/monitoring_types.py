"""A monitoring report's records per decision version (``chalicelib.engine.monitoring`` computes them).

Types only, so that the API's route declarations and the service's report records name them without
importing the accumulator and its reference distribution on every cold start.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class Alert(TypedDict):
    code: str  # score_psi | characteristic_csi | approval_rate_move | override_rate | disparate_impact
    #            | rejection_rate_spike
    metric: str  # what was measured, e.g. "score", "age", "gender", "2026-12-01T10:15"
    value: float
    threshold: float
    n: int  # the decisions (or reviews, or group size) the value rests on


class StabilityBin(TypedDict):
    bin: str
    expected: float  # the reference's proportion
    actual: float
    n: int


StabilityStatus = Literal["stable", "watch", "shifted", "insufficient"]  # insufficient: n < psi_min_n


class Stability(TypedDict):
    name: str  # "score" or the characteristic's name
    psi: float | None  # None without decisions to compare
    status: StabilityStatus
    n: int
    missing: int  # decisions that did not carry this characteristic
    bins: list[StabilityBin]


class Approval(TypedDict):
    rate: float | None
    baseline: float | None  # the version's validation approval rate
    change: float | None  # rate - baseline


class Overrides(TypedDict):
    reviews_closed: int
    overrides: int
    rate: float | None
    sla_breaches: int


class FairnessGroup(TypedDict):
    group: str
    n: int
    approved: int
    approval_rate: float
    ratio: float | None  # approval rate / the highest judged group's (None: too small, or "unknown")
    matured_good: int  # loans repaid or current
    good_approved: int  # of those, approved by the engine
    true_positive_rate: float | None


class Fairness(TypedDict):
    attribute: str  # gender | age_band
    groups: list[FairnessGroup]
    disparate_impact: float | None  # among groups of n >= fairness_min_n
    equal_opportunity_gap: float | None  # among groups with >= fairness_min_n matured good loans
    min_n: int


class CalibrationBand(TypedDict):
    band: str
    matured: int
    bad: int
    predicted_bad_rate: float  # mean of 1 - probability
    realised_bad_rate: float


class Performance(TypedDict):
    with_status: int  # decisions with a recorded loan status
    matured: int  # good or bad
    bad: int
    status_mix: dict[str, int]
    auc: float | None  # on matured loans: probability of repayment against good (1) / bad (0)
    ks: float | None
    calibration: list[CalibrationBand]


class RejectionPeak(TypedDict):
    """The quarter hour with the highest decline rate among those with enough decisions."""

    bucket: str  # its start, UTC: "2026-12-01T10:15"
    decisions: int
    declined: int
    rate: float


class VersionReport(TypedDict):
    decisions: int
    arms: dict[str, int]
    decided_by: dict[str, int]
    outcomes: dict[str, int]
    approval: Approval
    score: Stability | None  # None without a reference distribution
    characteristics: list[Stability]
    reason_codes: dict[str, int]
    overrides: Overrides
    fairness: list[Fairness]
    performance: Performance
    rejection_peak: RejectionPeak | None
    alerts: list[Alert]
