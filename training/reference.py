"""The training distribution monitoring compares live decisions with (``engine.monitoring``'s PSI/CSI).

Written by ``make train`` beside the artifact (``chalicelib/engine/model_reference.json``, keyed by the
artifact's sha256) rather than inside it: the artifact's bytes, and so its sha256 that every decision
names, stay what they were. The rows are the ones the shipped scorecard was fitted on (train +
validation). Characteristic bins: the scorecard's own attribute bins (numeric edges) and categories.

Score bins: the deciles of the fitted rows' scorecard points, as far as a stored decision can tell
them apart. A decision keeps the model's probability to 6 decimals (``engine.decision.
PROBABILITY_DIGITS``), which separates consecutive scores only up to about 900 points (1 - p above
3e-5) and none from about 1,020 (p rounds to 1): a decile the stored probability cannot resolve moves
to the nearest score it can (so the top bin is wider than a tenth). Each edge lies halfway between
the stored probabilities of its score and the score below, in log-odds, so every stored decision
falls on one side of it; the reference bins the training rows' probabilities rounded exactly so.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chalicelib.engine.artifact import Model
from chalicelib.engine.decision import PROBABILITY_DIGITS
from chalicelib.engine.features import model_features
from chalicelib.engine.monitoring import REFERENCE_PATH, ReferenceDistribution, log_odds, reference_from
from chalicelib.engine.scorecard import score_application
from chalicelib.engine.types import Application

SCORE_QUANTILES = tuple(i / 10 for i in range(1, 10))  # deciles
SEARCH_POINTS = 1000  # how far from a decile a resolvable score is looked for


def stored_probability(model: Model, score: int) -> float:
    """The model's probability as a decision records it."""
    return round(model.probability(score), PROBABILITY_DIGITS)


def resolvable(model: Model, score: int) -> bool:
    """Can a stored decision tell ``score`` from ``score - 1`` (and from a probability of 1)?"""
    return stored_probability(model, score - 1) != stored_probability(model, score) < 1.0


def score_edges(model: Model, scores: Sequence[int]) -> list[int]:
    """The deciles of the scores (method "lower": each is a score some row has), each moved to the
    nearest score a stored decision resolves."""
    deciles = np.quantile(np.array(scores), SCORE_QUANTILES, method="lower")
    edges: set[int] = set()
    for decile in (int(q) for q in deciles):
        nearest = next(
            (
                q
                for distance in range(SEARCH_POINTS)
                for q in (decile - distance, decile + distance)
                if resolvable(model, q)
            ),
            None,
        )
        if nearest is not None:
            edges.add(nearest)
    return sorted(edges)


def edge_log_odds(model: Model, edge: int) -> float:
    """Halfway between the stored probabilities of ``edge - 1`` and ``edge``, in log-odds."""
    return log_odds((stored_probability(model, edge - 1) + stored_probability(model, edge)) / 2)


def score_labels(edges: Sequence[int]) -> list[str]:
    if not edges:
        return ["all scores"]
    return (
        [f"score < {edges[0]}"]
        + [f"score {low} - {high - 1}" for low, high in itertools.pairwise(edges)]
        + [f"score >= {edges[-1]}"]
    )


def reference_document(model: Model, applications: Sequence[Application]) -> ReferenceDistribution:
    scored = [score_application(model, application) for application in applications]
    edges = score_edges(model, [s.score for s in scored])
    features = [model_features(application) for application in applications]
    characteristics: list[tuple[str, Sequence[float] | None, Sequence[float | str]]] = [
        (feature.name, feature.edges, [f[feature.name] for f in features]) for feature in model.numeric
    ] + [(category.name, None, [str(f[category.name]) for f in features]) for category in model.categorical]
    return reference_from(
        model.sha256,
        [stored_probability(model, s.score) for s in scored],
        [edge_log_odds(model, edge) for edge in edges],
        characteristics,
        score_labels(edges),
    )


def reference_bytes(reference: ReferenceDistribution) -> bytes:
    return (json.dumps(reference, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def write_reference(reference: ReferenceDistribution, path: Path = REFERENCE_PATH) -> None:
    path.write_bytes(reference_bytes(reference))
