"""A decision version's validation report on a labelled holdout, and the promotion gates.

Pure: rows, a model and a policy in, figures out (no AWS, no globals, no I/O but the packaged
holdout's file, read by :func:`packaged_holdout`). The report holds the model's discrimination and
calibration (AUC, KS, Brier on the model's probability of repayment), the outcome mix, approvals
whose FOIR exceeds the affordability ceiling, and the four-fifths ratios of approval rates by gender
and age band with each group's size. The gates compare a candidate's report with the champion's on
the same rows; their thresholds (``GateLimits``) are the model-risk function's configuration
(``chalicelib.resources.PROMOTION_GATES``), never a policy document's.

Four-fifths rule: a group whose selection rate is under 80% of the most selected group's shows
adverse impact (US EEOC Uniform Guidelines, 29 CFR 1607.4(D)).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from chalicelib.engine.artifact import Model
from chalicelib.engine.decision import decide_outcome
from chalicelib.engine.lending_policy import Policy
from chalicelib.engine.types import APPROVED, Application, Outcome
from chalicelib.engine.validation_types import Figures as Figures
from chalicelib.engine.validation_types import GateResult as GateResult
from chalicelib.engine.validation_types import GroupRate as GroupRate
from chalicelib.engine.validation_types import HoldoutInfo as HoldoutInfo
from chalicelib.engine.validation_types import ModelFigures as ModelFigures
from chalicelib.engine.validation_types import ValidationReport as ValidationReport

if TYPE_CHECKING:
    from chalicelib.engine.batch import Format

HOLDOUT_PATH = Path(__file__).resolve().parent / "holdout_v1.csv"
LABEL = "loan_approved"
INVALID_ROWS_NAMED = 10  # an uploaded holdout's invalid rows named in the refusal; the rest are counted
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("18-24", 18, 24),
    ("25-34", 25, 34),
    ("35-44", 35, 44),
    ("45-54", 45, 54),
    ("55+", 55, 200),
)
OUTCOMES: tuple[Outcome, ...] = ("approved", "manual_review", "declined")


class Holdout(NamedTuple):
    """Labelled rows (validated like an API payload) and where they came from."""

    applications: tuple[Application, ...]
    labels: tuple[int, ...]  # 1: repaid / approved in the lender's history
    source: Literal["packaged", "uploaded"]
    sha256: str  # of the file's bytes
    backtest_id: str | None = None  # an uploaded holdout: the staff backtest whose file it is


class HoldoutLimits(NamedTuple):
    """How large an uploaded holdout may be (``chalicelib.resources``: HOLDOUT_*)."""

    min_rows: int
    max_rows: int


class GateLimits(NamedTuple):
    max_auc_drop: float
    max_brier_rise: float
    affordability_ceiling_foir: float
    four_fifths_min_ratio: float
    four_fifths_min_group: int


class InvalidHoldout(ValueError):
    """An uploaded holdout that cannot be used: ``errors`` as ``{"field", "problem"}``."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['problem']}" for e in errors))
        self.errors = errors


# -- metrics (plain Python: no numpy on Lambda) ------------------------------------------------
def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        rank_sum += (i + 1 + j) / 2 * sum(label for _, label in pairs[i:j])  # tied ranks share their mean
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def ks_statistic(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Largest gap between the cumulative score distributions of positives and negatives."""
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    best, seen_pos, seen_neg = 0.0, 0, 0
    pairs = sorted(zip(scores, labels, strict=True))
    for i, (score, label) in enumerate(pairs):
        seen_pos += label
        seen_neg += 1 - label
        if i + 1 == len(pairs) or pairs[i + 1][0] != score:
            best = max(best, abs(seen_pos / positives - seen_neg / negatives))
    return best


def brier(labels: Sequence[int], probabilities: Sequence[float]) -> float:
    return sum((p - y) ** 2 for y, p in zip(labels, probabilities, strict=True)) / len(labels)


def age_band(age: int) -> str:
    return next((name for name, low, high in AGE_BANDS if low <= age <= high), "unknown")


def four_fifths(groups: Iterable[tuple[str, bool]]) -> list[GroupRate]:
    """Approval rate per group and its ratio to the highest group's, groups sorted by name."""
    counts: dict[str, list[int]] = {}
    for group, approved in groups:
        tally = counts.setdefault(group, [0, 0])
        tally[0] += 1
        tally[1] += int(approved)
    return group_rates({group: (n, approved) for group, (n, approved) in counts.items()})


def group_rates(counts: Mapping[str, tuple[int, int]]) -> list[GroupRate]:
    """``four_fifths`` from counts already made: group -> (rows, approved)."""
    rates = {group: approved / n for group, (n, approved) in counts.items()}
    best = max(rates.values(), default=0.0)
    return [
        {
            "group": group,
            "n": n,
            "approved": approved,
            "approval_rate": round(rates[group], 4),
            "ratio": round(rates[group] / best, 4) if best > 0 else 1.0,
        }
        for group, (n, approved) in sorted(counts.items())
    ]


# -- the holdout --------------------------------------------------------------------------------
def parse_holdout(
    data: bytes,
    source: Literal["packaged", "uploaded"],
    fmt: Format = "csv",
    *,
    limits: HoldoutLimits | None = None,
    backtest_id: str | None = None,
) -> Holdout:
    """A labelled file (CSV or JSON Lines, read by the batch engine's row parser: the rows a backtest
    of the file would read, labelled ``loan_approved`` 1 = repaid or ``defaulted`` 1 = bad). Every
    row must be valid and labelled, both labels present (AUC needs both), and the row count within
    ``limits``; otherwise :class:`InvalidHoldout` naming the problems (the first invalid rows by
    their line numbers, as a batch lists them)."""
    # Imported here: the batch engine imports this module's group-rate helpers.
    from chalicelib.engine.batch import BadFile, parse_file

    applications: list[Application] = []
    labels: list[int] = []
    invalid: list[dict[str, str]] = []
    invalid_count = unlabelled = 0
    try:
        for line, parsed in parse_file(data, fmt):
            if limits is not None and len(applications) + invalid_count >= limits.max_rows:
                problem = f"more than {limits.max_rows} rows: a holdout may have {limits.max_rows} at most"
                raise InvalidHoldout([{"field": "holdout", "problem": problem}])
            errors = parsed.errors
            if parsed.application is not None and parsed.label is None:
                unlabelled += 1
                errors = [{"field": LABEL, "problem": "no label (loan_approved or defaulted, 0 or 1)"}]
            if parsed.application is None or parsed.label is None:
                invalid_count += 1
                if len(invalid) < INVALID_ROWS_NAMED:
                    problems = "; ".join(f"{e['field']}: {e['problem']}" for e in errors)
                    invalid.append({"field": "holdout", "problem": f"line {line}: {problems}"})
                continue
            applications.append(parsed.application)
            labels.append(parsed.label)
    except BadFile as bad:
        raise InvalidHoldout([{"field": "holdout", "problem": bad.reason}]) from None
    if not labels and unlabelled:
        problem = "no labels: a holdout needs a loan_approved (1 = repaid) or defaulted (1 = bad) column"
        raise InvalidHoldout([{"field": "holdout", "problem": problem}])
    if invalid:
        more = invalid_count - len(invalid)
        if more:
            invalid.append({"field": "holdout", "problem": f"and {more} more invalid rows"})
        raise InvalidHoldout(invalid)
    if limits is not None and len(labels) < limits.min_rows:
        problem = f"{len(labels)} rows: a holdout needs at least {limits.min_rows}"
        raise InvalidHoldout([{"field": "holdout", "problem": problem}])
    if len(set(labels)) < 2:
        raise InvalidHoldout([{"field": "holdout", "problem": "needs rows of both labels (0 and 1)"}])
    digest = hashlib.sha256(data).hexdigest()
    return Holdout(tuple(applications), tuple(labels), source, digest, backtest_id)


@functools.cache
def packaged_holdout() -> Holdout:
    """The shipped data's test split (``training/holdout.py`` renders it), read once."""
    return parse_holdout(HOLDOUT_PATH.read_bytes(), "packaged")


def holdout_info(holdout: Holdout) -> HoldoutInfo:
    info: HoldoutInfo = {
        "source": holdout.source,
        "rows": len(holdout.labels),
        "sha256": holdout.sha256,
    }
    if holdout.backtest_id is not None:
        info["backtest_id"] = holdout.backtest_id
    return info


# -- the report and the gates ---------------------------------------------------------------
def figures(holdout: Holdout, model: Model, policy: Policy, ceiling_foir: float) -> Figures:
    """Decide every holdout row with ``model`` and ``policy`` and measure the result."""
    probabilities: list[float] = []
    outcomes: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    over_ceiling, approved_foirs = 0, []
    by_gender: list[tuple[str, bool]] = []
    by_age: list[tuple[str, bool]] = []
    for application in holdout.applications:
        decision = decide_outcome(application, model, policy)
        probabilities.append(decision.model_probability)
        outcomes[decision.outcome] += 1
        approved = decision.outcome == APPROVED
        if approved:
            approved_foirs.append(decision.foir)
            over_ceiling += decision.foir > ceiling_foir
        by_gender.append((str(application.get("gender", "unknown")), approved))
        by_age.append((age_band(int(application.get("age", 0))), approved))
    labels = holdout.labels
    return {
        "rows": len(labels),
        "model": {
            "auc": round(roc_auc(labels, probabilities), 6),
            "ks": round(ks_statistic(labels, probabilities), 6),
            "brier": round(brier(labels, probabilities), 6),
        },
        "outcomes": outcomes,
        "approval_rate": round(outcomes[APPROVED] / len(labels), 4),
        "approvals_over_ceiling": over_ceiling,
        "max_approved_foir": max(approved_foirs) if approved_foirs else None,
        "four_fifths": {"gender": four_fifths(by_gender), "age_band": four_fifths(by_age)},
    }


def _adverse(groups: Sequence[GroupRate], limits: GateLimits) -> dict[str, GroupRate]:
    return {
        g["group"]: g
        for g in groups
        if g["ratio"] < limits.four_fifths_min_ratio and g["n"] >= limits.four_fifths_min_group
    }


def gates(candidate: Figures, champion: Figures | None, limits: GateLimits) -> list[GateResult]:
    """Each gate's verdict with its figures. Without a champion (the candidate is the champion),
    the comparisons hold by definition and the absolute gates still apply."""
    base = champion or candidate
    auc, auc0 = candidate["model"]["auc"], base["model"]["auc"]
    brier_c, brier0 = candidate["model"]["brier"], base["model"]["brier"]
    results: list[GateResult] = [
        {
            "gate": "auc",
            "passed": auc >= auc0 - limits.max_auc_drop,
            "detail": f"AUC {auc:.4f} vs champion {auc0:.4f} (may drop at most {limits.max_auc_drop})",
        },
        {
            "gate": "brier",
            "passed": brier_c <= brier0 + limits.max_brier_rise,
            "detail": f"Brier {brier_c:.4f} vs champion {brier0:.4f} "
            f"(may rise at most {limits.max_brier_rise})",
        },
        {
            "gate": "affordability",
            "passed": candidate["approvals_over_ceiling"] == 0,
            "detail": (
                f"{candidate['approvals_over_ceiling']} approvals with FOIR above "
                f"{limits.affordability_ceiling_foir} "
                f"(highest approved FOIR {candidate['max_approved_foir']})"
            ),
        },
    ]
    new_adverse: list[str] = []
    for attribute, groups in candidate["four_fifths"].items():
        shared = _adverse(base["four_fifths"].get(attribute, []), limits)
        for name, group in _adverse(groups, limits).items():
            if name not in shared:
                new_adverse.append(f"{attribute} {name}: ratio {group['ratio']} (n={group['n']})")
    results.append(
        {
            "gate": "four_fifths",
            "passed": not new_adverse,
            "detail": (
                "groups under the four-fifths ratio the champion does not share: " + "; ".join(new_adverse)
                if new_adverse
                else f"no group with n >= {limits.four_fifths_min_group} under "
                f"{limits.four_fifths_min_ratio} that the champion does not share"
            ),
        }
    )
    return results


def report(
    holdout: Holdout,
    candidate: Figures,
    champion: Figures | None,
    champion_version: str | None,
    limits: GateLimits,
) -> ValidationReport:
    """The candidate's figures beside the champion's on the same rows (``figures``), and the gates'
    verdicts."""
    verdicts = gates(candidate, champion, limits)
    return {
        "holdout": holdout_info(holdout),
        "candidate": candidate,
        "champion": champion,
        "champion_version": champion_version,
        "gates": verdicts,
        "passed": all(v["passed"] for v in verdicts),
    }


def failed_gates(report_: ValidationReport) -> list[GateResult]:
    gates_: list[GateResult] = report_.get("gates", [])
    return [g for g in gates_ if not g["passed"]]
