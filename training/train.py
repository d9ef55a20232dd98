"""``python -m training.train`` (``make train``): fit, select, test, export the artifact and model card.

Deterministic: the split seed, solver seed and candidate grids are fixed, points are integers and
metrics are rounded, and ``trained_at`` is not the wall clock but ``SOURCE_DATE_EPOCH`` when set (the
reproducible-builds convention) or else the fixed date of the data snapshot. Same data and code, same
bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from chalicelib.engine.artifact import ARTIFACT_PATH, build_model
from chalicelib.engine.monitoring import REFERENCE_PATH
from chalicelib.engine.scorecard import probability_of
from chalicelib.engine.types import Application
from training import metrics
from training.data import SPLIT_SEED, TRAINING_CSV, LabelledData, Split, load_labelled_csv, stratified_split
from training.export import APPROVE_THRESHOLD, artifact_document, write_artifact
from training.reference import reference_document, write_reference
from training.scorecard_fit import (
    C_GRID,
    FEATURE_SETS,
    FeatureTable,
    Scorecard,
    build_pipeline,
    fit_scorecard,
)

DATA_SNAPSHOT_DATE = "2026-11-26T00:00:00Z"


def trained_at() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return DATA_SNAPSHOT_DATE


def pipeline_probabilities(scorecard: Scorecard, applications: list[Application]) -> list[float]:
    return [float(p) for p in build_pipeline(scorecard).predict_proba(applications)[:, 1]]


@dataclass
class TrainingRun:
    data: LabelledData
    split: Split
    scorecard: Scorecard
    selection: list[dict[str, Any]]
    document: dict[str, Any]
    feature_set: str


def select_regularisation(table: FeatureTable, data: LabelledData, split: Split) -> list[dict[str, Any]]:
    """Fit on train for each feature set and C; score the validation split (lowest log loss wins)."""
    validation_apps = [data.applications[i] for i in split.validation]
    validation_labels = [int(v) for v in data.labels[split.validation]]
    train_table = table.subset(split.train)
    results = []
    for feature_set, categorical in FEATURE_SETS.items():
        for c in C_GRID:
            scorecard = fit_scorecard(train_table, data.labels[split.train], c, categorical)
            probabilities = pipeline_probabilities(scorecard, validation_apps)
            results.append(
                {
                    "feature_set": feature_set,
                    "C": c,
                    "validation_log_loss": metrics.log_loss(validation_labels, probabilities),
                    "validation_auc": metrics.roc_auc(validation_labels, probabilities),
                    "validation_brier": metrics.brier(validation_labels, probabilities),
                    "bins": sum(len(p) for p in scorecard.numeric_points.values()),
                }
            )
    return results


def fit_final(table: FeatureTable, data: LabelledData, split: Split, c: float, feature_set: str) -> Scorecard:
    """The shipped scorecard: the chosen settings, fitted on train + validation (test stays unseen)."""
    fit_index = np.sort(np.concatenate([split.train, split.validation]))
    return fit_scorecard(table.subset(fit_index), data.labels[fit_index], c, FEATURE_SETS[feature_set])


def run_training(*, reuse_selection: list[dict[str, Any]] | None = None) -> TrainingRun:
    """Everything but writing files.

    ``reuse_selection`` takes the validation-search table of an earlier run (the artifact records it)
    instead of recomputing it: the final fit and export then run exactly as in ``make train``, which
    lets a test rebuild the artifact byte for byte in seconds.
    """
    data = load_labelled_csv(TRAINING_CSV)
    if data.rejected_rows:
        raise SystemExit(
            f"{len(data.rejected_rows)} training rows failed validation: {data.rejected_rows[:3]}"
        )
    split = stratified_split(data.labels)
    table = FeatureTable(data.applications)
    selection = reuse_selection if reuse_selection is not None else select_regularisation(table, data, split)
    best = min(selection, key=lambda r: r["validation_log_loss"])
    selected = (best["feature_set"], best["C"])
    feature_set, selected_c = selected
    scorecard = fit_final(table, data, split, selected_c, feature_set)
    test_apps = [data.applications[i] for i in split.test]
    test_labels = [int(v) for v in data.labels[split.test]]
    test_probabilities = pipeline_probabilities(scorecard, test_apps)
    chosen = next((r for r in selection if (r["feature_set"], r["C"]) == selected), {})
    held_out = {
        "validation": {
            k.removeprefix("validation_"): v for k, v in chosen.items() if k.startswith("validation_")
        },
        "test": metrics.summary(test_labels, test_probabilities, APPROVE_THRESHOLD),
        "test_calibration": metrics.calibration_table(test_labels, test_probabilities),
    }
    fit_index = np.sort(np.concatenate([split.train, split.validation]))
    document = artifact_document(
        scorecard,
        table.subset(fit_index),
        data_sha256=data.sha256,
        data_rows=len(data.applications),
        split_sizes={"train": len(split.train), "validation": len(split.validation), "test": len(split.test)},
        split_seed=SPLIT_SEED,
        trained_at=trained_at(),
        metrics=held_out,
        selection=selection,
        feature_set=feature_set,
    )
    return TrainingRun(data, split, scorecard, selection, document, feature_set)


def fitted_applications(run: TrainingRun) -> list[Application]:
    """The rows the shipped scorecard was fitted on (train + validation): monitoring's reference."""
    fit_index = np.sort(np.concatenate([run.split.train, run.split.validation]))
    return [run.data.applications[i] for i in fit_index]


def main() -> int:
    started = time.perf_counter()
    run = run_training()
    write_artifact(run.document)
    model = build_model(run.document)
    from training.model_card import write_model_card  # after the artifact: the card uses the engine

    write_model_card(run, model)
    write_reference(reference_document(model, fitted_applications(run)))
    test = run.document["metrics"]["test"]
    hyper = run.document["hyperparameters"]
    print(f"selected {hyper['feature_set']} C={hyper['C']}  ({time.perf_counter() - started:.1f} s)")
    for row in run.selection:
        print(
            f"  {row['feature_set']:<20} C={row['C']:<5} validation log loss {row['validation_log_loss']:.4f}"
            f" AUC {row['validation_auc']:.4f} Brier {row['validation_brier']:.4f}"
        )
    print(f"test: AUC {test['auc']:.4f}  Brier {test['brier']:.4f}  log loss {test['log_loss']:.4f}")
    print(f"wrote {ARTIFACT_PATH} (sha256 {run.document['sha256']}) and {REFERENCE_PATH}")
    # The run-time scorer must agree with the pipeline on the test split, or the export is broken.
    test_apps = [run.data.applications[i] for i in run.split.test]
    gap = max(
        abs(a - b)
        for a, b in zip(
            pipeline_probabilities(run.scorecard, test_apps),
            [probability_of(model, x) for x in test_apps],
            strict=True,
        )
    )
    print(f"max |pipeline - run-time scorer| on test: {gap:.2e}")
    return 0 if gap <= 1e-9 else 1


if __name__ == "__main__":
    sys.exit(main())
