"""Monitoring's reference distribution: the committed sidecar is its render from the training rows,
its proportions equal numpy's on those rows, and the shipped engine's decisions of the very rows it
was fitted on show a PSI and CSI of exactly 0 (the live binning is the reference's binning)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
from training_test_support import refitted_run

from chalicelib import resources
from chalicelib.engine import decide, monitoring, packaged_version
from chalicelib.engine.artifact import load_model
from chalicelib.engine.features import model_features
from chalicelib.engine.monitoring import MonitoredDecision, MonitoringThresholds
from chalicelib.engine.scorecard import score_application

THRESHOLDS = MonitoringThresholds(*resources.MONITORING_THRESHOLDS)


def fitted_rows() -> list[dict[str, object]]:
    from training.train import fitted_applications

    return fitted_applications(refitted_run())


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


def test_reference_of_reads_inline_references_and_knows_no_other_model() -> None:
    model = load_model()
    packaged = monitoring.packaged_reference()
    assert monitoring.reference_of(model) == monitoring.reference_of(model.document) == packaged
    other = {**model.document, "sha256": "0" * 64}
    assert monitoring.reference_of(other) is None
    inline: dict[str, Any] = json.loads(json.dumps(packaged))
    bins = len(packaged["score"]["proportions"])
    inline["score"]["proportions"] = [1 / bins] * bins
    with_inline = {**other, monitoring.INLINE_REFERENCE_KEY: inline}
    found = monitoring.reference_of(with_inline)
    assert (
        found is not None
        and found["model_sha256"] == "0" * 64
        and found["score"]["proportions"] == [1 / bins] * bins
    )
    inline["characteristics"][0]["proportions"] = [1.0]
    with pytest.raises(ValueError, match="characteristic age"):
        monitoring.reference_of(with_inline)
    del inline["score"]
    with pytest.raises(ValueError, match="score"):
        monitoring.reference_of(with_inline)
