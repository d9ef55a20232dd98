"""What a million decisions cost in AWS at list prices, from the usage ``bench.bench_aws_calls`` measures.

Pure arithmetic (no app, no moto), unit-tested on hand-made usages. Prices: the us-east-1 on-demand
list prices of AWS's pricing pages (``Prices``: each field names its page; check them before relying
on a figure). Assumed, not measurable here: the in-region round trip per call (``LATENCY_MS``) and
Lambda's CPU share, one full vCPU at 1,769 MB, so the CPU time measured on one core is scaled by
1,769 / memory (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). Webhook
deliveries: one endpoint, first attempt, batch size 1 (KMS Decrypt left out: a secret is kept 5
minutes per instance). Batches: a chunk is one scorer invocation; also assumed one S3 stream's read
rate while planning, the SQS pickup delay, and one vCPU scoring as fast as a core here. Fixed monthly
costs and free tiers are left out. docs/BENCHMARKS.md explains the figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MILLION = 1_000_000
GIB = 1024**3
SECONDS_PER_MONTH = 730 * 3600
FULL_VCPU_MEMORY_MB = 1769
LATENCY_MS = {
    "dynamodb": 4.0,
    "sqs": 8.0,
    "events": 12.0,
    "s3": 30.0,
}  # assumed in-region round trip per call
# A lender's receiver answering a delivery over the internet (assumed; the function waits for it).
RECEIVER_MS = 200.0
WEBHOOK_MEMORY_MB = 256  # resources.WEBHOOK_FUNCTION.memory_mb (not imported: no app code here)
WEBHOOK_HANDLER_MS = 5.0  # assumed CPU time of a fan-out or an attempt on one full core
# A delivery item (about 1 KB) in the table and its two indexes, kept the 30 days of retention.
WEBHOOK_DELIVERY_GB_MONTHS = 3 * 1024 / GIB
# Lambda's own START, END and REPORT lines per invocation (assumed bytes).
PLATFORM_LOG_BYTES_PER_INVOCATION = 300
FLOOR_HANDLER_MS = 1.0  # a handler that only makes one GetItem (assumed CPU time on one full core)


@dataclass(frozen=True)
class Prices:
    api_gateway_rest_per_million: float = 3.50  # https://aws.amazon.com/api-gateway/pricing/ (REST)
    lambda_requests_per_million: float = 0.20  # https://aws.amazon.com/lambda/pricing/
    lambda_gb_second: float = 0.0000166667  # x86_64, the functions' architecture
    dynamodb_wru_per_million: float = 0.625  # https://aws.amazon.com/dynamodb/pricing/on-demand/
    dynamodb_rru_per_million: float = 0.125
    dynamodb_storage_gb_month: float = 0.25  # Standard table class
    sqs_per_million: float = 0.40  # https://aws.amazon.com/sqs/pricing/ (each 64 KB chunk)
    eventbridge_per_million: float = 1.00  # https://aws.amazon.com/eventbridge/pricing/ (custom events)
    logs_ingestion_gb: float = 0.50  # https://aws.amazon.com/cloudwatch/pricing/
    s3_put_per_thousand: float = 0.005  # https://aws.amazon.com/s3/pricing/ (Standard)
    s3_get_per_thousand: float = 0.0004
    s3_storage_gb_month: float = 0.023


@dataclass(frozen=True)
class Usage:
    """What ONE execution of an operation bills (a worker record is a tenth of a 10-record batch)."""

    api_requests: float
    invocations: float
    memory_mb: int
    cpu_ms: float  # measured on one full core
    calls: dict[str, float] = field(default_factory=dict)  # AWS calls by service: the network wait
    wru: float = 0.0
    rru: float = 0.0
    sqs_requests: float = 0.0
    events: float = 0.0
    log_bytes: float = 0.0
    log_lines: float = 0.0
    gb_months: float = 0.0  # DynamoDB bytes stored x months kept
    s3_puts: float = 0.0
    s3_gets: float = 0.0
    s3_gb_months: float = 0.0


def duration_ms(usage: Usage) -> float:
    """Wall time on Lambda: the CPU scaled by the memory's CPU share, plus the network waits."""
    cpu_share = min(usage.memory_mb, FULL_VCPU_MEMORY_MB) / FULL_VCPU_MEMORY_MB
    latency = {**LATENCY_MS, "receiver": RECEIVER_MS}
    waits = sum(count * latency.get(service, 10.0) for service, count in usage.calls.items())
    return usage.cpu_ms / cpu_share + waits


def gb_seconds(usage: Usage) -> float:
    """Lambda bills each invocation's duration rounded up to the millisecond."""
    if usage.invocations <= 0:
        return 0.0
    per_invocation_ms = math.ceil(duration_ms(usage) / usage.invocations)
    return usage.invocations * per_invocation_ms / 1000 * usage.memory_mb / 1024


def cost_lines(usage: Usage, prices: Prices = Prices()) -> dict[str, float]:
    """USD per execution, by line item."""
    log_bytes = usage.log_bytes + usage.invocations * PLATFORM_LOG_BYTES_PER_INVOCATION
    return {
        "API Gateway requests": usage.api_requests * prices.api_gateway_rest_per_million / MILLION,
        "Lambda requests": usage.invocations * prices.lambda_requests_per_million / MILLION,
        "Lambda duration": gb_seconds(usage) * prices.lambda_gb_second,
        "DynamoDB writes": usage.wru * prices.dynamodb_wru_per_million / MILLION,
        "DynamoDB reads": usage.rru * prices.dynamodb_rru_per_million / MILLION,
        "DynamoDB storage, retention": usage.gb_months * prices.dynamodb_storage_gb_month,
        "SQS requests": usage.sqs_requests * prices.sqs_per_million / MILLION,
        "EventBridge events": usage.events * prices.eventbridge_per_million / MILLION,
        "CloudWatch Logs ingestion": log_bytes / GIB * prices.logs_ingestion_gb,
        "S3 PUT requests": usage.s3_puts * prices.s3_put_per_thousand / 1000,
        "S3 GET requests": usage.s3_gets * prices.s3_get_per_thousand / 1000,
        "S3 storage, retention": usage.s3_gb_months * prices.s3_storage_gb_month,
    }


def summed_lines(parts: list[tuple[Usage, float]], prices: Prices = Prices()) -> dict[str, float]:
    """USD by line item of each usage times how often it runs."""
    total: dict[str, float] = {}
    for usage, times in parts:
        for line, cost in cost_lines(usage, prices).items():
            total[line] = total.get(line, 0.0) + cost * times
    return total


def path_lines(parts: list[Usage], prices: Prices = Prices()) -> dict[str, float]:
    """USD per MILLION executions of a path made of several operations (e.g. submit + worker + poll)."""
    return summed_lines([(part, MILLION) for part in parts], prices)


def floor_usage(memory_mb: int) -> Usage:
    """The cheapest DynamoDB-backed endpoint: one API request, one invocation, one small GetItem."""
    return Usage(
        api_requests=1,
        invocations=1,
        memory_mb=memory_mb,
        cpu_ms=FLOOR_HANDLER_MS,
        calls={"dynamodb": 1},
        rru=0.5,
    )


def webhook_delivery() -> list[Usage]:
    """One webhook delivery: the event's SendMessage (by the deciding function), the fan-out
    (receive, endpoints Query, the delivery created, its attempt sent, delete) and the attempt
    (receive, delivery and endpoint reads, the POST, the delivery settled, delete). Writes: the
    delivery created (2 WRU for its 1.02 KB in the table and in each of two indexes: 6) and settled
    (8: the status index's key changes, a delete and a put)."""
    fan_out = Usage(
        api_requests=0,
        invocations=1,
        memory_mb=WEBHOOK_MEMORY_MB,
        cpu_ms=WEBHOOK_HANDLER_MS,
        calls={"dynamodb": 2, "sqs": 1},
        wru=6,
        rru=0.5,
        sqs_requests=1 + 2 + 1,  # the event sent (by the decision), received, deleted; the attempt sent
        gb_months=WEBHOOK_DELIVERY_GB_MONTHS,
    )
    attempt = Usage(
        api_requests=0,
        invocations=1,
        memory_mb=WEBHOOK_MEMORY_MB,
        cpu_ms=WEBHOOK_HANDLER_MS,
        calls={"dynamodb": 3, "receiver": 1},
        wru=8,
        rru=2,
        sqs_requests=2,  # the attempt message received and deleted
    )
    return [fan_out, attempt]


def paths(usages: dict[str, Usage]) -> dict[str, list[Usage]]:
    """The decisions a user pays for: synchronous (every one a cache miss: unique applicants) and
    asynchronous (submit, the worker's share of a batch, one status poll); and a page of the list."""
    found = {"floor endpoint (baseline)": [floor_usage(usages["sync_miss"].memory_mb)]}
    if "sync_miss" in usages:
        found["sync decision (cache miss)"] = [usages["sync_miss"]]
    if {"async_submit", "worker_record", "status_poll"} <= set(usages):
        found["async decision (+1 poll)"] = [
            usages[n] for n in ("async_submit", "worker_record", "status_poll")
        ]
    if "list_page" in usages:
        found["list page"] = [usages["list_page"]]
    return found


def report(usages: dict[str, Usage], prices: Prices = Prices()) -> None:
    costs = {name: path_lines(parts, prices) for name, parts in paths(usages).items()}
    names = list(costs)
    print("USD per million, us-east-1 list prices (see bench/cost_model.py for the pages), x86_64")
    print(f"{'line item':<30}" + "".join(f"{name:>30}" for name in names))
    for line in next(iter(costs.values())):
        if not any(costs[name][line] for name in names):
            continue  # e.g. the S3 lines, which only batches bill
        print(f"{line:<30}" + "".join(f"{costs[name][line]:>30.4f}" for name in names))
    totals = {name: sum(lines.values()) for name, lines in costs.items()}
    print(f"{'total':<30}" + "".join(f"{totals[name]:>30.2f}" for name in names))
    floor = totals[names[0]]
    for name in names[1:]:
        print(f"{name}: ${totals[name]:.2f} per million, {totals[name] / floor:.2f}x the floor endpoint")
    for name, usage in usages.items():
        print(
            f"  {name}: Lambda duration {duration_ms(usage) / usage.invocations:.1f} ms per invocation "
            f"at {usage.memory_mb} MB"
        )
    webhook = path_lines(webhook_delivery(), prices)
    items = ", ".join(f"{line} {cost:.2f}" for line, cost in webhook.items() if cost)
    print(
        f"webhook delivery (one endpoint, first attempt): ${sum(webhook.values()):.2f} per million ({items})"
    )
    latency = ", ".join(f"{service} {ms:g} ms" for service, ms in LATENCY_MS.items())
    print(
        f"assumed in-region latency per call: {latency}, a lender's receiver {RECEIVER_MS:g} ms; "
        f"CPU scaled by {FULL_VCPU_MEMORY_MB} MB / memory"
    )


# ------------------------------------------------------------------------------------------------
# Batches and backtests (issue 19): the time and cost of scoring a file on Lambda through SQS, from
# the per-chunk figures bench.bench_batches measures (assumptions: the module's docstring).
S3_READ_MB_PER_SECOND = 90.0
SQS_PICKUP_MS = 100.0


@dataclass(frozen=True)
class BatchRun:
    """One batch as the chunk handler runs it (the figures the bench measures, per chunk of rows)."""

    rows: int
    versions: int
    rows_per_chunk: int
    chunk_cpu_ms: float  # score_chunk + gzip + the handler's own work, on one full core, per chunk
    memory_mb: int  # the scorer function's memory
    concurrency: int  # the scorer's reserved concurrency = the SQS mapping's maximum concurrency
    input_bytes: int  # the file's size
    result_bytes_per_row: float  # gzip JSON Lines, all versions
    plan_cpu_ms_per_mb: float  # plan_chunks over the file, on one full core
    summary_cpu_ms: float  # merge_aggregates + summarise over every chunk's aggregates
    dynamodb_wru_per_chunk: float = 5.0  # the conditional update (the item holds the chunk-index set)
    retention_days: int = 30

    @property
    def chunks(self) -> int:
        return math.ceil(self.rows / self.rows_per_chunk)


def chunk_usage(run: BatchRun) -> Usage:
    """One chunk: one invocation with its ranged GET, two PUTs (part, aggregates), the DynamoDB
    update, the SQS receive and delete; the summary's GET of its aggregates is billed to it too."""
    return Usage(
        api_requests=0,
        invocations=1,
        memory_mb=run.memory_mb,
        cpu_ms=run.chunk_cpu_ms,
        calls={"s3": 3, "dynamodb": 1, "sqs": 1},
        wru=run.dynamodb_wru_per_chunk,
        sqs_requests=2,
        s3_puts=2,
        s3_gets=2,
    )


def batch_once(run: BatchRun) -> Usage:
    """Once per batch: the input's and the summary's PUTs, the head GET, the chunk messages sent 10 per
    call, the completion event, the input and the results kept for the retention."""
    stored_gb = (run.rows * run.result_bytes_per_row + run.input_bytes) / 1e9
    return Usage(
        api_requests=0,
        invocations=0,
        memory_mb=run.memory_mb,
        cpu_ms=0.0,
        sqs_requests=math.ceil(run.chunks / 10),
        events=1,
        s3_puts=2,
        s3_gets=1,
        s3_gb_months=stored_gb * run.retention_days / 30,
    )


def chunk_seconds(run: BatchRun) -> float:
    return duration_ms(chunk_usage(run)) / 1000


def batch_seconds(run: BatchRun) -> dict[str, float]:
    """Wall time by phase: the start (the file streamed once to plan the chunks, their messages
    sent 10 per call), the chunks in waves of ``concurrency``, the summary (every aggregates part read)."""
    megabytes = run.input_bytes / 1e6
    plan = megabytes / S3_READ_MB_PER_SECOND + megabytes * run.plan_cpu_ms_per_mb / 1000
    plan += math.ceil(run.chunks / 10) * LATENCY_MS["sqs"] / 1000
    waves = math.ceil(run.chunks / max(1, run.concurrency))
    scoring = waves * (chunk_seconds(run) + SQS_PICKUP_MS / 1000)
    summary = run.summary_cpu_ms / 1000 + math.ceil(run.chunks / 64) * LATENCY_MS["s3"] / 1000
    return {"start (plan + send)": plan, "chunks": scoring, "summary": summary}


def batch_cost_lines(run: BatchRun, prices: Prices = Prices()) -> dict[str, float]:
    """USD for the whole batch, by line item."""
    return summed_lines([(chunk_usage(run), run.chunks), (batch_once(run), 1)], prices)


def batch_report(run: BatchRun, prices: Prices = Prices()) -> tuple[float, float]:
    """Prints the phases and the line items; (minutes, USD per million rows)."""
    phases = batch_seconds(run)
    lines = batch_cost_lines(run, prices)
    total = sum(lines.values())
    per_million = total / run.rows * MILLION
    minutes = sum(phases.values()) / 60
    print(
        f"{run.rows:,} rows x {run.versions} versions in {run.chunks:,} chunks of {run.rows_per_chunk:,}, "
        f"{run.concurrency} scorers at {run.memory_mb} MB (us-east-1 list prices, see bench/cost_model.py)"
    )
    print(f"  one chunk on Lambda: {chunk_seconds(run):.2f} s")
    for phase, seconds in phases.items():
        print(f"  {phase:<28} {seconds:9.1f} s")
    print(f"  {'total':<28} {minutes * 60:9.1f} s = {minutes:.2f} min")
    for line, cost in lines.items():
        if cost:
            print(f"  {line:<28} ${cost:10.4f}")
    print(f"  {'total':<28} ${total:10.4f} = ${per_million:.4f} per million rows")
    print(
        f"  assumed: S3 {LATENCY_MS['s3']:g} ms per request, {S3_READ_MB_PER_SECOND:g} MB/s one stream, "
        f"SQS pick-up {SQS_PICKUP_MS:g} ms, one Lambda vCPU = one core here"
    )
    return minutes, per_million
