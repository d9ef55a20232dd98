"""The validation report's maths and the promotion gates (pure): metrics against scikit-learn's,
four-fifths ratios by hand, each gate passing and failing on figures built for it; the packaged
holdout equal to its render from the training split."""

from __future__ import annotations

import copy
import random

import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score  # type: ignore[import-untyped]

from chalicelib import resources
from chalicelib.engine import validation
from chalicelib.engine.validation import Figures, GateLimits

LIMITS = GateLimits(*resources.PROMOTION_GATES)


def test_metrics_agree_with_scikit_learn() -> None:
    rng = random.Random(7)
    labels = [rng.randint(0, 1) for _ in range(500)]
    scores = [min(1.0, max(0.0, 0.3 * label + rng.random() * 0.7)) for label in labels]
    scores[:50] = [round(score, 1) for score in scores[:50]]  # ties
    assert validation.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert validation.brier(labels, scores) == pytest.approx(brier_score_loss(labels, scores), abs=1e-12)
    assert validation.ks_statistic([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert validation.ks_statistic([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4]) == 0.5


def test_four_fifths_ratios_and_group_sizes() -> None:
    groups = [("a", True)] * 50 + [("a", False)] * 50 + [("b", True)] * 30 + [("b", False)] * 70
    rates = validation.four_fifths(groups)
    assert rates == [
        {"group": "a", "n": 100, "approved": 50, "approval_rate": 0.5, "ratio": 1.0},
        {"group": "b", "n": 100, "approved": 30, "approval_rate": 0.3, "ratio": 0.6},
    ]
    assert [validation.age_band(age) for age in (18, 24, 25, 44, 54, 55, 80)] == [
        "18-24",
        "18-24",
        "25-34",
        "35-44",
        "45-54",
        "55+",
        "55+",
    ]


def figures(
    auc: float = 0.9, brier: float = 0.1, over: int = 0, ratio_b: float = 0.9, n_b: int = 200
) -> Figures:
    return {
        "rows": 400,
        "model": {"auc": auc, "ks": 0.5, "brier": brier},
        "outcomes": {"approved": 100, "manual_review": 50, "declined": 250},
        "approval_rate": 0.25,
        "approvals_over_ceiling": over,
        "max_approved_foir": 0.7 if over else 0.5,
        "four_fifths": {
            "gender": [
                {"group": "a", "n": 200, "approved": 60, "approval_rate": 0.3, "ratio": 1.0},
                {"group": "b", "n": n_b, "approved": 50, "approval_rate": 0.27, "ratio": ratio_b},
            ],
            "age_band": [],
        },
    }


def failed(candidate: Figures, champion: Figures | None) -> list[str]:
    return [gate["gate"] for gate in validation.gates(candidate, champion, LIMITS) if not gate["passed"]]


def test_each_gate_holds_and_fails_at_its_limit() -> None:
    champion = figures()
    assert failed(figures(), champion) == []
    assert failed(figures(auc=0.896), champion) == []  # 0.004 below
    assert failed(figures(auc=0.894), champion) == ["auc"]
    assert failed(figures(brier=0.104), champion) == []
    assert failed(figures(brier=0.106), champion) == ["brier"]
    assert failed(figures(over=1), champion) == ["affordability"]
    assert failed(figures(ratio_b=0.7), champion) == ["four_fifths"]
    # Small groups are reported, not gated; a ratio the champion shares is not the candidate's doing.
    assert failed(figures(ratio_b=0.7, n_b=99), champion) == []
    assert failed(figures(ratio_b=0.7), figures(ratio_b=0.75)) == []
    detail = next(
        g for g in validation.gates(figures(over=3), champion, LIMITS) if g["gate"] == "affordability"
    )
    assert detail["detail"].startswith("3 approvals with FOIR above 0.65")


def test_the_report_names_the_champion_and_its_verdict() -> None:
    holdout = validation.Holdout((), (), "packaged", "sha")
    report = validation.report(holdout, figures(auc=0.8), figures(), "v1", LIMITS)
    assert report["champion_version"] == "v1" and not report["passed"]
    assert [g["gate"] for g in validation.failed_gates(report)] == ["auc"]


def test_an_uploaded_holdout_names_its_bad_rows() -> None:
    text = validation.HOLDOUT_PATH.read_text(encoding="utf-8")
    header, first, second, *_ = text.splitlines()
    bad = copy.copy(second).replace(second.split(",")[0], "7", 1)  # age 7
    with pytest.raises(validation.InvalidHoldout) as error:
        validation.parse_holdout("\n".join([header, first, bad]).encode(), "uploaded")
    assert error.value.errors == [
        {"field": "holdout", "problem": "line 3: age: must be an integer from 18 to 100"}
    ]


def test_the_packaged_holdout_is_the_training_test_split_without_names() -> None:
    from training.holdout import render

    text = validation.HOLDOUT_PATH.read_text(encoding="utf-8")
    assert text == render()  # regenerate: python -m training.holdout
    assert "applicant_name" not in text.splitlines()[0]
    holdout = validation.packaged_holdout()
    assert len(holdout.labels) == 1000 and set(holdout.labels) == {0, 1}
