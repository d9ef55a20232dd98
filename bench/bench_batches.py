"""How fast does a file score through the local stack, against the engine scoring it in process; and
what would 10 million rows take and cost in AWS? ``python -m bench.bench_batches [--rows 200000]``

The file: ``--rows`` rows cycled from data/loan_applications.csv, scored with the packaged v1 and a
variant (FOIR ceiling 55%, registered through ``POST /v1/versions`` as ``modelrisk1``). Baseline: its
chunks (``engine.batch.plan_chunks``) scored by ``engine.batch.score_chunk`` on a pool of two
processes (this machine's two cores), before and after the stack, the higher rate kept. The local
stack with two scorer processes runs ``make backtest``'s calls; rate = rows / (start -> done), target
>= 50% of the baseline, and CPU per row of all its processes (/proc), which other load skews less than
wall time. Exit 1 unless it completes with the in-process outcome mixes. Then
``bench.cost_model.batch_report`` for 10 million rows from the measured per-chunk figures.
"""

from __future__ import annotations

import contextlib
import functools
import json
import multiprocessing
import os
import tempfile
import time
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from pathlib import Path
from typing import Any, NamedTuple

from bench import cost_model
from bench.common import PROJECT_DIR
from chalicelib import engine, resources
from chalicelib.engine import batch
from chalicelib.engine.lending_policy import POLICY_V1_PATH
from devstack import backtest
from devstack.client import ApiClient
from devstack.cognito import demo_user, id_token
from devstack.stack import DevStack, DevStackConfig
from devstack.staff_token import cognito_client

TARGET_SHARE = 0.5
AWS_ROWS = 10_000_000
Scored = list[tuple[float, batch.ChunkResult]]  # per chunk: CPU ms, result


def variant_policy_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    document["version"] = "1.1-foir-55-bench"
    document["rules"]["POL-FOIR-MAX"]["limit"] = 0.55
    return document


@functools.cache
def versions() -> list[tuple[str, engine.DecisionLogic]]:
    v1 = engine.packaged_version()
    return [
        ("v1", v1),
        ("variant", engine.DecisionLogic(v1.model, engine.load_policy(variant_policy_document()))),
    ]


class Plan(NamedTuple):
    data: bytes
    columns: list[str] | None
    chunks: list[batch.ChunkSpec]
    cpu_ms_per_mb: float


def write_and_plan(rows: int, path: Path) -> Plan:
    header, *data = (PROJECT_DIR / "data" / "loan_applications.csv").read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([header, *(data[i % len(data)] for i in range(rows))]) + "\n", encoding="utf-8")
    content, started = path.read_bytes(), time.process_time()
    columns = batch.check_file_start(content[: resources.BATCH_HEAD_BYTES], "csv")
    blocks = (content[at : at + 2**20] for at in range(0, len(content), 2**20))
    chunks = batch.plan_chunks(blocks, resources.BATCH_ROWS_PER_CHUNK, has_header=True)
    return Plan(content, columns, chunks, 1000 * (time.process_time() - started) / (len(content) / 1e6))


def score(job: tuple[bytes, list[str] | None, int]) -> tuple[float, batch.ChunkResult]:
    """One chunk (its bytes, as the scorer's ranged GET gets them) scored: its CPU ms and result."""
    data, columns, first_row = job
    started = time.process_time()
    result = batch.score_chunk(data, "csv", columns, first_row, versions(), batch.ChunkOptions())
    return 1000 * (time.process_time() - started), result


def in_two_processes(planned: Plan) -> tuple[float, Scored]:
    """Rows/s (wall) of the chunks dealt one at a time to two processes with the versions loaded."""
    versions()  # loaded before the fork: the workers inherit them
    jobs = [(planned.data[c.start_byte : c.end_byte], planned.columns, c.first_row) for c in planned.chunks]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        started = time.perf_counter()
        scored = pool.map(score, jobs, chunksize=1)
        return sum(result.rows_scored for _, result in scored) / (time.perf_counter() - started), scored


def outcome_mixes(summary: Any, names: dict[str, str]) -> dict[str, Any]:
    return {names.get(v["version_id"], v["version_id"]): v["outcomes"] for v in summary["versions"]}


def cpu_seconds(stack: DevStack) -> float:
    """User + system CPU seconds so far of the stack's processes and their live descendants (/proc)."""
    pids, total = [process.popen.pid for process in stack.processes()], 0.0
    for pid in pids:  # the list grows with each process's children
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after "(comm)"
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids.extend(int(child) for child in (task / "children").read_text().split())
    return total


class Stacked(NamedTuple):
    final: dict[str, Any]  # the last GET /v1/backtests/{id}
    seconds: float  # start -> done
    with_upload: float  # create -> done
    cpu_seconds: float  # every process of the stack, start -> done
    mixes: dict[str, Any]  # the variant named "variant", as in process


def through_stack(path: Path, log_dir: Path) -> Stacked:
    config = DevStackConfig.on_free_ports(
        workers=1, batch_workers=2, log_dir=log_dir, reconcile_every_seconds=None
    )
    with DevStack(config).start() as stack:
        user = demo_user(backtest.DEFAULT_USER)
        assert user is not None and stack.staff_pool is not None
        token = id_token(cognito_client(stack.endpoint_url), stack.staff_pool, user.username, user.password)
        api, prefix = ApiClient(stack.api_url, {"Authorization": token}, timeout=120), backtest.STAFF_PREFIX
        registered = api.post(
            "/v1/versions", {"label": "FOIR 55% (bench)", "policy": variant_policy_document()}
        )
        if registered.status_code != 201:
            raise RuntimeError(f"registering the variant: {registered.status_code} {registered.text}")
        variant, began = registered.json()["version_id"], time.perf_counter()
        created = backtest.create(api, prefix, "csv", ["v1", variant])
        backtest.upload(created, path)
        cpu, started = cpu_seconds(stack), time.perf_counter()
        backtest.start(api, prefix, created["batch_id"])
        final = backtest.wait_until_done(api, prefix, created["batch_id"], lambda _: None, poll_seconds=0.2)
        ended, cpu = time.perf_counter(), cpu_seconds(stack) - cpu
    mixes = outcome_mixes(final.get("summary") or {"versions": []}, {variant: "variant"})
    return Stacked(final, ended - started, ended - began, cpu, mixes)


def report_stack(stacked: Stacked, baseline: float, chunk_cpu_ms: float) -> int:
    """Prints the stack's figures against the baseline; the number of scored rows."""
    rows = int((stacked.final.get("rows") or {}).get("scored", 0))
    rate = rows / stacked.seconds
    print(
        f"  local stack: {stacked.final.get('status')}, {rows:,} rows in {stacked.seconds:.1f} s from start "
        f"= {rate:,.0f} rows/s ({stacked.with_upload:.1f} s with create + upload)"
    )
    verdict = "met" if rate >= TARGET_SHARE * baseline else "MISSED"
    print(f"  target >= {TARGET_SHARE:.0%} of {baseline:,.0f} rows/s: {verdict} ({rate / baseline:.0%})")
    in_process_us = 1000 * chunk_cpu_ms / resources.BATCH_ROWS_PER_CHUNK
    stack_us = 1e6 * stacked.cpu_seconds / rows
    print(
        f"  CPU per row: in process {in_process_us:.0f} us, through the stack {stack_us:.0f} us (all its "
        f"processes): on two idle cores about {in_process_us / stack_us:.0%} of the in-process rate"
    )
    return rows


def in_aws(planned: Plan, scored: Scored, summary_cpu_ms: float) -> None:
    """The measured figures scaled to AWS_ROWS rows in AWS (bench.cost_model)."""
    rows = sum(result.rows_scored for _, result in scored)
    print(f"\n{AWS_ROWS:,} rows, two versions, in AWS:")
    run = cost_model.BatchRun(
        rows=AWS_ROWS,
        versions=2,
        rows_per_chunk=resources.BATCH_ROWS_PER_CHUNK,
        chunk_cpu_ms=sum(cpu_ms for cpu_ms, _ in scored) / len(scored),
        memory_mb=resources.BATCH_FUNCTION.memory_mb,
        concurrency=resources.BATCH_FUNCTION.reserved_concurrency["prod"],
        input_bytes=round(len(planned.data) * AWS_ROWS / rows),
        result_bytes_per_row=sum(len(result.results) for _, result in scored) / rows,
        plan_cpu_ms_per_mb=planned.cpu_ms_per_mb,
        summary_cpu_ms=summary_cpu_ms * AWS_ROWS / rows,  # the merge grows with the number of chunks
        retention_days=resources.BATCH_RESULT_RETENTION_DAYS,
    )
    minutes, per_million = cost_model.batch_report(run)
    verdicts = ["met" if figure <= aim else "MISSED" for figure, aim in ((minutes, 5), (per_million, 0.10))]
    print(f"  aims: <= 5 min {verdicts[0]} ({minutes:.2f} min); <= $0.10 per million rows {verdicts[1]}")


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--in-process-only", action="store_true", help="no local stack")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        planned = write_and_plan(args.rows, Path(scratch) / "applications.csv")
        print(f"{args.rows:,} rows ({len(planned.data) / 1e6:.1f} MB of CSV), {len(planned.chunks)} chunks")
        rate, scored = in_two_processes(planned)
        started = time.process_time()
        summary = batch.summarise(batch.merge_aggregates(r.aggregates for _, r in scored), ["v1", "variant"])
        summary_cpu_ms = 1000 * (time.process_time() - started)
        chunk_cpu_ms = sum(cpu_ms for cpu_ms, _ in scored) / len(scored)
        print(
            f"  in process, two processes: {rate:,.0f} rows/s; {chunk_cpu_ms:,.0f} ms CPU per chunk; "
            f"{sum(len(r.results) for _, r in scored) / summary['rows']['scored']:.1f} result bytes/row; "
            f"plan {planned.cpu_ms_per_mb:.2f} ms/MB; merge + summary {summary_cpu_ms:,.0f} ms"
        )
        ok = True
        if not args.in_process_only:
            stacked = through_stack(Path(scratch) / "applications.csv", Path(scratch))
            again, _ = in_two_processes(planned)
            print(f"  in process, two processes, after the stack: {again:,.0f} rows/s")
            rows = report_stack(stacked, max(rate, again), chunk_cpu_ms)
            agree = stacked.mixes == outcome_mixes(summary, {})
            print(f"  the stack's outcome mixes equal the in-process ones: {agree}")
            ok = stacked.final.get("status") == "COMPLETED" and rows == summary["rows"]["scored"] and agree
    in_aws(planned, scored, summary_cpu_ms)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
