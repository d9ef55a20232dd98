"""Plain-Python classification metrics (no numpy), so evaluation needs nothing the scorer does not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypedDict


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2  # 1-based ranks i+1..j share their mean
        rank_sum += mean_rank * sum(label for _, label in pairs[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def brier(labels: Sequence[int], probabilities: Sequence[float]) -> float:
    return sum((p - y) ** 2 for y, p in zip(labels, probabilities, strict=True)) / len(labels)


def log_loss(labels: Sequence[int], probabilities: Sequence[float], eps: float = 1e-15) -> float:
    total = 0.0
    for y, p in zip(labels, probabilities, strict=True):
        p = min(max(p, eps), 1 - eps)
        total -= math.log(p) if y else math.log(1 - p)
    return total / len(labels)


def accuracy(labels: Sequence[int], probabilities: Sequence[float], threshold: float = 0.5) -> float:
    return sum((p >= threshold) == bool(y) for y, p in zip(labels, probabilities, strict=True)) / len(labels)


def ks_statistic(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Largest gap between the cumulative score distributions of positives and negatives."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    best = 0.0
    seen_pos = seen_neg = 0
    pairs = sorted(zip(scores, labels, strict=True))
    for i, (score, label) in enumerate(pairs):
        seen_pos += label
        seen_neg += 1 - label
        if i + 1 == len(pairs) or pairs[i + 1][0] != score:
            best = max(best, abs(seen_pos / positives - seen_neg / negatives))
    return best


class CalibrationBin(TypedDict):
    bin: str  # "0.3-0.4"
    count: int
    mean_predicted: float
    observed_rate: float


def calibration_table(
    labels: Sequence[int], probabilities: Sequence[float], bins: int = 10
) -> list[CalibrationBin]:
    """Equal-width probability bins: count, mean predicted probability, observed approval rate."""
    table: list[CalibrationBin] = []
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        members = [
            (y, p)
            for y, p in zip(labels, probabilities, strict=True)
            if low <= p < high or (b == bins - 1 and p == 1.0)
        ]
        if not members:
            continue
        table.append(
            {
                "bin": f"{low:.1f}-{high:.1f}",
                "count": len(members),
                "mean_predicted": sum(p for _, p in members) / len(members),
                "observed_rate": sum(y for y, _ in members) / len(members),
            }
        )
    return table


def summary(
    labels: Sequence[int], probabilities: Sequence[float], approve_threshold: float
) -> dict[str, float]:
    return {
        "rows": len(labels),
        "auc": roc_auc(labels, probabilities),
        "brier": brier(labels, probabilities),
        "log_loss": log_loss(labels, probabilities),
        "accuracy": accuracy(labels, probabilities),
        "ks": ks_statistic(labels, probabilities),
        "approval_rate_at_threshold": sum(p >= approve_threshold for p in probabilities) / len(labels),
        "observed_approval_rate": sum(labels) / len(labels),
    }
