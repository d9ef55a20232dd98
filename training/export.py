"""Write the versioned JSON artifact the run-time engine loads (deterministic: same inputs, same bytes)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.engine.artifact import ARTIFACT_PATH, canonical_sha256
from chalicelib.engine.features import RATIO_FEATURES, REFERENCE_ANNUAL_RATE
from training.scorecard_fit import (
    DIRECTIONS,
    GRID_STEPS,
    MIN_BIN_SHARE,
    PDO,
    POINTS_PER_LOG_ODDS,
    SCORE_AT_EVEN_ODDS,
    FeatureTable,
    Scorecard,
)

MODEL_ID = "loan-approval-scorecard"
MODEL_VERSION = "1.0.0"
# Decision bands of the original service (approval probability).
APPROVE_THRESHOLD = 0.65
REVIEW_THRESHOLD = 0.45
# An approval this close to the approve threshold is "low confidence" and goes to manual review.
LOW_CONFIDENCE_MARGIN = 0.05
RISK_BANDS = (("A", 0.95), ("B", 0.85), ("C", 0.65), ("D", 0.45), ("E", 0.0))
METRIC_DIGITS = 6  # metrics are rounded so the artifact is stable text


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, METRIC_DIGITS)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def artifact_document(
    scorecard: Scorecard,
    fit_table: FeatureTable,
    *,
    data_sha256: str,
    data_rows: int,
    split_sizes: dict[str, int],
    split_seed: int,
    trained_at: str,
    metrics: dict[str, Any],
    selection: list[dict[str, Any]],
    feature_set: str,
) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for name, edges in scorecard.numeric_edges.items():
        values = fit_table.numeric[name]
        features.append(
            {
                "name": name,
                "kind": "numeric",
                "source": "ratio" if name in RATIO_FEATURES else "field",
                "direction": "increasing" if DIRECTIONS[name] > 0 else "decreasing",
                "edges": edges,
                "points": scorecard.numeric_points[name],
                "training_range": [float(values.min()), float(values.max())],
            }
        )
    for name, points in scorecard.category_points.items():
        features.append(
            {"name": name, "kind": "categorical", "source": "field", "direction": None, "points": points}
        )
    document: dict[str, Any] = {
        "artifact_format": 1,
        "model_id": MODEL_ID,
        "version": MODEL_VERSION,
        "model_type": "monotone binned logistic scorecard (L1, scikit-learn LogisticRegression)",
        "trained_at": trained_at,
        "training_data": {"path": "data/loan_applications.csv", "sha256": data_sha256, "rows": data_rows},
        "split": {"method": "stratified train/validation/test", "seed": split_seed, **split_sizes},
        "scaling": {
            "score_at_even_odds": SCORE_AT_EVEN_ODDS,
            "pdo": PDO,
            "points_per_log_odds": POINTS_PER_LOG_ODDS,
            "formula": "probability = 1 / (1 + exp(-(score - score_at_even_odds) / points_per_log_odds))",
        },
        "reference_annual_rate": REFERENCE_ANNUAL_RATE,
        "base_points": scorecard.base_points,
        "features": features,
        "excluded_features": scorecard.dropped_features,
        "thresholds": {
            "approve": APPROVE_THRESHOLD,
            "review": REVIEW_THRESHOLD,
            "low_confidence_margin": LOW_CONFIDENCE_MARGIN,
        },
        "risk_bands": [{"band": band, "min_probability": minimum} for band, minimum in RISK_BANDS],
        "hyperparameters": {
            "regularisation": "L1",
            "feature_set": feature_set,
            "categorical_offered": list(scorecard.categorical_offered),
            "C": scorecard.regularisation_c,
            "validation_search": rounded(selection),
            "min_bin_share": MIN_BIN_SHARE,
            "grid_steps": GRID_STEPS,
            "candidate_cut_points": scorecard.candidate_count,
            "direction_refits": scorecard.refits,
        },
        "metrics": rounded(metrics),
    }
    document["sha256"] = canonical_sha256(document)
    return document


def artifact_bytes(document: dict[str, Any]) -> bytes:
    """The file's bytes: sorted keys, one-space indent, trailing newline (readable and diff-friendly)."""
    return (json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def write_artifact(document: dict[str, Any], path: Path = ARTIFACT_PATH) -> None:
    path.write_bytes(artifact_bytes(document))
