"""Run-time scoring of the scorecard in plain Python: bin lookup and integer points, nothing else.

A numeric value outside the training range falls in the edge bin of its feature (the first bin below
the lowest cut point, the last above the highest): the scorecard never extrapolates beyond the points
it learned. ``out_of_training_range`` lists such features so a reviewer can see it happened.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from typing import NamedTuple

from chalicelib.engine.artifact import Model
from chalicelib.engine.features import Features, categories_of, model_features, numbers_of
from chalicelib.engine.types import Application


class Contribution(NamedTuple):
    feature: str
    value: float | str  # the feature as scored: a number (0/1 for a flag) or a category
    points: int
    best_points: int
    bin_index: int  # numeric: bin number; categorical: -1


class Score(NamedTuple):
    score: int  # base points + sum of contribution points, exactly
    probability: float
    contributions: tuple[Contribution, ...]
    features: Features
    out_of_training_range: tuple[str, ...]


def score_features(model: Model, features: Mapping[str, float | str]) -> Score:
    contributions: list[Contribution] = []
    total = model.base_points
    out_of_range: list[str] = []
    numbers, categories = numbers_of(features), categories_of(features)
    for feature in model.numeric:
        value = numbers[feature.name]
        index = bisect_right(feature.edges, value)
        points = feature.points[index]
        total += points
        contributions.append(Contribution(feature.name, value, points, feature.best_points, index))
        if value < feature.training_min or value > feature.training_max:
            out_of_range.append(feature.name)
    for category in model.categorical:
        label = categories[category.name]
        points = category.points[label]
        total += points
        contributions.append(Contribution(category.name, label, points, category.best_points, -1))
    return Score(total, model.probability(total), tuple(contributions), dict(features), tuple(out_of_range))


def score_application(model: Model, application: Application) -> Score:
    """Score one validated application (see ``schema.validate_application``)."""
    return score_features(model, model_features(application))


def probability_of(
    model: Model, application: Application, ratios: Mapping[str, float] | None = None
) -> float:
    """Just the approval probability: the fast path for batch scoring, evaluation and counterfactuals."""
    features = model_features(application, ratios)
    numbers, categories = numbers_of(features), categories_of(features)
    total = model.base_points
    for feature in model.numeric:
        total += feature.points[bisect_right(feature.edges, numbers[feature.name])]
    for category in model.categorical:
        total += category.points[categories[category.name]]
    return model.probability(total)
