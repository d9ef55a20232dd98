"""``make bench``: run every benchmark script in ``bench/`` and print what each reports.

Each ``bench/bench_*.py`` runs as ``python -m bench.<name>`` in its own process (so one benchmark's
imports, moto mocks or child processes cannot skew the next), one after another, its output passed
through as it comes. Every script prints its figures against a baseline measured in the same run.
The exit code is non-zero if any benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent


def benchmark_modules() -> list[str]:
    return [f"bench.{path.stem}" for path in sorted(BENCH_DIR.glob("bench_*.py"))]


def main() -> int:
    modules = benchmark_modules()
    results: list[tuple[str, int, float]] = []
    for module in modules:
        print(f"\n=== {module} ===", flush=True)
        started = time.perf_counter()
        exit_code = subprocess.call([sys.executable, "-m", module], cwd=PROJECT_ROOT)
        results.append((module, exit_code, time.perf_counter() - started))
    print("\n=== summary ===")
    for module, exit_code, seconds in results:
        print(
            f"  {module:<28} {'ok' if exit_code == 0 else f'FAILED (exit {exit_code})':<18} {seconds:7.1f} s"
        )
    return 0 if all(exit_code == 0 for _, exit_code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
