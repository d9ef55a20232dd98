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

``--api-url URL --endpoint-url URL`` runs against a stack that is already up (``make run``): then the
workers are already running, so steps 2 and 3 overlap and only the end-to-end figures apply.

Figures depend on the machine: moto, ``chalice local``, the workers and the clients all share its
cores (2 on the reference machine). In AWS, API Gateway + Lambda and DynamoDB scale out instead.
Run: ``python -m bench.bench_burst [--count 10000] [--workers 4] [--clients 16]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from chalicelib.resources import APPLICATIONS_QUEUE, TABLES, WORKER_FUNCTION, resource_name
from devstack.bootstrap import create_tables_and_queues
from devstack.burst import (
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
from devstack.processes import free_port, wait_until
from devstack.samples import applications
from devstack.stack import DevStack, DevStackConfig
from devstack.stage_env import WORKER_FUNCTION_NAME

# Poison messages need maxReceiveCount receives, each after the visibility timeout: the queue's own
# timeout (minutes) would make the benchmark wait most of an hour. Only for runs with poison.
POISON_VISIBILITY_TIMEOUT_SECONDS = 5


def baseline_scoring_rate(batch_size: int, batches: int = 200) -> float:
    """Decisions/s of the worker's pure scoring (validate + decide), in this process, no I/O."""
    from chalicelib import engine

    payloads = applications(batch_size * batches, with_personal_data=False)
    started = time.perf_counter()
    for start in range(0, len(payloads), batch_size):
        for payload in payloads[start : start + batch_size]:
            engine.decide(engine.validate_application(payload))
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
    from chalicelib.service import dependencies
    from chalicelib.service.applications import queued_application

    store = dependencies.current().store
    batch_size = APPLICATIONS_QUEUE.batch_size
    events = []
    for start in range(0, batch_size * batches, batch_size):
        messages = []
        for payload in applications(start + batch_size, with_personal_data=False)[start:]:
            application_id = str(uuid.uuid4())
            submitted_at = "2026-01-01T00:00:00.000Z"
            store.create_pending_application(application_id, {}, submitted_at)
            body = json.dumps(queued_application(application_id, payload, {}, submitted_at).to_message())
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


def cpu_seconds_by_process(stack: DevStack) -> dict[str, float]:
    """CPU seconds (user + system) each child of our own stack has used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for process in stack.processes():
        try:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = "sqs-poller" if process.name.startswith("sqs-poller") else process.name
        if process is stack.moto_sqs:
            kind = "moto-sqs"
        elif process is stack.moto:
            kind = "moto-dynamodb"
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
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows up in logs
    poison_count = int(args.count * args.poison_ratio)
    print(
        f"Burst: {args.count} submissions, {args.clients} clients, {args.workers} worker processes, "
        f"{args.duplicate_ratio:.0%} duplicate keys, {poison_count} poison messages"
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
        stack = DevStack(config)
        stack.start(with_workers=False)
        api_url, own_stack = stack.api_url, True
        headers = {"Content-Type": "application/json"}
    try:
        if own_stack:
            handler_rate = baseline_worker_handler_rate(stack)
            label = "one worker in-process, DynamoDB on moto, no queue:"
            print(f"  baseline  {label} {handler_rate:5.0f} decisions/s")
        return run(args, stack, api_url, headers, own_stack, poison_count, baseline)
    finally:
        if own_stack:
            stack.stop()
            print(f"  (logs of the stack's processes: {config.log_dir})")


def run(
    args: argparse.Namespace,
    stack: DevStack,
    api_url: str,
    headers: dict[str, str],
    own_stack: bool,
    poison_count: int,
    baseline: float,
) -> int:
    sqs, dynamodb, names = stack.client("sqs"), stack.client("dynamodb"), stack.names
    queue_url = sqs.get_queue_url(QueueName=names[APPLICATIONS_QUEUE.env_var])["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=names[APPLICATIONS_QUEUE.dlq_env_var])["QueueUrl"]

    submissions = plan_submissions(args.count, args.duplicate_ratio)
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
        decided = count_decided(dynamodb, names["APPLICATIONS_TABLE"])
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
    print(f"  total     first submit -> all DECIDED: {finished - burst_started:.1f} s")

    if cpu_used and accepted_ids:
        per_application = ", ".join(
            f"{name} {seconds * 1000 / len(accepted_ids):.1f}" for name, seconds in sorted(cpu_used.items())
        )
        print(f"  cpu       ms of CPU per accepted application: {per_application}")
        print(f"            (this machine has {os.cpu_count()} cores)")
    check = verify(dynamodb, names, accepted_ids)
    dead_lettered = dlq_bodies(sqs, dlq_url, len(poison)) if poison else set()
    print(
        f"  verify    accepted {check.accepted}, DECIDED {check.decided}, lost {len(check.lost)}, "
        f"decided twice {len(check.decided_twice)}, "
        f"without decision record {len(check.without_decision_record)}, "
        f"stray records {check.strays}, replays with a different id {submitted.mismatched_replays}"
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
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
