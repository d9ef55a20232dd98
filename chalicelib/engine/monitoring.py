"""Monitoring figures of stored decisions: drift, approval, overrides, fairness and outcomes (pure).

A monitoring run feeds every decision of one client and decision version in a window to an
:class:`Accumulator` (``add``), possibly in several pieces merged afterwards (``merge``: any split, any
order, the same report), and :func:`report` turns the counts into a :class:`VersionReport` with its
alerts. The accumulator keeps counts only, never rows: its size grows with the number of distinct
model probabilities (a scorecard's score is an integer, so a few thousand at most), reason codes,
groups and 15-minute buckets of the window, not with the number of decisions. Probabilities are kept
as their log-odds rounded to 1e-6 (``LOG_ODDS_STEP``): a probability's rank is kept (AUC and KS are
computed from counts per label per log-odds; ties share their rank), and the score bins keep their
resolution near 1, where a good scorecard puts most applicants (0.999 and 0.9999 are 2.3 log-odds
apart, 66 scorecard points at 20 points to double the odds).

Definitions (each a reference a model-risk reviewer can check):

- Population stability index (PSI) of the score and characteristic stability index (CSI) of each
  model characteristic: ``sum((actual - expected) * ln(actual / expected))`` over the reference bins,
  proportions floored at ``PROPORTION_FLOOR`` so an empty bin stays finite. Rule of thumb (Siddiqi,
  *Credit Risk Scorecards*, 2006): < 0.10 stable, 0.10-0.25 watch, > 0.25 shifted; it holds for large
  samples only (under no change PSI's expectation is about ``(bins - 1) * (1/n + 1/N)``), hence no
  PSI alert below ``psi_min_n`` decisions.
- Loan performance (a scorecard's good/bad/indeterminate definition): bad = 90+ days past due,
  default or charged off; good = current or paid off; dpd30/dpd60 are indeterminate and not taken up
  is excluded. "Matured" decisions are those with a good or bad status. The model's probability is of
  repayment, so its predicted bad rate is ``1 - probability``.
- Override (as the review desk counts it, ``chalicelib.service.reviews``): a closed review whose
  outcome differs from the model's leaning (approve when the model's probability >= 0.5, else decline;
  a counteroffer agrees with a decline).
- Disparate impact: the lowest group's approval rate over the highest group's, among groups of at
  least ``fairness_min_n`` decisions whose gender or age band is known (four-fifths rule, 29 CFR
  1607.4(D)); decisions without it are reported as the group "unknown", never judged.
  Equal-opportunity gap: the largest difference between judged groups' approval rates among matured
  good loans (Hardt, Price and Srebro 2016), groups with at least ``fairness_min_n`` such loans.
- Rejection-rate spike (the original service's alert): declined / all decisions in a 15-minute
  bucket above ``rejection_rate`` with at least ``rejection_rate_min_decisions`` decisions.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import math
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypedDict, TypeVar

from chalicelib.engine.artifact import Model
from chalicelib.engine.features import model_features
from chalicelib.engine.monitoring_types import (
    Alert,
    CalibrationBand,
    Fairness,
    FairnessGroup,
    RejectionPeak,
    Stability,
    StabilityStatus,
    VersionReport,
)
from chalicelib.engine.types import Application
from chalicelib.engine.validation import age_band

LOG_ODDS_STEP = 1e-6  # AUC, KS, score bins and calibration read the log-odds rounded to this
_LOG_ODDS_UNITS = 1_000_000
_PROBABILITY_CLAMP = 1e-15  # probabilities of 0 or 1 (floating point) count as 1e-15 / 1 - 1e-15
PROPORTION_FLOOR = 1e-4  # an empty bin's proportion in PSI/CSI (keeps the logarithm finite)
MISSING = "(missing)"  # a characteristic a decision does not carry
OTHER = "(other)"  # a category the reference never saw
UNKNOWN = "unknown"  # a fairness group: gender or age not given (reported, never judged)
OUTCOMES = ("approved", "manual_review", "declined")
LOAN_STATUSES = ("current", "dpd30", "dpd60", "dpd90", "default", "charged_off", "paid_off", "not_taken_up")
GOOD_STATUSES = frozenset({"current", "paid_off"})
BAD_STATUSES = frozenset({"dpd90", "default", "charged_off"})
SPIKE_BUCKET_MINUTES = 15
_Key = TypeVar("_Key")


class MonitoredDecision(NamedTuple):
    """What monitoring needs of one stored decision (no personal data beyond gender and age)."""

    decision_id: str
    client_id: str
    decision_version: str
    arm: str
    created_at: str  # ISO 8601 UTC
    outcome: str  # approved | manual_review | declined (the engine's)
    decided_by: str
    probability: float  # the model's probability of repayment
    reason_codes: tuple[str, ...]
    gender: str | None
    age: int | None
    characteristics: Mapping[str, float | str]  # the model's input characteristics by name
    final_outcome: str | None  # the reviewer's, when a review closed
    review_sla_breached: bool
    loan_status: str | None  # the latest recorded loan outcome status


class MonitoringThresholds(NamedTuple):
    """When a figure raises an alert; the values are configuration (``resources.MONITORING_THRESHOLDS``)."""

    psi_alert: float  # score PSI / characteristic CSI above this: shifted
    psi_watch: float  # above this: watch (shown, no alert)
    psi_min_n: int  # no PSI/CSI alert on fewer decisions
    approval_rate_move: float  # |approval rate - baseline| above this (a share: 0.10 = 10 points)
    approval_rate_min_n: int
    override_rate: float  # overrides / closed reviews above this
    override_min_reviews: int
    disparate_impact: float  # lowest / highest group approval rate below this
    fairness_min_n: int  # groups smaller than this are reported, never alerted on
    rejection_rate: float  # declined / decided in one 15-minute bucket above this
    rejection_rate_min_decisions: int


# -- the reference distribution (written by training, read by the run) ------------------------
class ScoreReference(TypedDict):
    edges: list[float]  # log-odds of repayment cut points; bin index = number of edges <= value
    labels: list[str]  # len(edges) + 1, readable (training writes them in scorecard points)
    proportions: list[float]  # len(edges) + 1, summing to 1


class CharacteristicReference(TypedDict):
    name: str
    kind: Literal["numeric", "categorical"]
    edges: list[float]  # numeric: the bins' cut points (bisect_right); categorical: []
    categories: list[str]  # categorical: the categories seen in training; numeric: []
    proportions: list[float]  # one per bin or category (a category not listed counts as 0)


class ReferenceDistribution(TypedDict):
    model_sha256: str
    rows: int  # training rows the proportions come from
    score: ScoreReference
    characteristics: list[CharacteristicReference]


def bin_labels(edges: Sequence[float], digits: int = 6) -> list[str]:
    if not edges:
        return ["all"]
    return (
        [f"< {edges[0]:.{digits}g}"]
        + [f"{low:.{digits}g} - {high:.{digits}g}" for low, high in itertools.pairwise(edges)]
        + [f">= {edges[-1]:.{digits}g}"]
    )


def log_odds_labels(edges: Sequence[float]) -> list[str]:
    """Bins of log-odds edges named by probability of repayment (6 significant digits)."""
    return bin_labels([_probability_of_units(_units(e)) for e in edges], digits=6)


def proportions(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def log_odds(probability: float) -> float:
    p = min(max(probability, _PROBABILITY_CLAMP), 1 - _PROBABILITY_CLAMP)
    return math.log(p / (1 - p))


def _units(value_log_odds: float) -> int:
    return round(value_log_odds * _LOG_ODDS_UNITS)


def _probability_of_units(units: int) -> float:
    x = units / _LOG_ODDS_UNITS
    if x >= 0:
        return 1 / (1 + math.exp(-x))
    e = math.exp(x)
    return e / (1 + e)


def reference_from(
    model_sha256: str,
    probabilities: Sequence[float],
    score_edges: Sequence[float],
    characteristics: Sequence[tuple[str, Sequence[float] | None, Sequence[float | str]]],
    score_labels: Sequence[str] | None = None,
) -> ReferenceDistribution:
    """The training rows' distribution over the given bins: ``score_edges`` in log-odds (binned as a
    decision's probability is, rounded to LOG_ODDS_STEP); ``characteristics`` as (name, numeric edges
    or None for a categorical one, the training values)."""
    edge_units = [_units(e) for e in score_edges]
    score_counts = [0] * (len(score_edges) + 1)
    for p in probabilities:
        score_counts[bisect_right(edge_units, _units(log_odds(p)))] += 1
    refs: list[CharacteristicReference] = []
    for name, edges, values in characteristics:
        if edges is None:
            tally = Counter(str(v) for v in values)
            categories = sorted(tally)
            refs.append(
                {
                    "name": name,
                    "kind": "categorical",
                    "edges": [],
                    "categories": categories,
                    "proportions": proportions([tally[c] for c in categories]),
                }
            )
        else:
            counts = [0] * (len(edges) + 1)
            for v in values:
                counts[bisect_right(edges, float(v))] += 1
            refs.append(
                {
                    "name": name,
                    "kind": "numeric",
                    "edges": [float(e) for e in edges],
                    "categories": [],
                    "proportions": proportions(counts),
                }
            )
    return {
        "model_sha256": model_sha256,
        "rows": len(probabilities),
        "score": {
            "edges": [float(e) for e in score_edges],
            "labels": list(score_labels) if score_labels is not None else log_odds_labels(score_edges),
            "proportions": proportions(score_counts),
        },
        "characteristics": refs,
    }


# The shipped model's reference, beside its artifact rather than inside it: the artifact's sha256 is in
# every decision (and the golden decisions' digests), and the reference changes none of them.
REFERENCE_PATH = Path(__file__).with_name("model_reference.json")
# A registered artifact may carry its reference inline under this key (covered by its sha256).
INLINE_REFERENCE_KEY = "reference_distribution"


def checked_reference(document: Mapping[str, Any], model_sha256: str) -> ReferenceDistribution:
    """A reference read from JSON, its bins and proportions consistent (ValueError naming what is not)."""
    try:
        score = document["score"]
        problems = []
        if not len(score["labels"]) == len(score["proportions"]) == len(score["edges"]) + 1:
            problems.append("score: needs len(edges) + 1 labels and proportions")
        for ref in document["characteristics"]:
            bins = len(ref["categories"]) if ref["kind"] == "categorical" else len(ref["edges"]) + 1
            if ref["kind"] not in ("numeric", "categorical") or len(ref["proportions"]) != bins:
                problems.append(f"characteristic {ref['name']}: kind and proportions do not match its bins")
        rows = int(document["rows"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"reference distribution: missing or malformed {error}") from None
    if problems:
        raise ValueError("reference distribution: " + "; ".join(problems))
    return {
        "model_sha256": model_sha256,
        "rows": rows,
        "score": {
            "edges": [float(e) for e in score["edges"]],
            "labels": [str(label) for label in score["labels"]],
            "proportions": [float(p) for p in score["proportions"]],
        },
        "characteristics": [
            {
                "name": str(ref["name"]),
                "kind": "categorical" if ref["kind"] == "categorical" else "numeric",
                "edges": [float(e) for e in ref["edges"]],
                "categories": [str(c) for c in ref["categories"]],
                "proportions": [float(p) for p in ref["proportions"]],
            }
            for ref in document["characteristics"]
        ],
    }


@functools.cache
def packaged_reference(path: Path = REFERENCE_PATH) -> ReferenceDistribution:
    """The shipped model's training distribution (``make train`` writes it), read once."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return checked_reference(document, str(document["model_sha256"]))


def reference_of(model_or_document: Model | Mapping[str, Any]) -> ReferenceDistribution | None:
    """The training distribution of a model: inline in its artifact, or the shipped model's sidecar
    when the sha256 matches; None for a model without one (its report then has no PSI or CSI)."""
    document = model_or_document.document if isinstance(model_or_document, Model) else model_or_document
    sha256 = str(document.get("sha256", ""))
    inline = document.get(INLINE_REFERENCE_KEY)
    if isinstance(inline, Mapping):
        return checked_reference(inline, sha256)
    packaged = packaged_reference()
    return packaged if packaged["model_sha256"] == sha256 else None


def characteristics_of(model: Model, application: Application) -> dict[str, float | str]:
    """A validated application's characteristics as monitoring keeps them: the model's own inputs by
    name, as the scorecard scores them (``features.model_features``: numbers, 0/1 flags, categories)."""
    features = model_features(application)
    values: dict[str, float | str] = {f.name: float(features[f.name]) for f in model.numeric}
    values.update({c.name: str(features[c.name]) for c in model.categorical})
    return values


def population_stability(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI = sum((a - e) * ln(a / e)), each proportion floored at PROPORTION_FLOOR."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, PROPORTION_FLOOR), max(a, PROPORTION_FLOOR)
        total += (a - e) * math.log(a / e)
    return total


# -- the accumulator -----------------------------------------------------------------------------
def _bucket(created_at: str) -> str:
    """The quarter hour of a time (UTC), e.g. "2026-12-01T10:15"."""
    if created_at.endswith("Z") and created_at[13:14] == ":":  # stored times: the fast path
        return _bucket_of_minute(created_at[:16])
    return _bucket_of_moment(created_at)


@functools.lru_cache(maxsize=4096)
def _bucket_of_minute(minute: str) -> str:
    return _bucket_of_moment(minute + "Z")


def _bucket_of_moment(created_at: str) -> str:
    moment = dt.datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    minute = moment.minute - moment.minute % SPIKE_BUCKET_MINUTES
    return moment.strftime("%Y-%m-%dT%H:") + f"{minute:02d}"


def _model_leaning(probability: float) -> str:
    return "approved" if probability >= 0.5 else "declined"


def _is_override(final_outcome: str, probability: float) -> bool:
    leaning = _model_leaning(probability)
    return final_outcome != leaning and not (final_outcome == "counteroffer" and leaning == "declined")


class _Binner(NamedTuple):
    name: str
    categorical: bool
    edges: tuple[float, ...]
    categories: frozenset[str]


_BIN_NAMES = tuple(str(i) for i in range(256))  # "0", "1", ...: numeric bins' keys, made once


def _characteristic_bin(binner: _Binner, value: float | str | None) -> str:
    if value is None:
        return MISSING
    if binner.categorical:
        text = str(value)
        return text if text in binner.categories else OTHER
    try:
        number = float(value)
    except ValueError:
        return MISSING
    index = bisect_right(binner.edges, number)
    return _BIN_NAMES[index] if index < len(_BIN_NAMES) else str(index)


def _sum_tallies(mine: Mapping[_Key, list[int]], theirs: Mapping[_Key, list[int]]) -> dict[_Key, list[int]]:
    summed = {key: list(tally) for key, tally in mine.items()}
    for key, tally in theirs.items():
        into = summed.setdefault(key, [0] * len(tally))
        for i, value in enumerate(tally):
            into[i] += value
    return summed


class Accumulator:
    """Counts of one client's decisions of one version. ``reference`` (its characteristic bins) is
    needed at ``add`` time because a characteristic's values are binned, never kept."""

    def __init__(self, reference: ReferenceDistribution | None = None) -> None:
        self.reference = reference
        self.decisions = 0
        self.arms: Counter[str] = Counter()
        self.decided_by: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()
        self.reason_codes: Counter[str] = Counter()
        # the model's log-odds of repayment (in LOG_ODDS_STEP units) of every decision, and of matured ones
        self.log_odds: Counter[int] = Counter()
        self.good_log_odds: Counter[int] = Counter()
        self.bad_log_odds: Counter[int] = Counter()
        self.characteristics: dict[str, Counter[str]] = {}
        self._binners: tuple[_Binner, ...] = ()
        if reference is not None:
            self._binners = tuple(
                _Binner(
                    ref["name"],
                    ref["kind"] == "categorical",
                    tuple(ref["edges"]),
                    frozenset(ref["categories"]),
                )
                for ref in reference["characteristics"]
            )
            self.characteristics = {binner.name: Counter() for binner in self._binners}
        self.reviews_closed = 0
        self.overrides = 0
        self.sla_breaches = 0
        self.loan_statuses: Counter[str] = Counter()
        # (attribute, group) -> [decisions, approved, matured good, good approved]
        self.groups: dict[tuple[str, str], list[int]] = {}
        self.buckets: dict[str, list[int]] = {}  # 15-minute bucket -> [decisions, declined]

    def add(self, d: MonitoredDecision) -> None:
        self.decisions += 1
        self.arms[d.arm] += 1
        self.decided_by[d.decided_by] += 1
        self.outcomes[d.outcome] += 1
        self.reason_codes.update(set(d.reason_codes))
        units = _units(log_odds(d.probability))
        self.log_odds[units] += 1
        good = d.loan_status in GOOD_STATUSES
        if good:
            self.good_log_odds[units] += 1
        elif d.loan_status in BAD_STATUSES:
            self.bad_log_odds[units] += 1
        if d.loan_status is not None:
            self.loan_statuses[d.loan_status] += 1
        values = d.characteristics
        for binner in self._binners:
            self.characteristics[binner.name][_characteristic_bin(binner, values.get(binner.name))] += 1
        if d.final_outcome is not None:
            self.reviews_closed += 1
            self.overrides += _is_override(d.final_outcome, d.probability)
        self.sla_breaches += d.review_sla_breached
        approved = d.outcome == "approved"
        for attribute, group in (
            ("gender", d.gender if d.gender is not None else UNKNOWN),
            ("age_band", age_band(d.age) if d.age is not None else UNKNOWN),
        ):
            tally = self.groups.setdefault((attribute, group), [0, 0, 0, 0])
            tally[0] += 1
            tally[1] += approved
            tally[2] += good
            tally[3] += good and approved
        bucket = self.buckets.setdefault(_bucket(d.created_at), [0, 0])
        bucket[0] += 1
        bucket[1] += d.outcome == "declined"

    @property
    def size(self) -> int:
        """How many counters it holds (bounded by distinct probabilities, codes, groups and buckets)."""
        return (
            len(self.log_odds)
            + len(self.good_log_odds)
            + len(self.bad_log_odds)
            + len(self.reason_codes)
            + sum(len(c) for c in self.characteristics.values())
            + len(self.groups)
            + len(self.buckets)
        )

    def merge(self, other: Accumulator) -> Accumulator:
        """A new accumulator holding both: the same as adding every decision of each to one."""
        if self.reference != other.reference:
            raise ValueError("accumulators of different reference distributions cannot be merged")
        merged = Accumulator(self.reference)
        merged.decisions = self.decisions + other.decisions
        for name in (
            "arms",
            "decided_by",
            "outcomes",
            "reason_codes",
            "log_odds",
            "good_log_odds",
            "bad_log_odds",
            "loan_statuses",
        ):
            setattr(merged, name, getattr(self, name) + getattr(other, name))
        for name in set(self.characteristics) | set(other.characteristics):
            merged.characteristics[name] = self.characteristics.get(
                name, Counter()
            ) + other.characteristics.get(name, Counter())
        merged.reviews_closed = self.reviews_closed + other.reviews_closed
        merged.overrides = self.overrides + other.overrides
        merged.sla_breaches = self.sla_breaches + other.sla_breaches
        merged.groups = _sum_tallies(self.groups, other.groups)
        merged.buckets = _sum_tallies(self.buckets, other.buckets)
        return merged

    def add_all(self, decisions: Iterable[MonitoredDecision]) -> Accumulator:
        for d in decisions:
            self.add(d)
        return self

    # -- a JSON round trip: a run's parts are stored between the part that counts and the merge --
    def to_json(self) -> dict[str, Any]:
        """The counts as JSON (``from_json`` reads them back with the same reference). The
        reference itself is named by its model's sha256, not copied: the merge has it."""
        return {
            "reference_sha256": self.reference["model_sha256"] if self.reference is not None else None,
            "decisions": self.decisions,
            "arms": dict(self.arms),
            "decided_by": dict(self.decided_by),
            "outcomes": dict(self.outcomes),
            "reason_codes": dict(self.reason_codes),
            # JSON keys are strings: the integer log-odds go as [units, count] pairs
            "log_odds": sorted(self.log_odds.items()),
            "good_log_odds": sorted(self.good_log_odds.items()),
            "bad_log_odds": sorted(self.bad_log_odds.items()),
            "characteristics": {name: dict(counts) for name, counts in self.characteristics.items()},
            "reviews_closed": self.reviews_closed,
            "overrides": self.overrides,
            "sla_breaches": self.sla_breaches,
            "loan_statuses": dict(self.loan_statuses),
            "groups": [[attribute, group, list(tally)] for (attribute, group), tally in self.groups.items()],
            "buckets": {bucket: list(tally) for bucket, tally in self.buckets.items()},
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any], reference: ReferenceDistribution | None) -> Accumulator:
        """An accumulator of ``to_json``'s document; ValueError when ``reference`` is not the one
        it was counted against (its characteristics were binned by that reference's edges)."""
        sha256 = reference["model_sha256"] if reference is not None else None
        if document.get("reference_sha256") != sha256:
            raise ValueError("accumulator counted against another reference distribution")
        restored = cls(reference)
        restored.decisions = int(document["decisions"])
        for name in ("arms", "decided_by", "outcomes", "reason_codes", "loan_statuses"):
            setattr(restored, name, Counter({str(k): int(v) for k, v in document[name].items()}))
        for name in ("log_odds", "good_log_odds", "bad_log_odds"):
            setattr(restored, name, Counter({int(units): int(n) for units, n in document[name]}))
        for name, counts in document["characteristics"].items():
            restored.characteristics[str(name)] = Counter({str(k): int(v) for k, v in counts.items()})
        restored.reviews_closed = int(document["reviews_closed"])
        restored.overrides = int(document["overrides"])
        restored.sla_breaches = int(document["sla_breaches"])
        restored.groups = {
            (str(attribute), str(group)): [int(v) for v in tally]
            for attribute, group, tally in document["groups"]
        }
        restored.buckets = {
            str(bucket): [int(v) for v in tally] for bucket, tally in document["buckets"].items()
        }
        return restored


# -- the figures ---------------------------------------------------------------------------------
def auc_from_counts(good: Mapping[int, int], bad: Mapping[int, int]) -> float | None:
    """Probability that a random good loan's probability exceeds a random bad one's (ties count half)."""
    positives, negatives = sum(good.values()), sum(bad.values())
    if positives == 0 or negatives == 0:
        return None
    wins, negatives_below = 0.0, 0
    for value in sorted(set(good) | set(bad)):
        g, b = good.get(value, 0), bad.get(value, 0)
        wins += g * (negatives_below + b / 2)
        negatives_below += b
    return wins / (positives * negatives)


def ks_from_counts(good: Mapping[int, int], bad: Mapping[int, int]) -> float | None:
    """Largest gap between the cumulative probability distributions of good and bad loans."""
    positives, negatives = sum(good.values()), sum(bad.values())
    if positives == 0 or negatives == 0:
        return None
    best, seen_good, seen_bad = 0.0, 0, 0
    for value in sorted(set(good) | set(bad)):
        seen_good += good.get(value, 0)
        seen_bad += bad.get(value, 0)
        best = max(best, abs(seen_good / positives - seen_bad / negatives))
    return best


def _status(psi: float | None, n: int, thresholds: MonitoringThresholds) -> StabilityStatus:
    if psi is None or n < thresholds.psi_min_n:
        return "insufficient"
    if psi > thresholds.psi_alert:
        return "shifted"
    return "watch" if psi > thresholds.psi_watch else "stable"


def _stability(
    name: str,
    labels: Sequence[str],
    expected: Sequence[float],
    counts: Sequence[int],
    missing: int,
    thresholds: MonitoringThresholds,
) -> Stability:
    n = sum(counts)
    actual = proportions(counts)
    psi = population_stability(expected, actual) if n else None
    return {
        "name": name,
        "psi": psi,
        "status": _status(psi, n, thresholds),
        "n": n,
        "missing": missing,
        "bins": [
            {"bin": label, "expected": e, "actual": a, "n": c}
            for label, e, a, c in zip(labels, expected, actual, counts, strict=True)
        ],
    }


def _score_stability(
    acc: Accumulator, reference: ReferenceDistribution, t: MonitoringThresholds
) -> Stability:
    edges = [_units(e) for e in reference["score"]["edges"]]
    counts = [0] * (len(edges) + 1)
    for units, count in acc.log_odds.items():
        counts[bisect_right(edges, units)] += count
    return _stability("score", reference["score"]["labels"], reference["score"]["proportions"], counts, 0, t)


def _characteristic_stability(
    ref: CharacteristicReference, tally: Mapping[str, int], t: MonitoringThresholds
) -> Stability:
    if ref["kind"] == "categorical":
        keys = [*ref["categories"], OTHER]
        labels = keys
        expected = [*ref["proportions"], 0.0]
    else:
        keys = [str(i) for i in range(len(ref["edges"]) + 1)]
        labels = bin_labels(ref["edges"])
        expected = list(ref["proportions"])
    counts = [tally.get(key, 0) for key in keys]
    return _stability(ref["name"], labels, expected, counts, tally.get(MISSING, 0), t)


def _fairness(acc: Accumulator, attribute: str, t: MonitoringThresholds) -> Fairness:
    tallies = sorted((group, tally) for (a, group), tally in acc.groups.items() if a == attribute)
    rates = {group: approved / n for group, (n, approved, _, _) in tallies if n}
    judged = {group for group, (n, *_) in tallies if n >= t.fairness_min_n and group != UNKNOWN}
    eligible = [rates[group] for group in sorted(judged)]
    best = max(eligible, default=0.0)
    tprs = {group: ga / g for group, (_, _, g, ga) in tallies if g}
    eligible_tprs = [
        tprs[group] for group, (_, _, g, _) in tallies if g >= t.fairness_min_n and group != UNKNOWN
    ]
    groups: list[FairnessGroup] = [
        {
            "group": group,
            "n": n,
            "approved": approved,
            "approval_rate": rates[group],
            "ratio": rates[group] / best if group in judged and best > 0 else None,
            "matured_good": good,
            "good_approved": good_approved,
            "true_positive_rate": tprs.get(group),
        }
        for group, (n, approved, good, good_approved) in tallies
    ]
    return {
        "attribute": attribute,
        "groups": groups,
        "disparate_impact": min(eligible) / best if len(eligible) >= 2 and best > 0 else None,
        "equal_opportunity_gap": max(eligible_tprs) - min(eligible_tprs) if len(eligible_tprs) >= 2 else None,
        "min_n": t.fairness_min_n,
    }


def _calibration(acc: Accumulator, edges: Sequence[float], labels: Sequence[str]) -> list[CalibrationBand]:
    cut = [_units(e) for e in edges]
    matured, bad = [0] * (len(cut) + 1), [0] * (len(cut) + 1)
    predicted_bad = [0.0] * (len(cut) + 1)  # sum of 1 - probability
    units_seen = sorted(set(acc.good_log_odds) | set(acc.bad_log_odds))  # sorted: the same sum in any merge
    for units in units_seen:
        band = bisect_right(cut, units)
        good_n, bad_n = acc.good_log_odds.get(units, 0), acc.bad_log_odds.get(units, 0)
        matured[band] += good_n + bad_n
        bad[band] += bad_n
        predicted_bad[band] += (good_n + bad_n) * (1 - _probability_of_units(units))
    return [
        {
            "band": label,
            "matured": matured[i],
            "bad": bad[i],
            "predicted_bad_rate": predicted_bad[i] / matured[i],
            "realised_bad_rate": bad[i] / matured[i],
        }
        for i, label in enumerate(labels)
        if matured[i]
    ]


# Without a reference: bands of probability of repayment 0.1 wide.
DEFAULT_CALIBRATION_PROBABILITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def report(
    acc: Accumulator,
    *,
    reference: ReferenceDistribution | None,
    baseline_approval_rate: float | None,
    thresholds: MonitoringThresholds,
) -> VersionReport:
    """The figures of the accumulated decisions against the reference and the baseline, with alerts
    (none on fewer decisions, reviews or group members than the thresholds' minimums)."""
    if reference != acc.reference:
        raise ValueError("the report's reference distribution is not the one the accumulator binned with")
    t = thresholds
    n = acc.decisions
    alerts: list[Alert] = []
    approved = acc.outcomes.get("approved", 0)
    rate = approved / n if n else None
    change = (
        rate - baseline_approval_rate if rate is not None and baseline_approval_rate is not None else None
    )
    if change is not None and n >= t.approval_rate_min_n and abs(change) > t.approval_rate_move:
        alerts.append(
            {
                "code": "approval_rate_move",
                "metric": "approval_rate",
                "value": change,
                "threshold": t.approval_rate_move,
                "n": n,
            }
        )
    score: Stability | None = None
    characteristics: list[Stability] = []
    if reference is not None:
        score = _score_stability(acc, reference, t)
        characteristics = [
            _characteristic_stability(ref, acc.characteristics.get(ref["name"], Counter()), t)
            for ref in reference["characteristics"]
        ]
        for code, stability in [("score_psi", score)] + [("characteristic_csi", c) for c in characteristics]:
            if stability["status"] == "shifted" and stability["psi"] is not None:
                alerts.append(
                    {
                        "code": code,
                        "metric": stability["name"],
                        "value": stability["psi"],
                        "threshold": t.psi_alert,
                        "n": stability["n"],
                    }
                )
    override_rate = acc.overrides / acc.reviews_closed if acc.reviews_closed else None
    if (
        override_rate is not None
        and acc.reviews_closed >= t.override_min_reviews
        and override_rate > t.override_rate
    ):
        alerts.append(
            {
                "code": "override_rate",
                "metric": "override_rate",
                "value": override_rate,
                "threshold": t.override_rate,
                "n": acc.reviews_closed,
            }
        )
    fairness = [_fairness(acc, attribute, t) for attribute in ("gender", "age_band")]
    for f in fairness:
        ratio = f["disparate_impact"]
        if ratio is not None and ratio < t.disparate_impact:
            smallest = min(g["n"] for g in f["groups"] if g["ratio"] is not None)
            alerts.append(
                {
                    "code": "disparate_impact",
                    "metric": f["attribute"],
                    "value": ratio,
                    "threshold": t.disparate_impact,
                    "n": smallest,
                }
            )
    peak: RejectionPeak | None = None
    for bucket, (decided, declined) in sorted(acc.buckets.items()):
        if decided >= t.rejection_rate_min_decisions and (peak is None or declined / decided > peak["rate"]):
            peak = {"bucket": bucket, "decisions": decided, "declined": declined, "rate": declined / decided}
    if peak is not None and peak["rate"] > t.rejection_rate:
        alerts.append(
            {
                "code": "rejection_rate_spike",
                "metric": peak["bucket"],
                "value": peak["rate"],
                "threshold": t.rejection_rate,
                "n": peak["decisions"],
            }
        )
    good, bad = acc.good_log_odds, acc.bad_log_odds
    matured = sum(good.values()) + sum(bad.values())
    if reference is not None:
        edges, labels = reference["score"]["edges"], reference["score"]["labels"]
    else:
        edges = [log_odds(p) for p in DEFAULT_CALIBRATION_PROBABILITIES]
        labels = bin_labels(DEFAULT_CALIBRATION_PROBABILITIES)
    return {
        "decisions": n,
        "arms": dict(sorted(acc.arms.items())),
        "decided_by": dict(sorted(acc.decided_by.items())),
        "outcomes": {outcome: acc.outcomes.get(outcome, 0) for outcome in OUTCOMES},
        "approval": {"rate": rate, "baseline": baseline_approval_rate, "change": change},
        "score": score,
        "characteristics": characteristics,
        "reason_codes": dict(sorted(acc.reason_codes.items(), key=lambda item: (-item[1], item[0]))),
        "overrides": {
            "reviews_closed": acc.reviews_closed,
            "overrides": acc.overrides,
            "rate": override_rate,
            "sla_breaches": acc.sla_breaches,
        },
        "fairness": fairness,
        "performance": {
            "with_status": sum(acc.loan_statuses.values()),
            "matured": matured,
            "bad": sum(bad.values()),
            "status_mix": {status: acc.loan_statuses.get(status, 0) for status in LOAN_STATUSES},
            "auc": auc_from_counts(good, bad),
            "ks": ks_from_counts(good, bad),
            "calibration": _calibration(acc, edges, labels),
        },
        "rejection_peak": peak,
        "alerts": alerts,
    }
