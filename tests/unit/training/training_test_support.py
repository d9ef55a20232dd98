"""Shared helpers for the training tests: the project paths and one in-process refit of the shipped
settings (the validation search is skipped: the artifact records it)."""

from __future__ import annotations

import functools
from pathlib import Path

from chalicelib.engine.artifact import load_model

PROJECT_DIR = Path(__file__).resolve().parents[3]
TRAINING_CSV = PROJECT_DIR / "data" / "loan_applications.csv"


@functools.cache
def refitted_run():  # -> training.train.TrainingRun (imported lazily: scikit-learn is slow to load)
    from training.train import run_training

    return run_training(reuse_selection=load_model().document["hyperparameters"]["validation_search"])
