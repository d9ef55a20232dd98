"""Does a burst of applications all get decided, once each? And how fast, against the in-process rate?

Baseline, same run: the submit handler and then the worker on moto in-process, no HTTP or queue
server. Then the local stack on free ports (gateway emulation off): ``--count`` applications from
``--clients`` threads, a wait (a condition, generous deadline) until every accepted one is DECIDED
and the queue is empty, and the proof from the tables: each DECIDED with exactly one decision
record, none lost, no stray records (exit code 1 otherwise). docs/BENCHMARKS.md explains the figures.
Run: ``python -m bench.bench_burst [--count 1000] [--workers 2] [--clients 4]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.burst import count_decided, decided_at_span, plan_submissions, queue_depth, submit_all, verify
from bench.common import PROJECT_DIR
from chalicelib.resources import APPLICATIONS_QUEUE, APPLICATIONS_TABLE

BASELINE_APPLICATIONS = 400
SETTLED_DEADLINE_SECONDS = 1800.0  # generous: the wait ends as soon as everything is decided


def in_process_rate(count: int) -> float:
    """Applications/s through the submit handler and the worker in this process, moto in-process."""
    from devstack import fake_aws

    fake_aws.install_environment()
    from bench.common import proxy_event, stdout_silenced
    from devstack.lambda_events import LOCAL_ACCOUNT_ID, LocalLambdaContext, sqs_event, worker_context
    from devstack.samples import applications

    with fake_aws.moto_dependencies() as deps, stdout_silenced():
        from app import app, process_application_queue

        sqs = deps.aws_clients["sqs"]
        queue_url = sqs.get_queue_url(QueueName=deps.settings.applications_queue)["QueueUrl"]
        queue_arn = (
            f"arn:aws:sqs:{deps.settings.region}:{LOCAL_ACCOUNT_ID}:{deps.settings.applications_queue}"
        )
        context = LocalLambdaContext(function_name="api_handler", region=deps.settings.region)
        batch, busy = APPLICATIONS_QUEUE.batch_size, 0.0
        payloads = applications(count, with_personal_data=True)
        # A batch submitted, then taken off the queue by the worker: the queue stays short, as the
        # burst's running workers keep it (moto's SendMessage slows down as the queue grows).
        for start in range(0, count, batch):
            started = time.perf_counter()
            for payload in payloads[start : start + batch]:
                response = app(proxy_event("POST", "/v1/applications", payload), context)
                assert response["statusCode"] == 202, response["body"][:300]
            busy += time.perf_counter() - started
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=batch)["Messages"]
            event = sqs_event(messages, queue_arn, deps.settings.region)
            started = time.perf_counter()
            result = process_application_queue(event, worker_context(fake_aws.STAGE, deps.settings.region))
            busy += time.perf_counter() - started
            assert result == {"batchItemFailures": []}, result
            entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
    return count / busy


def baseline_rate(count: int) -> float:
    """``in_process_rate`` in a fresh interpreter: this one keeps its environment for the stack."""
    code = f"from bench.bench_burst import in_process_rate; print(in_process_rate({count}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"baseline failed:\n{out.stderr[-3000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="applications submitted over HTTP")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP client threads")
    parser.add_argument("--workers", type=int, default=2, help="queue worker processes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from devstack.processes import wait_until
    from devstack.stack import DevStack, DevStackConfig

    args = parse_args(argv)
    baseline = baseline_rate(BASELINE_APPLICATIONS)
    print(f"Burst: {args.count} applications, {args.clients} clients, {args.workers} worker processes")
    print(f"  baseline  submit + worker handlers in-process, moto in-process: {baseline:8.1f} applications/s")
    config = DevStackConfig.on_free_ports(
        workers=args.workers,
        gateway_emulation=False,
        reconcile_every_seconds=None,
        log_dir=Path(tempfile.mkdtemp(prefix="bench-burst-")),
    )
    with DevStack(config) as stack:  # started here, stopped at the end
        dynamodb, sqs = stack.client("dynamodb"), stack.client("sqs")
        table = stack.names[APPLICATIONS_TABLE.env_var]
        queue_url = sqs.get_queue_url(QueueName=stack.names[APPLICATIONS_QUEUE.env_var])["QueueUrl"]
        started = time.perf_counter()
        submitted = submit_all(
            stack.api_url,
            {"Content-Type": "application/json"},
            plan_submissions(args.count, 0.0),
            args.clients,
        )
        accepted = set(submitted.accepted.values())
        print(
            f"  submit    {args.count} POSTs in {submitted.seconds:.1f} s "
            f"= {args.count / submitted.seconds:.1f}/s; "
            f"answers {dict(submitted.statuses)}; {len(accepted)} accepted, "
            f"{submitted.failed} refused on every attempt"
        )
        wait_until(
            lambda: queue_depth(sqs, queue_url) == 0 and count_decided(dynamodb, table) >= len(accepted),
            SETTLED_DEADLINE_SECONDS,
            "every accepted application DECIDED and the queue empty",
            interval=2.0,
        )
        total = time.perf_counter() - started
        span = decided_at_span(dynamodb, table, accepted)
        check = verify(dynamodb, stack.names, accepted)
        print(
            f"  decided   first submit -> all DECIDED {total:.1f} s "
            f"= {len(accepted) / total:.1f} applications/s "
            f"({len(accepted) / total / baseline:.0%} of the in-process baseline)"
        )
        if span:
            print(f"  workers   first -> last decision {span:.1f} s = {len(accepted) / span:.1f} decisions/s")
        print(
            f"  verify    accepted {check.accepted}, DECIDED {check.decided}, lost {len(check.lost)}, "
            f"decided twice {len(check.decided_twice)}, without decision record "
            f"{len(check.without_decision_record)}, stray records {check.strays}"
        )
    # A submission refused with 503 + Retry-After on every attempt was never accepted: its client
    # knows (not lost). A record nobody was told about would be a stray.
    problems = len(check.lost) + len(check.decided_twice) + len(check.without_decision_record) + check.strays
    print(
        "  result    OK: none lost, none decided twice"
        if problems == 0
        else f"  result    FAILED: {problems} problems"
    )
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"  (load average {load} at the end; logs of the stack's processes: {config.log_dir})")
    return 0 if problems == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
