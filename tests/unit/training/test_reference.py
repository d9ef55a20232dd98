"""Monitoring's reference distribution: which reference a model document names (the packaged sidecar,
an inline one, none). The sidecar's render from the training rows, and its proportions, are checked
against a refit in tests/training/test_training_refit.py (make test)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.engine import monitoring
from chalicelib.engine.artifact import load_model


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
