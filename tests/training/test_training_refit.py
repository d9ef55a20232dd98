"""Training fidelity (make test, not make check): one in-process refit of the shipped settings
(the validation search is skipped: the artifact records it), and what it must reproduce.

- make train: the refit equals the shipped artifact byte for byte, the run-time scorer equals the
  scikit-learn pipeline on every row, and docs/MODEL_CARD.md is exactly its render (lending policy
  included).
- Monitoring's reference distribution: the committed sidecar is its render from the training rows,
  its proportions equal numpy's on those rows, and the shipped engine's decisions of the very rows it
  was fitted on show a PSI and CSI of exactly 0 (the live binning is the reference's binning).

The refit is about 30 s of liblinear fits (20 of them), so these tests sit outside tests/unit (the
fast loop) and in one module: --dist loadfile keeps a module on one worker, so the refit (cached
below) runs once per make test instead of once per module.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pytest

from chalicelib import resources
from chalicelib.engine import decide, monitoring, packaged_version
from chalicelib.engine.artifact import ARTIFACT_PATH, build_model, load_model
from chalicelib.engine.features import model_features
from chalicelib.engine.monitoring import MonitoredDecision, MonitoringThresholds
from chalicelib.engine.scorecard import probability_of, score_application

THRESHOLDS = MonitoringThresholds(*resources.MONITORING_THRESHOLDS)


@functools.cache
def refitted_run() -> Any:  # -> training.train.TrainingRun (imported lazily: scikit-learn is slow to load)
    from training.train import run_training

    return run_training(reuse_selection=load_model().document["hyperparameters"]["validation_search"])


def fitted_rows() -> list[dict[str, object]]:
    from training.train import fitted_applications

    rows: list[dict[str, object]] = fitted_applications(refitted_run())
    return rows


def test_plain_python_equals_the_sklearn_pipeline_on_every_row() -> None:
    from training.scorecard_fit import build_pipeline

    run = refitted_run()
    applications = run.data.applications
    expected = build_pipeline(run.scorecard).predict_proba(applications)[:, 1]
    model = load_model()
    worst = max(abs(probability_of(model, a) - float(p)) for a, p in zip(applications, expected, strict=True))
    assert worst <= 1e-9


def test_retraining_rebuilds_the_shipped_artifact_byte_for_byte() -> None:
    """Same data + the recorded selection -> the committed artifact's exact bytes (determinism)."""
    from training.export import artifact_bytes

    assert artifact_bytes(refitted_run().document) == ARTIFACT_PATH.read_bytes()


def test_the_model_card_is_its_render_and_states_the_lending_policy() -> None:
    from training.model_card import (
        FOIR_LIMIT,
        FOIR_REVIEW,
        MODEL_CARD_PATH,
        POLICY,
        RATE_CARD,
        render_model_card,
    )

    run = refitted_run()
    model = build_model(run.document)
    card = render_model_card(run, model, lambda application: decide(application, model, POLICY))
    assert MODEL_CARD_PATH.read_text(encoding="utf-8") == card
    assert f"{FOIR_LIMIT:.0%}" in card and f"{FOIR_REVIEW:.0%}" in card
    for rate in RATE_CARD.values():
        assert f"{rate:.0%}" in card


def test_the_committed_reference_is_its_render_from_the_training_rows() -> None:
    from training.reference import reference_bytes, reference_document

    model = load_model()
    assert reference_bytes(reference_document(model, fitted_rows())) == monitoring.REFERENCE_PATH.read_bytes()
    reference = monitoring.packaged_reference()
    assert reference["model_sha256"] == model.sha256 and reference["rows"] == 4000


def test_the_reference_proportions_equal_numpy_on_the_training_rows() -> None:
    model = load_model()
    rows = fitted_rows()
    reference = monitoring.packaged_reference()
    scores = np.array([score_application(model, row).score for row in rows])
    # the score bins, named in points: "score < 182", "score 182 - 428", ..., "score >= 987"
    edges = [int(re.findall(r"\d+", label)[0]) for label in reference["score"]["labels"][1:]]
    assert len(edges) >= 6 and edges == sorted(set(edges))
    counts = np.bincount(np.digitize(scores, edges), minlength=len(edges) + 1)
    assert reference["score"]["proportions"] == pytest.approx((counts / len(rows)).tolist(), abs=1e-12)
    # below the top bin (the scores a stored probability cannot tell apart) they are deciles
    assert all(0.08 <= share <= 0.12 for share in reference["score"]["proportions"][:6])
    stored = np.round([model.probability(int(s)) for s in scores], 6)
    assert np.all(stored[scores >= edges[-1]] > np.max(stored[scores < edges[-1]]))
    features = [model_features(row) for row in rows]
    by_name = {ref["name"]: ref for ref in reference["characteristics"]}
    assert set(by_name) == {f.name for f in model.numeric} | {c.name for c in model.categorical}
    for feature in model.numeric:
        values = np.array([f[feature.name] for f in features])
        counts = np.bincount(np.digitize(values, feature.edges), minlength=len(feature.edges) + 1)
        assert by_name[feature.name]["edges"] == list(feature.edges)
        assert by_name[feature.name]["proportions"] == pytest.approx((counts / len(rows)).tolist(), abs=1e-12)


def test_the_training_rows_decided_by_the_shipped_engine_show_no_drift() -> None:
    model, policy = packaged_version()
    reference = monitoring.reference_of(model)
    assert reference is not None
    acc = monitoring.Accumulator(reference)
    for i, row in enumerate(fitted_rows()):
        decision = decide(row, model, policy)
        acc.add(
            MonitoredDecision(
                f"d{i}",
                "c",
                "v1",
                "champion",
                "2026-12-01T10:00:00Z",
                decision["outcome"],
                decision["decided_by"],
                decision["model_probability"],
                (),
                None,
                None,
                monitoring.characteristics_of(model, row),
                None,
                False,
                None,
            )
        )
    result = monitoring.report(acc, reference=reference, baseline_approval_rate=None, thresholds=THRESHOLDS)
    assert result["score"] is not None and result["score"]["psi"] == pytest.approx(0.0, abs=1e-12)
    assert len(result["characteristics"]) == len(reference["characteristics"]) == 13
    assert all(
        c["psi"] == pytest.approx(0.0, abs=1e-12) and c["missing"] == 0 for c in result["characteristics"]
    )
    assert not [a for a in result["alerts"] if a["code"] in ("score_psi", "characteristic_csi")]
