"""The local emulator's own ceiling for queued decisions: the AWS calls alone, as fast as they go.

The burst benchmark (``bench/bench_burst.py``) pushes applications through ``chalice local``, SQS,
the queue workers and DynamoDB, all emulated on the same cores. Its decisions/s mean little without
knowing how fast the emulators can serve the calls a decision needs at all. This module measures
that, in three steps:

1. **Record** (``record_call_plan``, moto in-process, in a child process): the exact calls of
   queued decisions, counted by ``bench.bench_aws_calls.CallRecorder`` on every botocore client of
   the real app plus the local queue worker's own SQS client: ``batches`` x ``batch_size``
   ``POST /v1/applications`` through the real handler (samples from ``devstack.samples``, as the
   burst sends), then ``devstack.sqs_poller.QueuePoller.poll_once`` per batch (ReceiveMessage,
   ``app.process_application_queue``, DeleteMessageBatch). Besides the counts, the parameters of
   each call are kept (botocore's ``before-parameter-build``) so they can be replayed.
2. **Replay** (``run_ceiling``): ``processes`` x ``threads`` raw botocore loops against the stack's
   endpoints, each doing that call list again and again: the same operations on the same tables,
   queue and bus, with the same items (ids replaced by fresh ones, so every conditional write
   succeeds as in the burst). No engine, no Chalice, no Powertools. The ReceiveMessage /
   DeleteMessageBatch pair is live (it deletes what it received).
3. **Sweep** (``sweep_ceiling``): one loop waits for every call it makes, so a handful of loops
   measure the emulators' latency, not their capacity (the burst once reached 128% of four loops
   on DynamoDB Local). The replay is run at rising concurrency (``SweepPoint``s, e.g. 4x1, 4x2,
   4x3, 8x2, 8x3) and the best point is the ceiling; every point is kept so a reader sees the
   throughput flatten (``flattened``), i.e. that the emulators, not the loops, were the limit.

The ceiling assumes full batches (what the recording saw); the burst's workers see shallower queues
and smaller batches, which costs extra receives per decision: that is part of what the share shows.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.stage_env import FAKE_CREDENTIALS

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENDPOINT_ENV = "AWS_ENDPOINT_URL"  # and every AWS_ENDPOINT_URL_<SERVICE>: the recording is in-process
# What the burst is measured against; printed as met or not (never asserted: timing varies).
CEILING_AIM = 0.80
# A replayed receive does not long-poll: the loops share one queue, so a receive can find it empty
# for a moment (another loop took the messages) and would then wait for nothing the emulator
# does; the recording's receives found a full batch and never waited either.
REPLAY_MAX_WAIT_SECONDS = 0
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# SQS calls the loop makes from live state rather than from the recorded parameters.
_RECEIVE, _DELETE_BATCH = "ReceiveMessage", "DeleteMessageBatch"


# ------------------------------------------------------------------------------------------------
# The plan: what one iteration of the loop does (pure data, picklable)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedCall:
    service: str  # botocore service name: "dynamodb", "sqs", "events"
    operation: str  # API name: "PutItem", "SendMessage", ...
    params: dict[str, Any]  # as the app passed them (botocore shapes, bytes for binary)
    request_bytes: int  # the serialised request, as CallRecorder counted it


@dataclass(frozen=True)
class CallPlan:
    decisions: int  # queued decisions one pass over ``calls`` stands for
    calls: tuple[PlannedCall, ...]
    names: Mapping[str, str] = field(default_factory=dict)  # env var -> resource name when recorded

    def per_decision(self) -> dict[str, float]:
        """``service/Operation`` -> calls per decision (e.g. ``sqs/ReceiveMessage`` 0.1)."""
        counted = Counter(f"{call.service}/{call.operation}" for call in self.calls)
        return {name: count / self.decisions for name, count in sorted(counted.items())}

    def calls_per_decision(self) -> float:
        return len(self.calls) / self.decisions

    def request_bytes_per_decision(self) -> float:
        return sum(call.request_bytes for call in self.calls) / self.decisions

    def describe(self) -> str:
        return ", ".join(f"{name} {count:g}" for name, count in self.per_decision().items())


def plan_from_recording(
    recorded: list[tuple[str, str, int]],
    params: list[tuple[str, str, dict[str, Any]]],
    decisions: int,
    names: Mapping[str, str] | None = None,
) -> CallPlan:
    """Join CallRecorder's counted calls (service, operation, request bytes) with the captured
    parameters (service, operation, params), which must be the same calls in the same order."""
    if decisions <= 0:
        raise ValueError("a plan stands for at least one decision")
    if [(s, o) for s, o, _ in recorded] != [(s, o) for s, o, _ in params]:
        raise ValueError(
            "counted calls and captured parameters disagree: "
            f"{[(s, o) for s, o, _ in recorded]} vs {[(s, o) for s, o, _ in params]}"
        )
    calls = tuple(
        PlannedCall(service, operation, call_params, request_bytes)
        for (service, operation, request_bytes), (_, _, call_params) in zip(recorded, params, strict=True)
    )
    return CallPlan(decisions, calls, dict(names or {}))


def fresh_ids(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with every UUID in its strings replaced, consistently through ``mapping`` (an id
    seen again maps to the same new id, so the application, its decision and its trail still
    match); bytes (compressed documents) are left alone: same size, nobody reads them back."""
    if isinstance(value, str):
        return _UUID.sub(lambda found: mapping.setdefault(found.group(0), str(uuid.uuid4())), value)
    if isinstance(value, dict):
        return {key: fresh_ids(inner, mapping) for key, inner in value.items()}
    if isinstance(value, list):
        return [fresh_ids(inner, mapping) for inner in value]
    return value


def renamed(value: Any, names: Mapping[str, str]) -> Any:
    """``value`` with every string that is exactly a recorded resource name replaced by the target
    stack's (tables, bus); queue URLs are resolved separately (their host differs too)."""
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {key: renamed(inner, names) for key, inner in value.items()}
    if isinstance(value, list):
        return [renamed(inner, names) for inner in value]
    return value


def name_mapping(recorded: Mapping[str, str], target: Mapping[str, str]) -> dict[str, str]:
    """Recorded resource name -> the target stack's, matched by their environment variable."""
    return {name: target[variable] for variable, name in recorded.items() if variable in target}


@dataclass(frozen=True)
class Share:
    burst: float  # decisions/s
    ceiling: float  # decisions-equivalent/s
    aim: float = CEILING_AIM

    @property
    def fraction(self) -> float:
        return self.burst / self.ceiling if self.ceiling > 0 else 0.0

    @property
    def met(self) -> bool:
        return self.ceiling > 0 and self.fraction >= self.aim

    @property
    def above(self) -> bool:
        """More than the ceiling: the ceiling is not one (see ``above_ceiling_reasons``)."""
        return self.ceiling > 0 and self.burst > self.ceiling

    def line(self) -> str:
        verdict = "met" if self.met else "NOT met"
        return (
            f"{self.burst:.1f} of {self.ceiling:.1f} decisions/s = {self.fraction:.1%} of the emulator's "
            f"ceiling (aim >= {self.aim:.0%}: {verdict})"
        )


# Other processes' CPU (cores) has to differ by this much before it is named as a reason.
OTHERS_DIFFERENCE = 0.25


def above_ceiling_reasons(
    rates: list[float],
    burst_others: float,
    ceiling_others: float,
    burst_batch: float | None,
    plan_batch: float,
) -> list[str]:
    """Why a burst can beat the best point of the sweep, from what was measured in the run.

    ``rates``: the sweep in order of rising concurrency; the others: cores that processes not of
    this run used during the burst and during the best point (the machine is shared; the load
    average would count the run's own processes); ``burst_batch``: the workers' mean messages
    per batch (None: unknown), ``plan_batch``: the recording's (full batches)."""
    reasons = []
    if not flattened(rates):
        reasons.append(
            "the sweep was still rising at its most concurrent point, so its best is a lower bound "
            "of the emulators' capacity: add points (--ceiling-points)"
        )
    if ceiling_others > burst_others + OTHERS_DIFFERENCE:
        reasons.append(
            f"other processes took more of the machine during the best ceiling point "
            f"({ceiling_others:.2f} cores) than during the burst ({burst_others:.2f}): fewer "
            "cores were left for the emulators"
        )
    if burst_batch is not None and burst_batch > plan_batch:
        reasons.append(
            f"the workers' batches ({burst_batch:.1f} messages) were fuller than the recording's "
            f"({plan_batch:.1f}): fewer receives and deletes per decision than the loops make"
        )
    if not reasons:
        reasons.append(
            "nothing measured here explains it (flat sweep, same CPU left to us, no fuller "
            "batches): it is within this shared machine's run-to-run noise; compare repeated runs"
        )
    return reasons


def mean_rate(rates: list[float]) -> float:
    """The mean of some rates (0 without any)."""
    return sum(rates) / len(rates) if rates else 0.0


# A sweep has flattened when its last (most concurrent) point gains less than this over the best
# point below it: more loops no longer buy throughput, the emulators are saturated.
FLAT_GAIN = 0.05


@dataclass(frozen=True, order=True)
class SweepPoint:
    """One concurrency of the sweep: ``processes`` spawned interpreters x ``threads`` loops each."""

    processes: int
    threads: int = 1

    @property
    def loops(self) -> int:
        return self.processes * self.threads

    def label(self) -> str:
        return f"{self.processes}x{self.threads}"

    @classmethod
    def parse(cls, text: str) -> SweepPoint:
        """``"8x2"`` -> 8 processes x 2 threads; ``"4"`` -> 4 processes x 1 thread."""
        processes, _, threads = text.strip().lower().partition("x")
        point = cls(int(processes), int(threads or 1))
        if point.processes < 1 or point.threads < 1:
            raise ValueError(f"a sweep point needs at least one process and one thread: {text!r}")
        return point


def default_sweep(workers: int) -> list[SweepPoint]:
    """1x, 2x and 3x the burst's worker count (threads in as many processes as workers), then 4x
    and 6x in twice the processes: on 2 cores the last steps show whether throughput has flattened
    (on moto, 8 loops were still gaining on 4)."""
    workers = max(1, workers)
    return [
        SweepPoint(workers, 1),
        SweepPoint(workers, 2),
        SweepPoint(workers, 3),
        SweepPoint(2 * workers, 2),
        SweepPoint(2 * workers, 3),
    ]


def parse_sweep(text: str) -> list[SweepPoint]:
    """``"4x1,4x2,8x2"`` -> the points in the given order (empty text: no points)."""
    return [SweepPoint.parse(part) for part in text.split(",") if part.strip()]


def best_rate(rates: list[float]) -> float:
    """The ceiling the burst is compared with: the best point of the sweep (0 without points)."""
    return max(rates, default=0.0)


def flattened(rates: list[float], flat_gain: float = FLAT_GAIN) -> bool:
    """Whether the sweep (rates in order of rising concurrency) has stopped rising: its last point
    is within ``flat_gain`` of the best point before it, or below it. One point never shows it."""
    if len(rates) < 2:
        return False
    before = max(rates[:-1])
    return before > 0 and rates[-1] <= before * (1 + flat_gain)


def share_of_ceiling(burst: float, ceiling: float, aim: float = CEILING_AIM) -> Share:
    if burst < 0 or ceiling < 0:
        raise ValueError("rates are never negative")
    return Share(burst, ceiling, aim)


# ------------------------------------------------------------------------------------------------
# Recording (moto in-process; run it in a fresh process: it imports the app under mock_aws)
# ------------------------------------------------------------------------------------------------
def record_call_plan(batches: int = 3) -> CallPlan:
    """The calls of ``batches`` full queue batches of decisions, counted on the real app."""
    # bench_aws_calls (through bench_handler) sets this process's environment for the app on import.
    from moto import mock_aws

    from bench import bench_aws_calls
    from bench.bench_aws_calls import AppDriver, CallRecorder, proxy_event, stdout_discarded
    from chalicelib import resources
    from chalicelib.dal.clients import make_client
    from chalicelib.service import dependencies
    from devstack.samples import applications
    from devstack.sqs_poller import QueuePoller

    region = bench_aws_calls.REGION
    captured: list[tuple[str, str, dict[str, Any]]] = []
    capturing = {"on": False}

    def capture(params: dict[str, Any], model: Any, **_: Any) -> None:
        if capturing["on"]:
            captured.append((model.service_model.service_name, model.name, copy.deepcopy(params)))

    with mock_aws(), stdout_discarded():
        deps = dependencies.Dependencies.from_environment()
        poller_sqs = make_client("sqs", region)
        clients = {**deps.aws_clients, "poller-sqs": poller_sqs}
        bench_aws_calls._bootstrap(dict(deps.aws_clients))
        dependencies.use(deps)
        try:
            recorder = CallRecorder(clients, estimator=None)
            for client in clients.values():
                client.meta.events.register(
                    "before-parameter-build.*.*", capture, unique_id="emulator-ceiling-params"
                )
            driver = AppDriver()
            batch_size = resources.APPLICATIONS_QUEUE.batch_size
            poller = QueuePoller(
                handler=driver.worker,
                queue_name=deps.settings.applications_queue,
                stage=bench_aws_calls.STAGE,
                sqs_client=poller_sqs,
                long_poll_seconds=1,
            )
            payloads = applications(batch_size * (batches + 1), with_personal_data=True)

            def one_batch(chunk: list[dict[str, Any]]) -> None:
                for payload in chunk:
                    driver._call(proxy_event("POST", "/v1/applications", payload), 202)
                outcome = poller.poll_once()
                if outcome.deleted != len(chunk) or outcome.failed:
                    raise RuntimeError(f"recording batch not fully decided: {outcome}")

            one_batch(payloads[:batch_size])  # warm-up: queue URL lookups, cold-start work
            recorder.calls.clear()
            capturing["on"] = True
            with recorder.operation("queued_decision"):
                for start in range(batch_size, len(payloads), batch_size):
                    one_batch(payloads[start : start + batch_size])
            capturing["on"] = False
        finally:
            dependencies.use(None)
    # CallRecorder names a service by its endpoint prefix, botocore's model by its service name:
    # the same for the three services a decision uses (dynamodb, sqs, events).
    counted = [(c.service, c.operation, c.request_bytes) for c in recorder.calls["queued_decision"]]
    settings = deps.settings
    names = {
        # config.Settings names a table's attribute after its variable: DECISIONS_TABLE -> decisions_table.
        spec.env_var: getattr(settings, spec.env_var.lower())
        for spec in resources.TABLES
    }
    names[resources.APPLICATIONS_QUEUE.env_var] = settings.applications_queue
    names[resources.DECISION_EVENTS_BUS.env_var] = settings.decision_events_bus
    return plan_from_recording(counted, captured, batch_size * batches, names)


def record_in_child(batches: int = 3) -> CallPlan:
    """``record_call_plan`` in a fresh interpreter that imports nothing else first: this one may
    already talk to a stack, and the app's settings (metrics namespace, endpoints) are read from
    the environment at import, which ``bench.bench_aws_calls`` must set before anything else."""
    environment = {name: value for name, value in os.environ.items() if not name.startswith(ENDPOINT_ENV)}
    with tempfile.TemporaryDirectory(prefix="emulator-ceiling-") as folder:
        out = Path(folder) / "plan.pickle"
        command = [sys.executable, "-m", "bench.emulator_ceiling", "record", str(batches), str(out)]
        subprocess.run(command, env=environment, cwd=PROJECT_ROOT, check=True)
        plan: CallPlan = pickle.loads(out.read_bytes())
    return plan


# ------------------------------------------------------------------------------------------------
# Replaying (raw botocore loops: processes x threads)
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoopResult:
    decisions: float  # decisions' worth of calls completed inside the window (see _timed_loop)
    calls: int  # calls completed inside the window
    errors: Counter[str]
    seconds: float  # the window
    cpu_seconds: float  # this loop's thread alone (time.thread_time), until it stopped
    seconds_in: Counter[str] = field(default_factory=Counter)  # wall time per service/Operation
    calls_in: Counter[str] = field(default_factory=Counter)  # calls per service/Operation


@dataclass(frozen=True)
class CeilingResult:
    plan: CallPlan
    point: SweepPoint
    seconds: float
    loops: tuple[LoopResult, ...]
    sampled: dict[str, float] = field(default_factory=dict)  # ``sample()``'s growth over the window
    load_average: float = 0.0  # the machine's 1-minute load average at the end of the window

    @property
    def decisions(self) -> float:
        return sum(loop.decisions for loop in self.loops)

    @property
    def calls(self) -> int:
        return sum(loop.calls for loop in self.loops)

    @property
    def ops_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def decisions_per_second(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0

    @property
    def errors(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for loop in self.loops:
            total.update(loop.errors)
        return total

    @property
    def client_cpu_seconds(self) -> float:
        return sum(loop.cpu_seconds for loop in self.loops)

    def latency_ms(self) -> dict[str, float]:
        """Mean wall ms per call, by ``service/Operation``, over every loop."""
        total: Counter[str] = Counter()
        made: Counter[str] = Counter()
        for loop in self.loops:
            total.update(loop.seconds_in)
            made.update(loop.calls_in)
        return {name: 1000 * seconds / made[name] for name, seconds in sorted(total.items()) if made[name]}


def _clients(endpoints: Mapping[str, str], region: str) -> dict[str, Any]:
    import botocore.session

    from chalicelib.dal.clients import client_config

    session = botocore.session.Session()
    return {
        service: session.create_client(
            service,
            region_name=region,
            endpoint_url=endpoint,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=client_config(),  # the app's own timeouts, retries and connection pool
        )
        for service, endpoint in endpoints.items()
    }


def _prepared(plan: CallPlan, names: Mapping[str, str], queue_urls: Mapping[str, str]) -> list[PlannedCall]:
    """The plan's calls on the target stack: its resource names and queue URLs."""
    calls = []
    for call in plan.calls:
        params = renamed(call.params, names)
        if "QueueUrl" in params:
            queue_name = _queue_name(params["QueueUrl"])
            params["QueueUrl"] = queue_urls[names.get(queue_name, queue_name)]
        if call.operation == _RECEIVE:
            params["WaitTimeSeconds"] = min(int(params.get("WaitTimeSeconds", 0)), REPLAY_MAX_WAIT_SECONDS)
        calls.append(PlannedCall(call.service, call.operation, params, call.request_bytes))
    return calls


def _queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


def _iteration(
    clients: Mapping[str, Any],
    calls: list[PlannedCall],
    errors: Counter[str],
    seconds_in: Counter[str] | None = None,
    deadline: float = float("inf"),
    calls_in: Counter[str] | None = None,
) -> int:
    """One pass over ``calls`` with fresh ids; returns the calls that completed by ``deadline``
    (``time.perf_counter``; the pass itself always runs to its end). ``seconds_in`` and
    ``calls_in`` add up, for those calls, the wall time and the count per ``service/Operation``
    (where a loop waits: the emulator or itself)."""
    from botocore import xform_name
    from botocore.exceptions import BotoCoreError, ClientError

    mapping: dict[str, str] = {}
    received: list[dict[str, Any]] = []
    made = 0
    for call in calls:
        if call.operation == _DELETE_BATCH:
            if not received:
                continue  # another loop took this batch's messages: it deletes them
            chunk, received = received[:10], received[10:]
            params = {
                "QueueUrl": call.params["QueueUrl"],
                "Entries": [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            }
        elif call.operation == _RECEIVE:
            params = call.params
        else:
            params = fresh_ids(call.params, mapping)
        method = getattr(clients[call.service], xform_name(call.operation))
        name = f"{call.service}/{call.operation}"
        started = time.perf_counter()
        try:
            response = method(**params)
        except ClientError as error:
            errors[f"{name}: {error.response.get('Error', {}).get('Code')}"] += 1
            continue
        except BotoCoreError as error:
            errors[f"{name}: {type(error).__name__}"] += 1
            continue
        finally:
            ended = time.perf_counter()
            if ended <= deadline:
                made += 1
                if seconds_in is not None:
                    seconds_in[name] += ended - started
                if calls_in is not None:
                    calls_in[name] += 1
        if call.operation == _RECEIVE:
            received.extend(response.get("Messages", []))
    return made


def batches_of(calls: list[PlannedCall]) -> list[list[PlannedCall]]:
    """The plan cut after each DeleteMessageBatch: one queue batch each (its submits, receive,
    decisions, events and delete), so a loop's pass is short and ids stay within their batch."""
    batches: list[list[PlannedCall]] = [[]]
    for call in calls:
        batches[-1].append(call)
        if call.operation == _DELETE_BATCH:
            batches.append([])
    return [batch for batch in batches if batch]


def _timed_loop(
    clients: Mapping[str, Any], calls: list[PlannedCall], decisions: int, start_at: float, seconds: float
) -> LoopResult:
    """One loop (one thread): warm up its connections, wait for the common start, run.

    The rate counts what completed inside the window [start, start + seconds], every loop busy
    from its start to its end (each finishes the batch it is in after the deadline, so nobody's
    load drops early). A batch counts its share of ``decisions`` call by call: a batch cut by the
    deadline counts the calls done, not a whole batch nor none (a pass is long when the
    emulators are slow)."""
    batches = batches_of(calls)
    per_call = decisions / len(calls)
    warm_up: Counter[str] = Counter()
    for batch in batches:
        _iteration(clients, batch, warm_up)
    time.sleep(max(0.0, start_at - time.time()))
    errors: Counter[str] = Counter()
    seconds_in: Counter[str] = Counter()
    calls_in: Counter[str] = Counter()
    made = 0
    cpu_started, started = time.thread_time(), time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for batch in batches:
            made += _iteration(clients, batch, errors, seconds_in, deadline, calls_in)
            if time.perf_counter() >= deadline:
                break
    cpu = time.thread_time() - cpu_started
    return LoopResult(made * per_call, made, errors, seconds, cpu, seconds_in, calls_in)


def replay_loop(
    plan: CallPlan,
    endpoints: Mapping[str, str],
    names: Mapping[str, str],
    region: str,
    start_at: float,
    seconds: float,
    threads: int = 1,
) -> list[LoopResult]:
    """One process's ``threads`` loops, each with its own clients (its own connections, as each
    queue worker has), all starting at ``start_at``."""
    loops = []
    for _ in range(threads):
        clients = _clients(endpoints, region)
        queue_urls = {}
        for name in {_queue_name(c.params["QueueUrl"]) for c in plan.calls if "QueueUrl" in c.params}:
            target = names.get(name, name)
            queue_urls[target] = clients["sqs"].get_queue_url(QueueName=target)["QueueUrl"]
        loops.append((clients, _prepared(plan, names, queue_urls)))
    if threads == 1:
        return [_timed_loop(*loops[0], plan.decisions, start_at, seconds)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [
            pool.submit(_timed_loop, clients, calls, plan.decisions, start_at, seconds)
            for clients, calls in loops
        ]
        return [future.result() for future in futures]


def run_ceiling(
    plan: CallPlan,
    endpoints: Mapping[str, str],
    names: Mapping[str, str],
    point: SweepPoint,
    seconds: float,
    region: str = "us-east-1",
    sample: Callable[[], dict[str, float]] | None = None,
) -> CeilingResult:
    """``point.processes`` processes of ``point.threads`` loops replaying ``plan`` for ``seconds``
    from a common start.

    ``endpoints``: service -> URL (dynamodb, sqs, events); ``names``: recorded resource name ->
    the target stack's (``name_mapping``); ``sample``: called at the start and at the end of the
    timed window (e.g. the emulators' CPU seconds), so the loops' warm-up is left out of it."""
    context = multiprocessing.get_context("spawn")
    samples: list[dict[str, float]] = []
    with ProcessPoolExecutor(max_workers=point.processes, mp_context=context) as pool:
        # Spawned interpreters take ~1 s to import botocore and warm up: start together after that.
        start_at = time.time() + 3.0 + 0.5 * point.processes + 0.2 * point.loops
        futures = [
            pool.submit(
                replay_loop, plan, dict(endpoints), dict(names), region, start_at, seconds, point.threads
            )
            for _ in range(point.processes)
        ]
        if sample is not None:
            time.sleep(max(0.0, start_at - time.time()))
            samples.append(sample())
            time.sleep(max(0.0, start_at + seconds - time.time()))
            samples.append(sample())
        loops = tuple(loop for future in futures for loop in future.result())
    load = os.getloadavg()[0]
    elapsed = seconds  # every loop's window (see _timed_loop)
    window = {name: samples[1][name] - samples[0].get(name, 0.0) for name in samples[1]} if samples else {}
    return CeilingResult(plan, point, elapsed, loops, window, load)


def sweep_ceiling(
    plan: CallPlan,
    endpoints: Mapping[str, str],
    names: Mapping[str, str],
    points: list[SweepPoint],
    seconds: float,
    region: str = "us-east-1",
    sample: Callable[[], dict[str, float]] | None = None,
    after_each: Callable[[CeilingResult], None] | None = None,
) -> list[CeilingResult]:
    """``run_ceiling`` at each point in turn (``after_each``: report it, drain the queue...)."""
    results = []
    for point in points:
        result = run_ceiling(plan, endpoints, names, point, seconds, region, sample)
        if after_each is not None:
            after_each(result)
        results.append(result)
    return results


def drain(sqs: Any, queue_url: str) -> int:
    """Delete what the loops left on the queue (a receive that lost the race); returns how many."""
    removed = 0
    for batch in _batches(sqs, queue_url):
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=entries)
        removed += len(batch)
    return removed


def _batches(sqs: Any, queue_url: str) -> Iterator[list[dict[str, Any]]]:
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
        "Messages", []
    ):
        yield batch


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.emulator_ceiling record BATCHES OUT``: the plan, pickled to OUT."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 3 or arguments[0] != "record":
        print("usage: python -m bench.emulator_ceiling record BATCHES OUT", file=sys.stderr)
        return 2
    # Through the module's own name, not __main__: the pickle must name bench.emulator_ceiling's classes.
    from bench import emulator_ceiling

    plan = emulator_ceiling.record_call_plan(int(arguments[1]))
    Path(arguments[2]).write_bytes(pickle.dumps(plan))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
