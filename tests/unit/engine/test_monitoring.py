"""Monitoring figures (pure): every figure of a report against an independent numpy / scikit-learn
computation on the same rows; merging accumulators in any split gives the same report; alerts fire
on figures built to cross their thresholds and never below the minimum n."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score, roc_curve  # type: ignore[import-untyped]

from chalicelib import resources
from chalicelib.engine import monitoring
from chalicelib.engine.monitoring import (
    Accumulator,
    MonitoredDecision,
    MonitoringThresholds,
    ReferenceDistribution,
)
from chalicelib.engine.validation import age_band

THRESHOLDS = MonitoringThresholds(*resources.MONITORING_THRESHOLDS)
PURPOSES = ("home", "car", "education", "personal")
INCOME_EDGES = (30000.0, 45000.0, 65000.0)
SCORE_EDGES = (0.2, 0.45, 0.65, 0.85, 0.95)


def training_reference(rng: random.Random, rows: int = 4000) -> ReferenceDistribution:
    probabilities = [round(rng.betavariate(3, 1.2), 6) for _ in range(rows)]
    incomes = [rng.uniform(15000, 120000) for _ in range(rows)]
    purposes = [rng.choice(PURPOSES[:3]) for _ in range(rows)]  # "personal" never seen in training
    return monitoring.reference_from(
        "sha-of-the-model",
        probabilities,
        [monitoring.log_odds(p) for p in SCORE_EDGES],
        [("monthly_income", INCOME_EDGES, incomes), ("loan_purpose", None, purposes)],
    )


def decision(
    rng: random.Random,
    i: int,
    *,
    probability: float | None = None,
    outcome: str | None = None,
    drift: float = 0.0,
) -> MonitoredDecision:
    p = probability if probability is not None else round(min(1.0, rng.betavariate(3, 1.2) + drift), 6)
    chosen = outcome or ("approved" if p >= 0.65 else "manual_review" if p >= 0.45 else "declined")
    reviewed = chosen == "manual_review" and rng.random() < 0.7
    characteristics: dict[str, float | str] = {
        "monthly_income": rng.uniform(15000, 120000) * (1 + drift),
        "loan_purpose": rng.choice(PURPOSES),
    }
    if rng.random() < 0.02:
        del characteristics["monthly_income"]
    good = rng.random() < p
    return MonitoredDecision(
        decision_id=f"d{i}",
        client_id="client-a",
        decision_version="v1",
        arm=rng.choice(("champion", "challenger")),
        created_at=f"2026-12-01T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
        outcome=chosen,
        decided_by="model",
        probability=p,
        reason_codes=tuple(sorted(rng.sample(("R1", "R2", "R3", "R4"), k=rng.randint(0, 2)))),
        gender=rng.choice(("female", "male", "male", None)),
        age=rng.choice((None, rng.randint(18, 70))),
        characteristics=characteristics,
        final_outcome=rng.choice(("approved", "declined", "counteroffer")) if reviewed else None,
        review_sla_breached=reviewed and rng.random() < 0.1,
        loan_status=rng.choice(("current", "paid_off")) if good else rng.choice(monitoring.LOAN_STATUSES),
    )


def accumulate(reference: ReferenceDistribution | None, rows: Sequence[MonitoredDecision]) -> Accumulator:
    return Accumulator(reference).add_all(rows)


# -- independent computations (numpy / scikit-learn) ----------------------------------------------
def numpy_psi(expected: np.ndarray, actual_counts: np.ndarray) -> float:
    actual = actual_counts / actual_counts.sum()
    e = np.clip(expected, 1e-4, None)
    a = np.clip(actual, 1e-4, None)
    return float(np.sum((a - e) * np.log(a / e)))


def test_figures_equal_an_independent_computation() -> None:
    rng = random.Random(20)
    reference = training_reference(rng)
    rows = [decision(rng, i) for i in range(3000)]
    result = monitoring.report(
        accumulate(reference, rows), reference=reference, baseline_approval_rate=0.5, thresholds=THRESHOLDS
    )

    probability = np.array([d.probability for d in rows])
    outcome = np.array([d.outcome for d in rows])
    assert result["decisions"] == len(rows)
    assert result["outcomes"] == {o: int(np.sum(outcome == o)) for o in monitoring.OUTCOMES}
    approval = float(np.mean(outcome == "approved"))
    assert result["approval"]["rate"] == pytest.approx(approval, abs=1e-12)
    assert result["approval"]["change"] == pytest.approx(approval - 0.5, abs=1e-12)

    # score PSI: np.digitize(right=False) counts the edges <= value, like the reference's bins
    score_counts = np.bincount(np.digitize(probability, SCORE_EDGES), minlength=len(SCORE_EDGES) + 1)
    assert result["score"] is not None
    assert [b["n"] for b in result["score"]["bins"]] == score_counts.tolist()
    expected = np.array(reference["score"]["proportions"])
    assert result["score"]["psi"] == pytest.approx(numpy_psi(expected, score_counts), abs=1e-12)

    income_ref, purpose_ref = reference["characteristics"]
    incomes = np.array(
        [d.characteristics["monthly_income"] for d in rows if "monthly_income" in d.characteristics]
    )
    income_counts = np.bincount(np.digitize(incomes, INCOME_EDGES), minlength=len(INCOME_EDGES) + 1)
    income, purpose = result["characteristics"]
    assert income["n"] == len(incomes) and income["missing"] == len(rows) - len(incomes) > 0
    assert income["psi"] == pytest.approx(
        numpy_psi(np.array(income_ref["proportions"]), income_counts), abs=1e-12
    )
    seen = purpose_ref["categories"]
    assert seen == ["car", "education", "home"]
    purposes = np.array([d.characteristics["loan_purpose"] for d in rows])
    purpose_counts = np.array([np.sum(purposes == c) for c in seen] + [np.sum(~np.isin(purposes, seen))])
    assert purpose["psi"] == pytest.approx(
        numpy_psi(np.array([*purpose_ref["proportions"], 0.0]), purpose_counts), abs=1e-12
    )
    assert purpose["bins"][-1]["bin"] == monitoring.OTHER and purpose["bins"][-1]["n"] > 0
    assert purpose["status"] == "shifted"  # a quarter of the decisions in a category training never saw

    # AUC and KS on matured loans: good (current, paid off) = 1, bad (dpd90, default, charged off) = 0
    status = np.array([d.loan_status for d in rows])
    good = np.isin(status, ["current", "paid_off"])
    bad = np.isin(status, ["dpd90", "default", "charged_off"])
    matured = good | bad
    labels, scores = good[matured].astype(int), probability[matured]
    performance = result["performance"]
    assert performance["matured"] == int(matured.sum()) and performance["bad"] == int(bad.sum())
    assert performance["auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert performance["ks"] == pytest.approx(float(np.max(np.abs(tpr - fpr))), abs=1e-12)
    band = np.digitize(scores, SCORE_EDGES)
    for row in performance["calibration"]:
        index = monitoring.bin_labels(SCORE_EDGES).index(row["band"])
        in_band = band == index
        assert row["matured"] == int(in_band.sum())
        assert row["realised_bad_rate"] == pytest.approx(float(np.mean(labels[in_band] == 0)), abs=1e-12)
        # the log-odds are kept to 1e-6: a probability to 2.5e-7 at most
        assert row["predicted_bad_rate"] == pytest.approx(float(np.mean(1 - scores[in_band])), abs=1e-6)

    # fairness: approval rate per group, disparate impact among groups of n >= 100, TPR among good loans
    approved = outcome == "approved"
    for fairness, keys in (
        ("gender", np.array([d.gender or "unknown" for d in rows])),
        ("age_band", np.array([age_band(d.age) if d.age is not None else "unknown" for d in rows])),
    ):
        figures = next(f for f in result["fairness"] if f["attribute"] == fairness)
        names = sorted(set(keys.tolist()))
        assert [g["group"] for g in figures["groups"]] == names
        rates = {name: float(np.mean(approved[keys == name])) for name in names}
        sizes = {name: int(np.sum(keys == name)) for name in names}
        for group in figures["groups"]:
            assert group["n"] == sizes[group["group"]]
            assert group["approval_rate"] == pytest.approx(rates[group["group"]], abs=1e-12)
            good_in_group = good & (keys == group["group"])
            assert group["matured_good"] == int(good_in_group.sum())
            assert group["true_positive_rate"] == pytest.approx(float(np.mean(approved[good_in_group])))
        judged = [name for name in names if sizes[name] >= THRESHOLDS.fairness_min_n and name != "unknown"]
        eligible = [rates[name] for name in judged]
        assert sizes["unknown"] >= THRESHOLDS.fairness_min_n  # large, yet never judged
        for group in figures["groups"]:
            assert (group["ratio"] is None) == (group["group"] not in judged)
        assert len(eligible) >= 2
        assert figures["disparate_impact"] == pytest.approx(min(eligible) / max(eligible), abs=1e-12)

    # overrides: the review desk's rule (leaning approve when p >= 0.5; a counteroffer agrees with decline)
    closed = [d for d in rows if d.final_outcome is not None]
    overridden = [
        d
        for d in closed
        if d.final_outcome != ("approved" if d.probability >= 0.5 else "declined")
        and not (d.final_outcome == "counteroffer" and d.probability < 0.5)
    ]
    assert result["overrides"]["reviews_closed"] == len(closed) > 0
    assert result["overrides"]["rate"] == pytest.approx(len(overridden) / len(closed))
    assert result["overrides"]["sla_breaches"] == sum(d.review_sla_breached for d in rows)
    codes = [c for d in rows for c in d.reason_codes]
    assert result["reason_codes"] == {c: codes.count(c) for c in sorted(set(codes))}


def test_auc_and_ks_count_ties_as_scikit_learn_does() -> None:
    good = {500: 3, 700: 5, 900: 2}
    bad = {500: 4, 700: 1, 100: 2}
    labels = [1] * 10 + [0] * 7
    scores = [0.5] * 3 + [0.7] * 5 + [0.9] * 2 + [0.5] * 4 + [0.7] + [0.1] * 2
    assert monitoring.auc_from_counts(good, bad) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    assert monitoring.ks_from_counts(good, bad) == pytest.approx(float(np.max(np.abs(tpr - fpr))))
    assert monitoring.auc_from_counts(good, {}) is None and monitoring.ks_from_counts({}, bad) is None


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(0, 300), max_size=5),
    order=st.randoms(use_true_random=False),
)
def test_merging_any_split_gives_the_same_report(seed: int, cuts: list[int], order: random.Random) -> None:
    rng = random.Random(seed)
    reference = training_reference(rng, rows=200)
    rows = [decision(rng, i) for i in range(300)]
    whole = monitoring.report(
        accumulate(reference, rows), reference=reference, baseline_approval_rate=0.6, thresholds=THRESHOLDS
    )
    bounds = [0, *sorted(cuts), len(rows)]
    parts = [accumulate(reference, rows[a:b]) for a, b in itertools.pairwise(bounds)]
    order.shuffle(parts)
    merged = parts[0]
    for part in parts[1:]:
        merged = part.merge(merged) if order.random() < 0.5 else merged.merge(part)
    assert (
        monitoring.report(merged, reference=reference, baseline_approval_rate=0.6, thresholds=THRESHOLDS)
        == whole
    )


def test_merge_refuses_another_reference_and_leaves_its_inputs_alone() -> None:
    rng = random.Random(1)
    reference = training_reference(rng, rows=100)
    one, two = accumulate(reference, [decision(rng, 0)]), accumulate(reference, [decision(rng, 1)])
    assert one.merge(two).decisions == 2 and one.decisions == two.decisions == 1
    with pytest.raises(ValueError, match="reference"):
        one.merge(Accumulator(None))


def test_the_accumulator_keeps_counts_not_rows() -> None:
    rng = random.Random(2)
    reference = training_reference(rng, rows=100)
    # a scorecard's probability takes few values (integer scores): 200 of them here
    probabilities = [round(rng.random(), 6) for _ in range(200)]
    acc = Accumulator(reference)
    for i in range(20_000):
        acc.add(decision(rng, i, probability=rng.choice(probabilities)))
    # all decisions, of good and of bad loans per probability; 96 quarter hours of one day; 4 reason
    # codes; 5 + 5 characteristic bins; 3 genders and 7 age bands at most
    bound = 3 * len(set(probabilities)) + 96 + 4 + 10 + 10
    assert acc.decisions == 20_000 and acc.size <= bound < 800


def codes(result: monitoring.VersionReport) -> set[tuple[str, str]]:
    return {(a["code"], a["metric"]) for a in result["alerts"]}


def test_drift_alerts_need_the_minimum_n() -> None:
    rng = random.Random(3)
    reference = training_reference(rng)
    drifted = [decision(rng, i, probability=round(rng.uniform(0.0, 0.3), 6), drift=1.0) for i in range(2000)]
    small = drifted[: THRESHOLDS.psi_min_n - 1]
    few = monitoring.report(
        accumulate(reference, small), reference=reference, baseline_approval_rate=None, thresholds=THRESHOLDS
    )
    assert few["score"] is not None and few["score"]["psi"] is not None
    assert few["score"]["psi"] > THRESHOLDS.psi_alert and few["score"]["status"] == "insufficient"
    assert not {c for c in codes(few) if c[0] in ("score_psi", "characteristic_csi")}
    many = monitoring.report(
        accumulate(reference, drifted),
        reference=reference,
        baseline_approval_rate=None,
        thresholds=THRESHOLDS,
    )
    assert {("score_psi", "score"), ("characteristic_csi", "monthly_income")} <= codes(many)
    alert = next(a for a in many["alerts"] if a["code"] == "score_psi")
    assert alert["n"] == 2000 and alert["threshold"] == THRESHOLDS.psi_alert
    steady = monitoring.report(
        accumulate(reference, [decision(rng, i) for i in range(2000)]),
        reference=reference,
        baseline_approval_rate=None,
        thresholds=THRESHOLDS,
    )
    assert steady["score"] is not None and steady["score"]["status"] == "stable"
    assert ("score_psi", "score") not in codes(steady)


def test_approval_override_fairness_and_spike_alerts() -> None:
    t = THRESHOLDS._replace(rejection_rate_min_decisions=20)
    rows: list[MonitoredDecision] = []
    base = MonitoredDecision(
        "d",
        "c",
        "v1",
        "champion",
        "2026-12-01T10:00:00Z",
        "approved",
        "model",
        0.9,
        (),
        "female",
        30,
        {},
        None,
        False,
        None,
    )
    # women approved 100 of 150; men 40 of 150 (ratio 0.4); 30 reviews, 10 against the model's leaning
    for i in range(150):
        rows.append(base._replace(decision_id=f"f{i}", outcome="approved" if i < 100 else "declined"))
        rows.append(
            base._replace(decision_id=f"m{i}", gender="male", outcome="approved" if i < 40 else "declined")
        )
    for i in range(30):
        rows.append(
            base._replace(
                decision_id=f"r{i}",
                gender=None,
                outcome="manual_review",
                probability=0.7,
                final_outcome="declined" if i < 10 else "approved",
            )
        )
    # 25 decisions in one quarter hour, 20 declined
    for i in range(25):
        rows.append(
            base._replace(
                decision_id=f"s{i}",
                gender=None,
                created_at=f"2026-12-01T23:{50 + i % 9}:00Z",
                outcome="declined" if i < 20 else "approved",
            )
        )
    result = monitoring.report(
        accumulate(None, rows), reference=None, baseline_approval_rate=0.8, thresholds=t
    )
    found = codes(result)
    assert ("approval_rate_move", "approval_rate") in found  # 145/355 = 0.41 against 0.8
    assert ("override_rate", "override_rate") in found  # 10/30
    assert ("disparate_impact", "gender") in found
    assert ("rejection_rate_spike", "2026-12-01T23:45") in found
    gender = next(f for f in result["fairness"] if f["attribute"] == "gender")
    assert gender["disparate_impact"] == pytest.approx((40 / 150) / (100 / 150))
    assert next(g for g in gender["groups"] if g["group"] == "unknown")["ratio"] is None  # 55 < 100
    assert result["score"] is None and result["characteristics"] == []
    # the same figures under the minimums: reported, not alerted on
    quiet = monitoring.report(
        accumulate(None, rows),
        reference=None,
        baseline_approval_rate=0.8,
        thresholds=t._replace(
            approval_rate_min_n=1000,
            override_min_reviews=31,
            fairness_min_n=151,
            rejection_rate_min_decisions=26,
        ),
    )
    assert quiet["alerts"] == []
    assert quiet["overrides"]["rate"] == pytest.approx(1 / 3)
    assert next(f for f in quiet["fairness"] if f["attribute"] == "gender")["disparate_impact"] is None


def test_thresholds_declared_once_match_the_engine_fields() -> None:
    assert resources.MonitoringAlertThresholds._fields == MonitoringThresholds._fields
    assert THRESHOLDS.psi_alert == 0.25 and THRESHOLDS.psi_watch == 0.10
    assert THRESHOLDS.approval_rate_move == 0.10 and THRESHOLDS.override_rate == 0.20
    assert THRESHOLDS.disparate_impact == 0.8 and THRESHOLDS.fairness_min_n == 100


def test_probabilities_near_one_keep_their_order() -> None:
    # A good scorecard puts most applicants near 1: 0.999998 and 0.999999 are 0.7 log-odds apart,
    # 20 scorecard points at 20 points to double the odds, and must not tie.
    base = MonitoredDecision(
        "d",
        "c",
        "v1",
        "champion",
        "2026-12-01T10:00:00Z",
        "approved",
        "model",
        0.999999,
        (),
        None,
        None,
        {},
        None,
        False,
        "paid_off",
    )
    rows = [base, base._replace(probability=0.999998, loan_status="default"), base._replace(probability=1.0)]
    acc = accumulate(None, rows)
    assert len(acc.log_odds) == 3
    performance = monitoring.report(acc, reference=None, baseline_approval_rate=None, thresholds=THRESHOLDS)[
        "performance"
    ]
    labels, scores = [1, 0, 1], [0.999999, 0.999998, 1.0]
    assert performance["auc"] == roc_auc_score(labels, scores) == 1.0
    assert monitoring.log_odds(1.0) < math.inf and monitoring.log_odds(0.0) > -math.inf
