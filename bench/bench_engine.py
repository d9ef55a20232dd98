"""How fast is a decision? The plain-Python engine against the equivalent scikit-learn pipeline.

Baseline, same run and rows: the scikit-learn pipeline the scorecard was fitted as
(``training.scorecard_fit.build_pipeline``). Single decisions (p50/p99), batch scoring (rows/s and the
largest probability difference: they must agree), and cold start and peak RSS of a fresh process
each (the pipeline ``joblib.load``-ed from a temp dir). Run: ``python -m bench.bench_engine``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import PEAK_RSS, percentile

PROJECT_DIR = Path(__file__).resolve().parent.parent
COLD_RUNS = 5

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


def time_each(function: Callable[[Any], Any], items: list[Any], repeats: int = 2) -> list[float]:
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


def main() -> int:
    import joblib  # type: ignore[import-untyped]  # dev-only: the baseline

    from chalicelib.engine import decide as decide_with
    from chalicelib.engine import packaged_version
    from chalicelib.engine.artifact import load_model
    from chalicelib.engine.scorecard import probability_of
    from training.data import TRAINING_CSV, load_labelled_csv
    from training.scorecard_fit import build_pipeline, scorecard_from_artifact

    applications = load_labelled_csv(TRAINING_CSV).applications
    model = load_model()
    version = packaged_version()

    def decide(application: Any) -> Any:
        return decide_with(application, *version)

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
    print("ratio: how many times faster (or smaller) the engine is than the baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
