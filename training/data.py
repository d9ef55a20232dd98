"""Load a labelled CSV in the application schema, and the fixed-seed stratified split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]  # no type info

from chalicelib.engine.types import Application
from training.labelled_csv import read_labelled_csv

TRAINING_CSV = Path(__file__).resolve().parent.parent / "data" / "loan_applications.csv"
SPLIT_SEED = 20261126
TEST_SHARE = 0.2
VALIDATION_SHARE = 0.2  # of all rows; taken from what remains after the test split


@dataclass
class LabelledData:
    applications: list[Application]
    labels: np.ndarray
    rejected_rows: list[tuple[int, list[dict[str, str]]]]  # (CSV line number, validation errors)
    sha256: str


def load_labelled_csv(path: Path) -> LabelledData:
    """The labelled rows with the labels as a numpy array (for fitting)."""
    rows = read_labelled_csv(path)
    return LabelledData(rows.applications, np.array(rows.labels, dtype=int), rows.rejected_rows, rows.sha256)


@dataclass
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray


def stratified_split(labels: np.ndarray, seed: int = SPLIT_SEED) -> Split:
    """Train / validation / test = 60 / 20 / 20, stratified on the label, fixed seed."""
    index = np.arange(len(labels))
    rest, test = train_test_split(index, test_size=TEST_SHARE, stratify=labels, random_state=seed)
    train, validation = train_test_split(
        rest, test_size=VALIDATION_SHARE / (1 - TEST_SHARE), stratify=labels[rest], random_state=seed
    )
    return Split(np.sort(train), np.sort(validation), np.sort(test))
