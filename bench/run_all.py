"""``make bench``: every benchmark in bench/, one after another, each in its own process.

Each benchmark measures its own baseline in the same run and prints its own table. A separate
process per benchmark keeps their environments (the handler bench fakes AWS in-process with moto,
the burst bench starts a local stack) from leaking into each other. Missing benchmarks are
reported and skipped; the exit status is non-zero if any benchmark failed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
# Cheapest first: the engine alone, the handler in-process, then the burst through the local stack.
BENCHMARKS = ("bench_engine", "bench_handler", "bench_burst")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        if not (BENCH_DIR / f"{name}.py").exists():
            print(f"== {name}: not present, skipped", flush=True)
            continue
        print(f"== {name}", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=BENCH_DIR.parent, check=False)
        if result.returncode != 0:
            failed.append(name)
            print(f"== {name}: FAILED (exit {result.returncode})", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
