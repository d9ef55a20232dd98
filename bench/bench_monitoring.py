"""How long does a monitoring run over 1 million stored decisions take on AWS? It is fanned out
(``chalicelib.service.monitoring``): one part per (day, shard) partition of the window, then one merge.

In-process on the in-memory twin, decisions the service made for sample applications copied to
records of 20 clients: (1) one pass (``monitoring.run``) over a day of ``--decisions``; (2) one part of
a realistic size (``handle_part``): a 1 M-decision week is 28 partitions (7 days x 4 shards) of about
36,000 decisions, read through the monitoring read path, counted, written as JSON, counted done;
(3) the merge (``_complete_if_done``) of 28 such parts, reported and stored. Projection: wall time =
ceil(parts / concurrency) x (part time + Query pages x ``--page-ms``) + merge, at the part worker's
CPU (``resources.MONITOR_PART_FUNCTION``; Lambda gives one full vCPU at 1,769 MB) and the prod
concurrency cap. Run: ``python -m bench.bench_monitoring [--decisions N] [--page-ms MS]``.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import json
import math
import random
import time
import tracemalloc
import uuid
import zlib
from typing import Any

from devstack import fake_aws

fake_aws.install_environment()  # before the app or botocore is imported

from bench.common import stdout_silenced  # noqa: E402
from chalicelib import resources  # noqa: E402

CLIENTS = 20
SAMPLES = 300
INDEX_ITEMS_PER_PAGE = 2000  # 1 MB Query pages of ~0.5 KB index items
NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)
DAY = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)  # the partition a part reads: 2026-12-06, shard 0
MILLION_WEEK_PARTS = 7 * resources.MONITORING_DAY_SHARDS


def in_memory_deps(count: int, one_shard: int | None = None, seed: int = 20) -> Any:
    """``count`` decision records of CLIENTS clients over the day before NOW (``one_shard``: all in that
    shard of the day: one partition), copied from decisions the service made for SAMPLES applications."""
    from chalicelib.service import decisions, monitoring
    from devstack.in_memory import InMemoryDependencies
    from tests.support.samples import application_row

    deps = InMemoryDependencies()
    rng = random.Random(seed)
    made = []
    for i in range(SAMPLES):
        answer = decisions.make_decision(application_row(i), deps, "bench-seed")
        made.append(deps.memory_store.decisions[answer["decision_id"]])
    deps.memory_store.decisions.clear()
    for i in range(count):
        record = copy.deepcopy(made[i % SAMPLES])
        record["decision_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        while one_shard is not None and zlib.crc32(record["decision_id"].encode()) % 4 != one_shard:
            record["decision_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        record["client_id"] = f"bench-client-{i % CLIENTS:02d}"
        # one partition: the whole of the day before NOW's; otherwise the last 24 hours
        start = DAY if one_shard is not None else NOW - dt.timedelta(days=1)
        record["created_at"] = monitoring.stamp(start + dt.timedelta(seconds=rng.randrange(86_399)))
        deps.memory_store.decisions[record["decision_id"]] = record
    monitoring.version_basis(deps.versions, "v1")  # the baseline's holdout figures: once a process
    gc.collect()
    return deps


def one_pass(count: int) -> tuple[float, float]:
    """Seconds of one ``run`` over ``count`` decisions; its peak MB from a second, untimed run (tracemalloc
    slows Python several times)."""
    from chalicelib.service import monitoring

    with stdout_silenced():
        deps = in_memory_deps(count)
        began = time.perf_counter()
        assert monitoring.run(deps, window_days=1, now=NOW)["decisions"] == count
        seconds = time.perf_counter() - began
        tracemalloc.start()
        monitoring.run(deps, window_days=1, now=NOW)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return seconds, peak


def part_and_merge(part_size: int, parts: int) -> tuple[float, float, int]:
    """Seconds of one part of ``part_size`` decisions, seconds of the merge of ``parts`` such parts,
    and the bytes of one part's JSON."""
    from chalicelib.dal.monitoring_reports import RunRecord
    from chalicelib.service import monitoring

    with stdout_silenced():
        deps = in_memory_deps(part_size, one_shard=0)
        store = monitoring.stores(deps).reports
        window = monitoring.window_before(NOW, 7)
        partition = DAY.date().isoformat() + "#0"
        record: RunRecord = {
            "report_id": "mr-20261207T020000Z-0000bead",
            "created_at": window["to"],
            "window": window,
            "trigger": "local",
            "requested_by": None,
            "status": "RUNNING",
            "parts_total": parts,
            "parts_done": [],
            "error": None,
        }
        store.put_run(record)
        message = {"report_id": record["report_id"], "part": partition, **window}
        began = time.perf_counter()
        monitoring.handle_part(deps, message)
        part_seconds = time.perf_counter() - began
        body = store.get_part(record["report_id"], partition)
        assert body is not None and json.loads(body)["decisions"] == part_size
        ids = [f"2026-12-{1 + n // 4:02d}#{n % 4}" for n in range(parts)]  # copies stand for the others
        for part_id in ids:
            store.put_part(record["report_id"], part_id, body)
        done: RunRecord = {**record, "parts_done": ids}
        began = time.perf_counter()
        monitoring._complete_if_done(deps, done)
        merge_seconds = time.perf_counter() - began
        report = store.get_report(record["report_id"])
    assert report is not None and report["decisions"] == part_size * parts
    return part_seconds, merge_seconds, len(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--page-ms", type=float, default=30.0)
    args = parser.parse_args(argv)
    seconds, peak = one_pass(args.decisions)
    print(
        f"one pass, {args.decisions:,} decisions of {CLIENTS} clients: {seconds:.1f} s "
        f"({seconds / args.decisions * 1e6:.0f} us a decision), peak {peak:.1f} MB"
    )
    million, parts = 1_000_000, MILLION_WEEK_PARTS
    part_size = math.ceil(million / parts)
    part_s, merge_s, part_bytes = part_and_merge(part_size, parts)
    print(
        f"one part of {part_size:,} decisions: {part_s:.1f} s (its counts: {part_bytes / 1e3:.0f} KB of "
        f"JSON); merge of {parts} parts + report: {merge_s:.1f} s"
    )
    spec = resources.MONITOR_PART_FUNCTION
    cpu_share = min(1.0, spec.memory_mb / 1769)  # Lambda: one full vCPU at 1,769 MB
    concurrency = resources.MONITORING_PARTS_QUEUE.maximum_concurrency["prod"]
    pages = math.ceil(part_size / INDEX_ITEMS_PER_PAGE)
    per_part = part_s / cpu_share + pages * args.page_ms / 1000
    waves = math.ceil(parts / concurrency)
    wall = waves * per_part + merge_s / cpu_share
    print(
        f"1,000,000 decisions over 7 days projected on AWS: {parts} parts / {concurrency} concurrent "
        f"({waves} waves) x ({part_s / cpu_share:.1f} s CPU + {pages} Query pages x {args.page_ms:.0f} ms) "
        f"+ merge {merge_s / cpu_share:.1f} s = {wall:.0f} s wall, at {spec.memory_mb} MB "
        f"({cpu_share:.2f} vCPU); each part within its {spec.timeout_seconds} s timeout: "
        f"{'yes' if per_part < spec.timeout_seconds and merge_s + per_part < spec.timeout_seconds else 'NO'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
