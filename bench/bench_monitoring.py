"""What does a monitoring run cost? 100,000 stored decisions through ``chalicelib.service.monitoring.run``
locally (time and peak memory), and what that says about 1 million within Lambda's limits.

Storage: the in-memory twin (``devstack.in_memory``): decisions made by the service for a few hundred
sample applications, copied to ``--decisions`` records of 20 clients over one day, read back through
the monitoring read path (``iter_monitored``: what each DynamoDB index item becomes, the same code),
accumulated, reported and stored. Baseline in the same run: the read path alone (iterating the
window's decisions without monitoring them), so the figures separate reading from counting. A second
pass at a tenth of the decisions shows how time and memory scale.

On AWS the read is Queries on the decisions' day-partition index (4 shards a day): each page is up to
1 MB, about 2,000 index items of ~0.5 KB. The projection for 1 million adds that read time at a stated
page latency (``--page-ms``, default 30 ms, a conservative figure for a 1 MB Query page read from
Lambda in the same region) to the measured CPU per decision; memory is the run's peak measured here
(the accumulators hold counts, not rows), plus Lambda's runtime.

Run: ``python -m bench.bench_monitoring [--decisions N] [--page-ms MS]``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import random
import time
import tracemalloc
import uuid
from typing import Any

from devstack import fake_aws

fake_aws.install_environment()  # before the app or botocore is imported

from bench.common import stdout_silenced  # noqa: E402
from chalicelib import resources  # noqa: E402

CLIENTS = 20
SAMPLES = 300
INDEX_ITEMS_PER_PAGE = 2000  # 1 MB Query pages of ~0.5 KB items
LAMBDA_TIMEOUT_SECONDS = 900
NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)


def stored_decisions(deps: Any, count: int, seed: int = 20) -> None:
    """``count`` decision records of CLIENTS clients over the day before NOW, copied from decisions the
    service made for SAMPLES sample applications (so each carries a real monitoring document)."""
    from chalicelib.service import decisions
    from tests.support.samples import application_row

    rng = random.Random(seed)
    made = []
    for i in range(SAMPLES):
        answer = decisions.make_decision(application_row(i), deps, "bench-seed")
        made.append(deps.memory_store.decisions[answer["decision_id"]])
    deps.memory_store.decisions.clear()
    for i in range(count):
        record = copy.deepcopy(made[i % SAMPLES])
        record["decision_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        record["client_id"] = f"bench-client-{i % CLIENTS:02d}"
        moment = NOW - dt.timedelta(seconds=1 + rng.randrange(86_399))
        record["created_at"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        deps.memory_store.decisions[record["decision_id"]] = record


def measure(count: int) -> dict[str, float]:
    from chalicelib.service import monitoring
    from devstack.in_memory import InMemoryDependencies

    with stdout_silenced():
        deps = InMemoryDependencies()
        stored_decisions(deps, count)
        start, end = monitoring.stamp(NOW - dt.timedelta(days=1)), monitoring.stamp(NOW)
        monitoring.version_basis(deps.versions, "v1")  # the baseline's holdout figures: once a process
        gc.collect()
        began = time.perf_counter()
        assert deps.outcomes is not None
        read = 0
        for _ in deps.outcomes.iter_monitored(start, end):
            read += 1
        read_seconds = time.perf_counter() - began
        gc.collect()
        tracemalloc.start()
        began = time.perf_counter()
        report = monitoring.run(deps, window_days=1, now=NOW)
        run_seconds = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert read == count == report["decisions"], (read, count, report["decisions"])
    return {
        "decisions": count,
        "read_s": read_seconds,
        "run_s": run_seconds,
        "peak_mb": peak / 1e6,
        "sections": len(report["sections"]),
        "alerts": len(report["alerts"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--page-ms", type=float, default=30.0)
    args = parser.parse_args(argv)
    small = measure(args.decisions // 10)
    full = measure(args.decisions)
    print(f"monitoring run over stored decisions (in-memory twin, {CLIENTS} clients, version v1, one day)")
    print(
        f"{'decisions':>10} {'read only':>10} {'full run':>10} {'us/decision':>12} {'peak MB':>8} "
        "sections alerts"
    )
    for figures in (small, full):
        per = figures["run_s"] / figures["decisions"] * 1e6
        print(
            f"{figures['decisions']:>10,.0f} {figures['read_s']:>9.2f}s {figures['run_s']:>9.2f}s "
            f"{per:>12.1f} {figures['peak_mb']:>8.1f} {figures['sections']:>8.0f} {figures['alerts']:>6.0f}"
        )
    # Peak memory tracked by tracemalloc covers the run only (not the stored records, which on AWS
    # are in DynamoDB): it includes the twin's list of the window's records, which the DynamoDB read
    # path does not keep (it yields page by page).
    # Lambda gives a function one full vCPU at 1,769 MB, proportionally less below.
    cpu_share = min(1.0, resources.MONITOR_FUNCTION.memory_mb / 1769)
    per_decision = full["run_s"] / full["decisions"] / cpu_share
    million = 1_000_000
    pages = million / INDEX_ITEMS_PER_PAGE
    projected = million * per_decision + pages * args.page_ms / 1000
    print(
        f"1,000,000 decisions projected: {million * per_decision:.0f} s of CPU (measured per decision, at "
        f"{cpu_share:.2f} vCPU) + "
        f"{pages:.0f} Query pages x {args.page_ms:.0f} ms = {projected:.0f} s of Lambda's "
        f"{LAMBDA_TIMEOUT_SECONDS} s at {resources.MONITOR_FUNCTION.memory_mb} MB "
        f"({'fits' if projected < LAMBDA_TIMEOUT_SECONDS else 'does NOT fit'}); memory: counts only "
        f"(peak {small['peak_mb']:.1f} MB at {small['decisions']:,.0f}, {full['peak_mb']:.1f} MB at "
        f"{full['decisions']:,.0f})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
