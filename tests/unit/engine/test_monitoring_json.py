"""The accumulator's JSON round trip: a monitoring run's parts are stored as JSON between the part
that counted them and the merge (chalicelib.service.monitoring's fan-out)."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.engine import monitoring
from chalicelib.engine.monitoring import Accumulator
from tests.unit.engine.test_monitoring import THRESHOLDS, accumulate, decision, training_reference


def _through_json(accumulator: Accumulator) -> Accumulator:
    text = json.dumps(accumulator.to_json(), allow_nan=False)
    return Accumulator.from_json(json.loads(text), accumulator.reference)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), rows=st.integers(0, 300), with_reference=st.booleans())
def test_a_round_trip_gives_the_same_report(seed: int, rows: int, with_reference: bool) -> None:
    rng = random.Random(seed)
    reference = training_reference(rng, rows=200) if with_reference else None
    original = accumulate(reference, [decision(rng, i) for i in range(rows)])
    restored = _through_json(original)
    assert restored.to_json() == original.to_json()
    assert monitoring.report(
        restored, reference=reference, baseline_approval_rate=0.6, thresholds=THRESHOLDS
    ) == monitoring.report(original, reference=reference, baseline_approval_rate=0.6, thresholds=THRESHOLDS)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    order=st.randoms(use_true_random=False),
)
def test_merging_round_tripped_parts_equals_one_pass(
    seed: int, cuts: list[int], order: random.Random
) -> None:
    rng = random.Random(seed)
    reference = training_reference(rng, rows=200)
    rows = [decision(rng, i) for i in range(300)]
    whole = monitoring.report(
        accumulate(reference, rows), reference=reference, baseline_approval_rate=0.6, thresholds=THRESHOLDS
    )
    bounds = [0, *sorted(cuts), len(rows)]
    parts = [_through_json(accumulate(reference, rows[a:b])) for a, b in itertools.pairwise(bounds)]
    order.shuffle(parts)
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    assert (
        monitoring.report(merged, reference=reference, baseline_approval_rate=0.6, thresholds=THRESHOLDS)
        == whole
    )


def test_a_document_counted_against_another_reference_is_refused() -> None:
    rng = random.Random(3)
    reference = training_reference(rng, rows=100)
    document = accumulate(reference, [decision(rng, 0)]).to_json()
    with pytest.raises(ValueError, match="reference"):
        Accumulator.from_json(document, None)
    other = {**reference, "model_sha256": "another-model"}
    with pytest.raises(ValueError, match="reference"):
        Accumulator.from_json(document, other)  # type: ignore[arg-type]
