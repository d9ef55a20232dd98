"""The run-time scorer: plain Python, exact sums, monotone points (the scikit-learn comparison is in
tests/training)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from itertools import pairwise

import pytest
from engine_test_support import PROJECT_DIR, strong_application, training_rows

from chalicelib.engine.artifact import ARTIFACT_PATH, build_model, canonical_sha256, load_model
from chalicelib.engine.scorecard import probability_of, score_application

HEAVY_MODULES = ("sklearn", "numpy", "scipy", "pandas")


def test_importing_and_deciding_loads_no_numeric_library() -> None:
    code = (
        "import sys\n"
        "from chalicelib.engine import decide, packaged_version, validate_application\n"
        "sys.path.insert(0, 'tests/unit/engine')\n"
        "from engine_test_support import strong_application\n"
        "decide(validate_application(strong_application(cibil_score=640)), *packaged_version())\n"
        f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_no_engine_module_imports_a_numeric_library() -> None:
    for path in (PROJECT_DIR / "chalicelib").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for module in HEAVY_MODULES:
            assert f"import {module}" not in text and f"from {module}" not in text, path


def test_contributions_sum_exactly_to_the_score_on_every_row() -> None:
    model = load_model()
    for application, _ in training_rows():
        result = score_application(model, application)
        assert model.base_points + sum(c.points for c in result.contributions) == result.score
        assert all(isinstance(c.points, int) for c in result.contributions)


def test_probability_follows_the_documented_scaling() -> None:
    model = load_model()
    result = score_application(model, strong_application(cibil_score=650))
    scaling = model.document["scaling"]
    log_odds = (result.score - scaling["score_at_even_odds"]) / scaling["points_per_log_odds"]
    assert result.probability == pytest.approx(1 / (1 + math.exp(-log_odds)), abs=1e-15)


def test_every_numeric_factor_is_monotone_in_its_direction() -> None:
    for feature in load_model().numeric:
        steps = [b - a for a, b in pairwise(feature.points)]
        assert all(step * feature.direction >= 0 for step in steps), feature.name
        assert min(feature.points) == 0, feature.name


def test_monotone_in_the_raw_fields_too() -> None:
    model = load_model()

    def probability(**changes: object) -> float:
        return probability_of(model, strong_application(**changes))

    for field, values, direction in (
        ("cibil_score", range(300, 901, 10), +1),
        ("late_payments_last_2_years", range(0, 15), -1),
        ("existing_emi", range(0, 100_001, 2_500), -1),
        ("loan_amount", range(25_000, 3_000_001, 25_000), -1),
        ("monthly_income", range(10_000, 300_001, 5_000), +1),
        ("age", range(18, 101), +1),
        ("years_at_current_job", range(0, 40), +1),
        ("credit_history_years", range(0, 40), +1),
    ):
        series = [probability(**{field: v}) for v in values]
        assert all((b - a) * direction >= 0 for a, b in pairwise(series)), field
        assert series[0] != series[-1], field
    assert probability(has_defaults=True) <= probability(has_defaults=False)


def test_values_outside_the_training_range_use_the_edge_bin() -> None:
    model = load_model()
    rich = score_application(model, strong_application(monthly_income=5_000_000))
    richest_seen = score_application(model, strong_application(monthly_income=257_000))
    income = next(c for c in rich.contributions if c.feature == "monthly_income")
    assert income.points == income.best_points
    assert "monthly_income" in rich.out_of_training_range
    assert "monthly_income" not in richest_seen.out_of_training_range


def test_the_artifact_hash_is_its_canonical_content_and_tampering_is_refused() -> None:
    document = json.loads(ARTIFACT_PATH.read_text(encoding="utf-8"))
    assert document["sha256"] == canonical_sha256(document)
    build_model(document)
    document["base_points"] += 1
    with pytest.raises(ValueError, match="hash mismatch"):
        build_model(document)


def test_held_out_metrics_meet_the_targets() -> None:
    test = load_model().document["metrics"]["test"]
    assert test["auc"] >= 0.995
    assert test["brier"] <= 0.022


def test_the_artifact_is_read_lazily_once_per_process() -> None:
    code = (
        "import sys\n"
        "from chalicelib.engine import decide, model_info, packaged_version\n"
        "from chalicelib.engine.artifact import load_model\n"
        "before = load_model.cache_info().currsize\n"
        "sys.path.insert(0, 'tests/unit/engine')\n"
        "from engine_test_support import strong_application\n"
        "decide(strong_application(), *packaged_version())\n"
        "first = load_model()\n"
        "decide(strong_application(cibil_score=640), *packaged_version())\n"
        "model_info()\n"
        "print(before, load_model.cache_info().misses, load_model() is first)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["0", "1", "True"]
