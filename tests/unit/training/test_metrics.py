"""The plain-Python metrics used by evaluate and the model card agree with scikit-learn's."""

from __future__ import annotations

import random

import pytest
from sklearn import metrics as sk

from training import metrics


@pytest.fixture(scope="module")
def sample() -> tuple[list[int], list[float]]:
    rng = random.Random(7)
    probabilities = [round(rng.random(), 2) for _ in range(2000)]  # rounded: plenty of ties
    labels = [int(rng.random() < p) for p in probabilities]
    return labels, probabilities


def test_auc(sample) -> None:
    labels, probabilities = sample
    assert metrics.roc_auc(labels, probabilities) == pytest.approx(
        sk.roc_auc_score(labels, probabilities), abs=1e-12
    )


def test_brier_log_loss_accuracy(sample) -> None:
    labels, probabilities = sample
    assert metrics.brier(labels, probabilities) == pytest.approx(sk.brier_score_loss(labels, probabilities))
    clipped = [min(max(p, 1e-15), 1 - 1e-15) for p in probabilities]
    assert metrics.log_loss(labels, probabilities) == pytest.approx(sk.log_loss(labels, clipped))
    predicted = [int(p >= 0.5) for p in probabilities]
    assert metrics.accuracy(labels, probabilities) == pytest.approx(sk.accuracy_score(labels, predicted))


def test_ks_is_the_largest_roc_gap(sample) -> None:
    labels, probabilities = sample
    fpr, tpr, _ = sk.roc_curve(labels, probabilities)
    assert metrics.ks_statistic(labels, probabilities) == pytest.approx(max(tpr - fpr), abs=1e-12)


def test_calibration_table_counts_every_row(sample) -> None:
    labels, probabilities = sample
    table = metrics.calibration_table(labels, probabilities)
    assert sum(row["count"] for row in table) == len(labels)
    for row in table:
        low, high = (float(x) for x in str(row["bin"]).split("-"))
        assert low <= row["mean_predicted"] <= high
