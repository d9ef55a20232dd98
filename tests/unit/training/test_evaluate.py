"""``python -m training.evaluate``: scores with the run-time scorer, reports bad rows, needs no sklearn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from training_test_support import PROJECT_DIR, TRAINING_CSV

from chalicelib.engine.artifact import load_model
from chalicelib.engine.scorecard import probability_of
from training import metrics
from training.data import stratified_split
from training.labelled_csv import read_labelled_csv


def small_csv(tmp_path: Path, rows: int = 400) -> Path:
    lines = TRAINING_CSV.read_text(encoding="utf-8").splitlines()
    bad = lines[1].split(",")
    bad[2] = "seventeen"  # age
    bad[14] = "999"  # cibil_score
    path = tmp_path / "sample.csv"
    path.write_text("\n".join([*lines[: rows + 1], ",".join(bad)]) + "\n", encoding="utf-8")
    return path


def test_evaluate_prints_the_metrics_of_the_run_time_scorer(tmp_path: Path) -> None:
    path = small_csv(tmp_path)
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['evaluate', {str(path)!r}]\n"
        "try:\n"
        "    runpy.run_module('training.evaluate', run_name='__main__')\n"
        "except SystemExit as end:\n"
        "    assert end.code == 0, end.code\n"
        "print('heavy:', [m for m in ('sklearn', 'numpy', 'scipy', 'pandas') if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    out = result.stdout
    assert "400 rows scored, 1 rejected by validation" in out
    assert "age" in out and "cibil_score" in out  # the rejected row's fields are named
    rows = read_labelled_csv(path)
    model = load_model()
    expected_auc = metrics.roc_auc(rows.labels, [probability_of(model, a) for a in rows.applications])
    auc_line = next(line for line in out.splitlines() if line.startswith("AUC"))
    assert float(auc_line.split()[-1]) == round(expected_auc, 4)
    for label in ("Brier score", "log loss", "KS statistic", "calibration", "decision approved rate"):
        assert label in out
    assert "heavy: []" in out


def test_the_split_is_stratified_fixed_and_disjoint() -> None:
    labels = np.array(read_labelled_csv(TRAINING_CSV).labels)
    first, again = stratified_split(labels), stratified_split(labels)
    for part in ("train", "validation", "test"):
        assert (getattr(first, part) == getattr(again, part)).all()
    train, validation, test = set(first.train), set(first.validation), set(first.test)
    assert not train & validation and not train & test and not validation & test
    assert len(train | validation | test) == len(labels)
    rates = [labels[list(s)].mean() for s in (train, validation, test)]
    assert max(rates) - min(rates) < 0.002
