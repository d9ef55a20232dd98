"""``python -m training.evaluate path/to.csv`` (``make evaluate DATA=...``): score a labelled CSV.

Scoring uses the shipped run-time scorer (``chalicelib.engine``, plain Python) on the shipped artifact,
exactly as the service would, never scikit-learn (this module imports neither scikit-learn nor numpy).
Rows that fail validation are counted and listed
(first few), not scored. The approval rate is of the full decision (model + policy rules).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from chalicelib.engine import decide, model_info, packaged_version
from chalicelib.engine.scorecard import probability_of
from training import metrics
from training.labelled_csv import read_labelled_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="labelled CSV in the data/loan_applications.csv schema")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        parser.error(f"no such file: {args.csv}")

    data = read_labelled_csv(args.csv)
    info = model_info()
    print(f"model {info['id']} {info['version']} sha256 {info['sha256'][:16]}...")
    print(
        f"file  {args.csv} sha256 {data.sha256[:16]}...: {len(data.applications)} rows scored, "
        f"{len(data.rejected_rows)} rejected by validation"
    )
    for line, errors in data.rejected_rows[:5]:
        print(f"  line {line}: " + "; ".join(f"{e['field']} {e['problem']}" for e in errors))
    if not data.applications:
        print("nothing to score")
        return 1

    model, policy = packaged_version()
    started = time.perf_counter()
    probabilities = [probability_of(model, application) for application in data.applications]
    elapsed = time.perf_counter() - started
    labels = data.labels
    outcomes = [decide(application, model, policy)["outcome"] for application in data.applications]

    summary = metrics.summary(labels, probabilities, model.approve_threshold)
    print()
    print(f"{'metric':<34}{'value':>10}")
    for name, key in (
        ("AUC", "auc"),
        ("Brier score", "brier"),
        ("log loss", "log_loss"),
        ("accuracy (p >= 0.5)", "accuracy"),
        ("KS statistic", "ks"),
        (f"share with p >= {model.approve_threshold}", "approval_rate_at_threshold"),
        ("observed approval rate (label)", "observed_approval_rate"),
    ):
        print(f"{name:<34}{summary[key]:>10.4f}")
    for outcome in ("approved", "manual_review", "declined"):
        share = outcomes.count(outcome) / len(outcomes)
        print(f"{'decision ' + outcome + ' rate':<34}{share:>10.4f}")
    print(f"{'scoring throughput (apps/s)':<34}{len(probabilities) / elapsed:>10.0f}")

    print()
    print("calibration (equal-width probability bins)")
    print(f"{'bin':<10}{'count':>8}{'mean predicted':>16}{'observed':>10}")
    for row in metrics.calibration_table(labels, probabilities):
        print(f"{row['bin']:<10}{row['count']:>8}{row['mean_predicted']:>16.3f}{row['observed_rate']:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
