"""Decision-engine benchmark, every figure against a baseline measured in the same run.

``python -m bench.bench_engine`` (also run by ``make bench``). Prints two tables.

1. ``decide()`` against the engine before the lending-correctness work (FOIR rules, counteroffers,
   re-scored suggestions), loaded from git (``BASELINE_COMMIT``'s ``chalicelib/engine``, artifact
   included, copied into a temporary package with its imports renamed), on the same applications:
   p50/p99 for the applications today's engine approves, for those it declines with a counteroffer
   (whose suggestions are all re-scored), and for every declined or referred one.

2. The plain-Python engine against the equivalent scikit-learn pipeline:

- single decision in-process: ``decide()`` with reasons and suggestions, p50/p99 in µs, over the
  5,000 training rows (all outcomes), against one-row ``predict_proba`` of the sklearn pipeline;
- batch scoring: applications per second, run-time scorer vs ``predict_proba`` on all rows at once;
- cold start: a fresh Python process that imports the engine and makes the first decision, against a
  fresh process that ``joblib.load``s the equivalent pipeline (saved to a temp dir, never the repo)
  and calls ``predict_proba``; wall time of the whole process and of import + first call, median of
  several runs; peak RSS of each process.
"""

from __future__ import annotations

import functools
import importlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
COLD_RUNS = 5
# The engine before FOIR, counteroffers and re-scored suggestions (issue 8).
BASELINE_COMMIT = "ae756e6"
BASELINE_PACKAGE = "baseline_engine"

# Peak RSS from /proc (VmHWM): getrusage's ru_maxrss survives fork+exec and would report the parent's.
PEAK_RSS = """
def peak_rss_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""
ENGINE_CHILD = (
    PEAK_RSS
    + """
import json, sys, time
started = time.perf_counter()
from chalicelib.engine import decide, packaged_version, validate_application
decision = decide(validate_application(json.loads(sys.argv[1])), *packaged_version())
elapsed = time.perf_counter() - started
print(json.dumps({"first_call_s": elapsed, "outcome": decision["outcome"], "rss_kb": peak_rss_kb()}))
"""
)
BASELINE_CHILD = (
    PEAK_RSS
    + """
import json, sys, time
started = time.perf_counter()
import joblib
pipeline = joblib.load(sys.argv[2])
probability = float(pipeline.predict_proba([json.loads(sys.argv[1])])[0, 1])
elapsed = time.perf_counter() - started
print(json.dumps({"first_call_s": elapsed, "probability": probability, "rss_kb": peak_rss_kb()}))
"""
)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def time_each(function: Any, items: list[Any], repeats: int = 2) -> list[float]:
    samples = []
    for _ in range(repeats):
        for item in items:
            started = time.perf_counter_ns()
            function(item)
            samples.append((time.perf_counter_ns() - started) / 1000)
    return samples


def cold_start(code: str, *args: str) -> dict[str, float]:
    walls, firsts, rss = [], [], []
    for _ in range(COLD_RUNS):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code, *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
        )
        walls.append(time.perf_counter() - started)
        report = json.loads(out.stdout)
        firsts.append(report["first_call_s"])
        rss.append(report["rss_kb"])
    return {
        "wall_ms": statistics.median(walls) * 1000,
        "first_ms": statistics.median(firsts) * 1000,
        "rss_mb": max(rss) / 1024,
    }


def baseline_decide(directory: Path) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """``decide`` of the engine at BASELINE_COMMIT, as a package in ``directory`` (imports renamed)."""
    package = directory / BASELINE_PACKAGE
    package.mkdir()
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", f"{BASELINE_COMMIT}:chalicelib/engine"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in names:
        if not name.endswith((".py", ".json")):
            continue
        text = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:chalicelib/engine/{name}"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if name.endswith(".py"):
            text = text.replace("chalicelib.engine", BASELINE_PACKAGE)
        (package / name).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(directory))
    return importlib.import_module(BASELINE_PACKAGE).decide


def packaged_decide() -> Callable[[dict[str, Any]], Any]:
    """``decide`` with the packaged decision version (model artifact + lending-policy version 1)."""
    from chalicelib.engine import decide, packaged_version

    model, policy = packaged_version()
    return functools.partial(decide, model=model, policy=policy)


def versus_baseline(applications: list[dict[str, Any]]) -> None:
    decide = packaged_decide()
    decisions = [decide(a) for a in applications]
    groups = {
        "approved": [a for a, d in zip(applications, decisions, strict=True) if d["outcome"] == "approved"],
        "declined with counteroffer": [
            a
            for a, d in zip(applications, decisions, strict=True)
            if d["outcome"] == "declined" and d["counteroffer"] is not None
        ],
        "declined or review (all)": [
            a for a, d in zip(applications, decisions, strict=True) if d["outcome"] != "approved"
        ],
    }
    with tempfile.TemporaryDirectory() as temp:
        before = baseline_decide(Path(temp))
        for application in applications[:200]:  # warm both
            before(application)
            decide(application)
        print(f"decide() now vs at {BASELINE_COMMIT} (before FOIR, counteroffers), same applications")
        print(
            f"{'applications':<30}{'count':>7}{'p50 now':>10}{'p50 before':>12}"
            f"{'p99 now':>10}{'p99 before':>12}"
        )
        for name, group in groups.items():
            now, then = time_each(decide, group), time_each(before, group)
            print(
                f"{name:<30}{len(group):>7}{percentile(now, 0.5):>10.0f}{percentile(then, 0.5):>12.0f}"
                f"{percentile(now, 0.99):>10.0f}{percentile(then, 0.99):>12.0f}"
            )
        print("(µs per decision; aim: declined p50 <= 1000 µs, approved p50 unchanged within noise)")
        print()


def main() -> int:
    import joblib  # dev-only: the baseline

    from chalicelib.engine.artifact import load_model
    from chalicelib.engine.scorecard import probability_of
    from training.data import TRAINING_CSV, load_labelled_csv
    from training.scorecard_fit import build_pipeline, scorecard_from_artifact

    decide = packaged_decide()

    applications = load_labelled_csv(TRAINING_CSV).applications
    versus_baseline(applications)
    model = load_model()
    pipeline = build_pipeline(scorecard_from_artifact(model.document))

    # Single decision, in-process (warm).
    for application in applications[:200]:
        decide(application)
    engine_single = time_each(decide, applications)
    declined = [a for a in applications if decide(a)["outcome"] != "approved"]
    engine_declined = time_each(decide, declined)
    baseline_single = time_each(lambda a: pipeline.predict_proba([a]), applications[:1000], repeats=1)

    # Batch scoring.
    started = time.perf_counter()
    plain = [probability_of(model, a) for a in applications]
    engine_rate = len(applications) / (time.perf_counter() - started)
    started = time.perf_counter()
    sk = pipeline.predict_proba(applications)[:, 1]
    baseline_rate = len(applications) / (time.perf_counter() - started)
    gap = max(abs(a - float(b)) for a, b in zip(plain, sk, strict=True))

    # Cold start: fresh processes.
    sample = json.dumps({k: v for k, v in applications[1].items()})
    with tempfile.TemporaryDirectory() as temp:
        pipeline_path = str(Path(temp) / "pipeline.joblib")
        joblib.dump(pipeline, pipeline_path)
        engine_cold = cold_start(ENGINE_CHILD, sample)
        baseline_cold = cold_start(BASELINE_CHILD, sample, pipeline_path)

    rows = [
        ("single decision p50 (µs)", percentile(engine_single, 0.5), percentile(baseline_single, 0.5)),
        ("single decision p99 (µs)", percentile(engine_single, 0.99), percentile(baseline_single, 0.99)),
        ("  declined/review only p50 (µs)", percentile(engine_declined, 0.5), float("nan")),
        ("  declined/review only p99 (µs)", percentile(engine_declined, 0.99), float("nan")),
        ("batch scoring (apps/s)", engine_rate, baseline_rate),
        ("cold start, whole process (ms)", engine_cold["wall_ms"], baseline_cold["wall_ms"]),
        ("cold start, import + 1st call (ms)", engine_cold["first_ms"], baseline_cold["first_ms"]),
        ("peak RSS (MB)", engine_cold["rss_mb"], baseline_cold["rss_mb"]),
    ]
    print(
        "engine: full decide() incl. reasons, suggestions, counterfactuals; baseline: sklearn predict_proba"
    )
    print(
        f"{len(applications)} applications ({len(declined)} not approved), cold starts: median of {COLD_RUNS}"
    )
    print(f"{'measure':<38}{'engine':>14}{'sklearn baseline':>18}{'ratio':>10}")
    for name, ours, theirs in rows:
        if theirs != theirs:  # no baseline for this row
            print(f"{name:<38}{ours:>14,.1f}{'-':>18}{'-':>10}")
            continue
        ratio = ours / theirs if "apps/s" in name else theirs / ours
        print(f"{name:<38}{ours:>14,.1f}{theirs:>18,.1f}{ratio:>9.1f}x")
    print(f"max |engine - sklearn| probability over all rows: {gap:.1e}")
    cold_speedup = baseline_cold["wall_ms"] / engine_cold["wall_ms"]
    first_speedup = baseline_cold["first_ms"] / engine_cold["first_ms"]
    print(
        f"aim cold start >= 5x faster: {cold_speedup:.1f}x (whole process), "
        f"{first_speedup:.1f}x (import + first call)"
    )
    print(f"aim single decision p50 <= 200 µs: {percentile(engine_single, 0.5):.0f} µs (all rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
