"""The model artifact: a versioned JSON scorecard, loaded once per process and pre-digested for speed.

The artifact (``model_artifact.json`` beside this module) is written by ``make train``. Its
``sha256`` is the SHA-256 of the artifact's canonical JSON *without* the ``sha256`` key
(``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, UTF-8): anyone can
recompute it with :func:`canonical_sha256`, and :func:`load_model` refuses an artifact whose
content does not match its recorded hash.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from pathlib import Path
from typing import Any, NamedTuple

from chalicelib.engine.types import RISK_BANDS, ModelInfo, RiskBand

ARTIFACT_PATH = Path(__file__).with_name("model_artifact.json")


def canonical_json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def canonical_sha256(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``document`` minus its ``sha256`` key."""
    return hashlib.sha256(canonical_json({k: v for k, v in document.items() if k != "sha256"})).hexdigest()


class NumericFeature(NamedTuple):
    name: str
    edges: tuple[float, ...]  # bin index = number of edges <= value (bisect_right)
    points: tuple[int, ...]
    direction: int  # +1 higher is better, -1 lower is better
    best_points: int
    training_min: float
    training_max: float


class CategoricalFeature(NamedTuple):
    name: str
    points: dict[str, int]
    best_points: int
    best_category: str


class Model(NamedTuple):
    document: dict[str, Any]
    model_id: str
    version: str
    sha256: str
    base_points: int
    score_at_even_odds: int
    points_per_log_odds: float
    numeric: tuple[NumericFeature, ...]
    categorical: tuple[CategoricalFeature, ...]
    approve_threshold: float
    review_threshold: float
    low_confidence_margin: float
    risk_bands: tuple[tuple[RiskBand, float], ...]  # (band, minimum probability), best band first

    def probability(self, score: int) -> float:
        log_odds = (score - self.score_at_even_odds) / self.points_per_log_odds
        if log_odds >= 0:
            return 1.0 / (1.0 + math.exp(-log_odds))
        odds = math.exp(log_odds)  # no overflow for very negative scores
        return odds / (1.0 + odds)

    def risk_band(self, probability: float) -> RiskBand:
        for band, minimum in self.risk_bands:
            if probability >= minimum:
                return band
        return self.risk_bands[-1][0]

    def info(self) -> ModelInfo:
        return {"id": self.model_id, "version": self.version, "sha256": self.sha256}


def _risk_band(name: object) -> RiskBand:
    band = next((band for band in RISK_BANDS if band == name), None)
    if band is None:
        raise ValueError(f"model artifact: unknown risk band {name!r} (known: {', '.join(RISK_BANDS)})")
    return band


def build_model(document: dict[str, Any]) -> Model:
    """Check the hash and pre-digest the artifact (everything decide() needs, computed once)."""
    expected = canonical_sha256(document)
    if document.get("sha256") != expected:
        raise ValueError(
            f"model artifact hash mismatch: recorded {document.get('sha256')}, content {expected}"
        )
    numeric: list[NumericFeature] = []
    categorical: list[CategoricalFeature] = []
    for spec in document["features"]:
        if spec["kind"] == "numeric":
            points = tuple(int(p) for p in spec["points"])
            numeric.append(
                NumericFeature(
                    name=spec["name"],
                    edges=tuple(float(e) for e in spec["edges"]),
                    points=points,
                    direction=1 if spec["direction"] == "increasing" else -1,
                    best_points=max(points),
                    training_min=float(spec["training_range"][0]),
                    training_max=float(spec["training_range"][1]),
                )
            )
        else:
            category_points = {str(k): int(v) for k, v in spec["points"].items()}
            best = max(category_points, key=lambda c: (category_points[c], c))
            categorical.append(CategoricalFeature(spec["name"], category_points, category_points[best], best))
    thresholds = document["thresholds"]
    scaling = document["scaling"]
    return Model(
        document=document,
        model_id=document["model_id"],
        version=document["version"],
        sha256=document["sha256"],
        base_points=int(document["base_points"]),
        score_at_even_odds=int(scaling["score_at_even_odds"]),
        points_per_log_odds=float(scaling["points_per_log_odds"]),
        numeric=tuple(numeric),
        categorical=tuple(categorical),
        approve_threshold=float(thresholds["approve"]),
        review_threshold=float(thresholds["review"]),
        low_confidence_margin=float(thresholds["low_confidence_margin"]),
        risk_bands=tuple(
            (_risk_band(band["band"]), float(band["min_probability"])) for band in document["risk_bands"]
        ),
    )


@functools.cache
def load_model(path: Path = ARTIFACT_PATH) -> Model:
    """The shipped model, read and checked on first use, then shared by every call in the process."""
    return build_model(json.loads(path.read_text(encoding="utf-8")))
