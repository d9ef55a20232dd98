"""Fit a monotone, additive scorecard with scikit-learn.

Method (a classic scorecard, with the bins learned rather than hand-picked):

1. **Candidate cut points** per numeric feature on a "nice" grid (every year of age, every 10 CIBIL
   points, every 0.01 of debt-to-income, ...), kept only where at least ``MIN_BIN_SHARE`` of the
   fitting rows fall on each side. Cut points are chosen on the rows the model is fitted on.
2. **Step (thermometer) encoding**: one 0/1 column per cut point, ``x >= edge``. A feature's
   contribution is then a step function whose jumps are the column coefficients, so *a monotone
   effect is exactly "every jump has the expected sign"*.
3. **L1 logistic regression** (``LogisticRegression(l1_ratio=1, solver="liblinear")``) zeroes most
   jumps: the surviving cut points are the bin edges (bins are merged where nothing changes).
4. **Direction enforcement**: every jump with the wrong sign for its feature's expected direction is
   removed and the model refitted, until none is left. Categorical features have no direction.
5. **Points**: each bin's log-odds contribution, shifted so a feature's worst bin is 0, is scaled to
   integer points (``POINTS_PER_LOG_ODDS``); the intercept becomes the base points. The model *is*
   this integer scorecard: the scikit-learn pipeline built by :func:`build_pipeline` carries exactly
   these points, and the reported metrics are the scorecard's.

The regularisation strength is chosen on the validation split; the test split is only scored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# scikit-learn ships no type information (no py.typed, no stubs package): its names are Any here.
from sklearn.base import BaseEstimator, TransformerMixin  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import FunctionTransformer  # type: ignore[import-untyped]

from chalicelib.engine.features import (
    BOOLEAN_FEATURES,
    CATEGORICAL_FEATURES,
    RATIO_FEATURES,
    RAW_NUMERIC_FEATURES,
    model_features,
)
from chalicelib.engine.types import Application

# Expected direction of every numeric feature: +1 = a higher value never lowers the score,
# -1 = a higher value never raises it. Age is constrained non-decreasing on purpose: an elderly
# applicant's age must never count against them (US Regulation B, 12 CFR 1002.6(b)(2)).
DIRECTIONS: dict[str, int] = {
    "age": +1,
    "years_at_current_job": +1,
    "monthly_income": +1,
    "cibil_score": +1,
    "credit_history_years": +1,
    "late_payments_last_2_years": -1,
    "savings_balance": +1,
    "years_with_bank": +1,
    "num_existing_loans": -1,
    "num_dependents": -1,
    "has_defaults": -1,
    "owns_property": +1,
    "debt_to_income": -1,
    "loan_to_annual_income": -1,
    "new_emi_to_income": -1,
    "total_debt_to_income": -1,
    "savings_to_loan": +1,
}
# Candidate cut-point grid per numeric feature (edges are multiples of the step).
GRID_STEPS: dict[str, float] = {
    "age": 1,
    "years_at_current_job": 1,
    "monthly_income": 5_000,
    "cibil_score": 10,
    "credit_history_years": 1,
    "late_payments_last_2_years": 1,
    "savings_balance": 25_000,
    "years_with_bank": 1,
    "num_existing_loans": 1,
    "num_dependents": 1,
    "has_defaults": 1,
    "owns_property": 1,
    "debt_to_income": 0.01,
    "loan_to_annual_income": 0.05,
    "new_emi_to_income": 0.025,
    "total_debt_to_income": 0.025,
    "savings_to_loan": 0.025,
}
NUMERIC_FEATURES = (*RAW_NUMERIC_FEATURES, *BOOLEAN_FEATURES, *RATIO_FEATURES)
MIN_BIN_SHARE = 0.01  # a cut point needs >= 1% of the fitting rows on each side
C_GRID = (0.25, 0.5, 1.0, 2.0)  # inverse L1 strength, chosen on validation
# Feature sets compared on validation: the categorical fields are offered to the model only if they
# improve validation log loss (they carry no expected direction, so they must earn their place).
FEATURE_SETS: dict[str, tuple[str, ...]] = {"numeric": (), "numeric+categorical": CATEGORICAL_FEATURES}

# Score scaling: 20 points double the odds of approval (PDO), 600 points = even odds.
PDO = 20
SCORE_AT_EVEN_ODDS = 600
POINTS_PER_LOG_ODDS = PDO / math.log(2)


@dataclass(frozen=True)
class Candidate:
    feature: str
    edge: float | None = None  # numeric: column is x >= edge
    category: str | None = None  # categorical: column is x == category
    direction: int = 0


@dataclass
class Scorecard:
    """The fitted model: integer points per bin, base points, and how it was chosen."""

    numeric_edges: dict[str, list[float]]  # sorted cut points; bin i = number of edges <= x
    numeric_points: dict[str, list[int]]  # len(edges) + 1 points per feature
    category_points: dict[str, dict[str, int]]
    base_points: int
    regularisation_c: float
    categorical_offered: tuple[str, ...] = ()
    candidate_count: int = 0
    refits: int = 0
    dropped_features: list[str] = field(default_factory=list)

    def log_odds(self, points_total: int) -> float:
        return (points_total - SCORE_AT_EVEN_ODDS) / POINTS_PER_LOG_ODDS


# ---------------------------------------------------------------------------------------------
# Design matrices
# ---------------------------------------------------------------------------------------------
class FeatureTable:
    """Column arrays of the model features of many applications (computed once, reused by every fit)."""

    def __init__(self, applications: Sequence[Application]) -> None:
        rows = [model_features(a) for a in applications]
        self.size = len(rows)
        self.numeric = {name: np.array([r[name] for r in rows], dtype=float) for name in NUMERIC_FEATURES}
        self.categorical = {
            name: np.array([r[name] for r in rows], dtype=object) for name in CATEGORICAL_FEATURES
        }

    def subset(self, index: np.ndarray) -> FeatureTable:
        table = FeatureTable.__new__(FeatureTable)
        table.size = len(index)
        table.numeric = {k: v[index] for k, v in self.numeric.items()}
        table.categorical = {k: v[index] for k, v in self.categorical.items()}
        return table


def candidate_columns(table: FeatureTable, categorical: Sequence[str]) -> list[Candidate]:
    minimum = max(1, math.ceil(MIN_BIN_SHARE * table.size))
    candidates: list[Candidate] = []
    for name in NUMERIC_FEATURES:
        values, step = table.numeric[name], GRID_STEPS[name]
        for multiple in range(math.ceil(values.min() / step), math.floor(values.max() / step) + 1):
            edge = round(multiple * step, 10)
            above = int((values >= edge).sum())
            if above >= minimum and table.size - above >= minimum:
                candidates.append(Candidate(name, edge=edge, direction=DIRECTIONS[name]))
    for name in categorical:
        for category in sorted(set(table.categorical[name])):
            candidates.append(Candidate(name, category=category))
    return candidates


def step_matrix(table: FeatureTable, candidates: Sequence[Candidate]) -> np.ndarray:
    columns = [
        table.numeric[c.feature] >= c.edge
        if c.category is None
        else table.categorical[c.feature] == c.category
        for c in candidates
    ]
    return np.column_stack(columns).astype(float)


# ---------------------------------------------------------------------------------------------
# Fitting
# ---------------------------------------------------------------------------------------------
def _l1_logistic(c: float) -> LogisticRegression:
    # liblinear penalises the intercept too; a large intercept_scaling makes that penalty negligible.
    return LogisticRegression(
        C=c, l1_ratio=1.0, solver="liblinear", intercept_scaling=10.0, tol=1e-4, max_iter=5000, random_state=0
    )


def fit_scorecard(
    table: FeatureTable, labels: np.ndarray, c: float, categorical: Sequence[str] = ()
) -> Scorecard:
    """Fit the monotone L1 step model on ``table`` and turn it into an integer scorecard.

    ``categorical`` names the categorical features offered to the model (one-hot, no direction).
    """
    candidates = candidate_columns(table, categorical)
    matrix = step_matrix(table, candidates)
    active = np.ones(len(candidates), dtype=bool)
    refits = 0
    while True:
        refits += 1
        model = _l1_logistic(c).fit(matrix[:, active], labels)
        coefficients = np.zeros(len(candidates))
        coefficients[active] = model.coef_[0]
        wrong_sign = np.array([cand.direction * coefficients[i] < 0 for i, cand in enumerate(candidates)])
        if not wrong_sign.any():
            break
        active &= ~wrong_sign
    scorecard = _to_points(candidates, coefficients, float(model.intercept_[0]), c, categorical)
    scorecard.categorical_offered = tuple(categorical)
    scorecard.candidate_count = len(candidates)
    scorecard.refits = refits
    return scorecard


def _to_points(
    candidates: list[Candidate],
    coefficients: np.ndarray,
    intercept: float,
    c: float,
    categorical: Sequence[str],
) -> Scorecard:
    numeric_edges: dict[str, list[float]] = {}
    numeric_points: dict[str, list[int]] = {}
    category_points: dict[str, dict[str, int]] = {}
    dropped: list[str] = []
    log_odds_base = intercept
    for name in NUMERIC_FEATURES:
        steps = [
            (cand.edge, coefficients[i])
            for i, cand in enumerate(candidates)
            if cand.feature == name and cand.edge is not None  # a numeric feature's steps all have one
        ]
        steps = [(edge, jump) for edge, jump in steps if jump != 0.0]
        levels = [0.0]
        for _, jump in steps:
            levels.append(levels[-1] + jump)
        lowest = min(levels)
        log_odds_base += lowest
        points = [round((level - lowest) * POINTS_PER_LOG_ODDS) for level in levels]
        edges = [float(edge) for edge, _ in steps]
        edges, points = _merge_equal_bins(edges, points)
        if len(points) == 1:
            dropped.append(name)
            continue
        numeric_edges[name], numeric_points[name] = edges, points
    for name in categorical:
        levels_by_category = {
            str(cand.category): float(coefficients[i])
            for i, cand in enumerate(candidates)
            if cand.feature == name
        }
        lowest = min(levels_by_category.values())
        log_odds_base += lowest
        points_by_category = {
            k: round((v - lowest) * POINTS_PER_LOG_ODDS) for k, v in levels_by_category.items()
        }
        if len(set(points_by_category.values())) == 1:
            dropped.append(name)
            continue
        category_points[name] = dict(sorted(points_by_category.items()))
    base_points = round(SCORE_AT_EVEN_ODDS + log_odds_base * POINTS_PER_LOG_ODDS)
    return Scorecard(numeric_edges, numeric_points, category_points, base_points, c, dropped_features=dropped)


def _merge_equal_bins(edges: list[float], points: list[int]) -> tuple[list[float], list[int]]:
    """Drop cut points whose two sides score the same (rounding can make neighbours equal)."""
    kept_edges: list[float] = []
    kept_points = [points[0]]
    for edge, value in zip(edges, points[1:], strict=True):
        if value != kept_points[-1]:
            kept_edges.append(edge)
            kept_points.append(value)
    return kept_edges, kept_points


# ---------------------------------------------------------------------------------------------
# The scikit-learn pipeline equivalent to the exported scorecard
# ---------------------------------------------------------------------------------------------
def _features_of(applications: Sequence[Application]) -> list[dict[str, Any]]:
    return [model_features(a) for a in applications]


class ScorecardBinner(BaseEstimator, TransformerMixin):  # type: ignore[misc]  # untyped bases
    """One-hot bin membership for every scorecard feature, bins as in the exported artifact."""

    def __init__(self, numeric_edges: dict[str, list[float]], categories: dict[str, list[str]]) -> None:
        self.numeric_edges = numeric_edges
        self.categories = categories

    def fit(self, features: Sequence[dict[str, Any]], labels: Any = None) -> ScorecardBinner:
        return self

    def transform(self, features: Sequence[dict[str, Any]]) -> np.ndarray:
        blocks = []
        for name, edges in self.numeric_edges.items():
            values = np.array([f[name] for f in features], dtype=float)
            bins = np.searchsorted(np.array(edges, dtype=float), values, side="right")
            blocks.append(np.eye(len(edges) + 1)[bins])
        for name, categories in self.categories.items():
            values = np.array([f[name] for f in features], dtype=object)
            blocks.append(np.column_stack([values == c for c in categories]).astype(float))
        return np.hstack(blocks)


def build_pipeline(scorecard: Scorecard) -> Pipeline:
    """A scikit-learn pipeline whose ``predict_proba`` is the scorecard's probability.

    The logistic regression carries the integer points divided by ``POINTS_PER_LOG_ODDS``: it is
    assembled from the fitted scorecard rather than re-fitted, so it is the exported model exactly.
    """
    categories = {name: list(points) for name, points in scorecard.category_points.items()}
    coefficients: list[float] = []
    for name in scorecard.numeric_edges:
        coefficients.extend(p / POINTS_PER_LOG_ODDS for p in scorecard.numeric_points[name])
    for name in categories:
        coefficients.extend(
            scorecard.category_points[name][c] / POINTS_PER_LOG_ODDS for c in categories[name]
        )
    model = LogisticRegression()
    model.classes_ = np.array([0, 1])
    model.coef_ = np.array([coefficients])
    model.intercept_ = np.array([(scorecard.base_points - SCORE_AT_EVEN_ODDS) / POINTS_PER_LOG_ODDS])
    model.n_features_in_ = len(coefficients)
    return Pipeline(
        [
            ("features", FunctionTransformer(_features_of)),
            ("bins", ScorecardBinner(scorecard.numeric_edges, categories)),
            ("model", model),
        ]
    )


def scorecard_from_artifact(document: dict[str, Any]) -> Scorecard:
    """Rebuild the Scorecard (and so the equivalent pipeline) from an exported artifact, without refitting."""
    numeric = [f for f in document["features"] if f["kind"] == "numeric"]
    categorical = [f for f in document["features"] if f["kind"] == "categorical"]
    return Scorecard(
        numeric_edges={f["name"]: list(f["edges"]) for f in numeric},
        numeric_points={f["name"]: list(f["points"]) for f in numeric},
        category_points={f["name"]: dict(f["points"]) for f in categorical},
        base_points=int(document["base_points"]),
        regularisation_c=float(document["hyperparameters"]["C"]),
    )
