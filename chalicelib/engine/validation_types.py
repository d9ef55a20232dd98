"""The holdout validation report's records (``chalicelib.engine.validation`` computes them).

Types only, so that the API's route declarations and the stored version records name them without
importing the validation code (its holdout reader and the decision engine) on every cold start.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class HoldoutInfo(TypedDict):
    """Which holdout a report was computed on."""

    source: Literal["packaged", "uploaded"]
    backtest_id: NotRequired[str]  # an uploaded holdout: the staff backtest its file was uploaded to
    rows: int
    sha256: str  # of the file's bytes: the same file gives the same figures


class GroupRate(TypedDict):
    group: str
    n: int
    approved: int
    approval_rate: float
    ratio: float  # approval rate / the highest group's approval rate (1.0 for the highest)


class ModelFigures(TypedDict):
    auc: float
    ks: float
    brier: float


class Figures(TypedDict):
    """One decision version's figures on the holdout."""

    rows: int
    model: ModelFigures
    outcomes: dict[str, int]  # outcome -> count
    approval_rate: float
    approvals_over_ceiling: int  # approvals whose FOIR exceeds the affordability ceiling
    max_approved_foir: float | None
    four_fifths: dict[str, list[GroupRate]]  # "gender" | "age_band" -> groups


class GateResult(TypedDict):
    gate: str  # auc | brier | affordability | four_fifths
    passed: bool
    detail: str  # the figures, readable


class ValidationReport(TypedDict):
    holdout: HoldoutInfo
    candidate: Figures
    champion: Figures | None  # None when the candidate is the champion itself
    champion_version: str | None
    gates: list[GateResult]
    passed: bool
