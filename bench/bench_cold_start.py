"""Cold start of the whole API handler: a fresh process does ``import app`` and serves ONE request.

What one Lambda cold start of ``api_handler`` does, in a fresh Python process per run: import the
handler module with the ``dev`` stage's environment (``.chalice/config.json``), then handle one
API Gateway REST proxy event for ``POST /v1/decisions`` (a cache miss: the cache GetItem, the
decision, the cache and decision PutItems) through ``app.app(event, context)``. Storage is a moto
server on a free port (``python -m devstack.moto_server``), so each AWS call is a real HTTP round
trip, like DynamoDB from Lambda.

Columns: ``import`` and ``1st request`` timed inside the child; ``start->response`` from just before
the parent starts the child to the child's response (interpreter start + import + request: what a
cold start's caller waits for); ``process wall`` adds interpreter exit (~0.1 s of teardown once
botocore is loaded), which a Lambda environment never pays; peak RSS.

Baselines, measured in the same run with the same process shape and event:

- ``bare chalice``: a one-route Chalice app answering ``{"ok": true}`` (the framework floor);
- ``original approach``: the same handler, but the process also imports scikit-learn and
  ``joblib.load``s the equivalent pipeline (``training.scorecard_fit.build_pipeline``, as
  ``bench/bench_engine.py`` builds it) before the first request, whose ``predict_proba`` it then
  calls once, as the original service did at module load and per request.

- ``floor``: bare Chalice + one botocore DynamoDB client + one GetItem on the decision-cache table:
  what any DynamoDB-backed handler pays. The client is made as ``chalicelib/dal/clients.py`` makes
  it (a botocore session, the same ``Config``, checked below), at import time (Lambda's init phase).
  And ``floor, GC off during import``: the same with the cyclic GC off during the import and the
  import's objects frozen after it, as ``app.py`` does, so that the GC saving can be set aside;
  and ``floor, tracing on``: the X-Ray SDK imported and botocore patched as Powertools' Tracer does,
  in the tracing-on environment below (the floor for the handler with tracing on).

Plus ``GET /health/live`` on this handler (a route that makes no AWS call, so pays no botocore),
and the handler with **tracing on**, as dev and prod deploy it: the X-Ray SDK imported and
botocore patched by Powertools' Tracer, which believes it runs in Lambda (``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_NAME``, a sampled ``_X_AMZN_TRACE_ID``); with no X-Ray daemon listening the
SDK's UDP segments go nowhere, and ``AWS_XRAY_CONTEXT_MISSING=IGNORE_ERROR`` keeps a missing
segment from raising. The other cases run with ``POWERTOOLS_TRACE_DISABLED=true``.

Not Lambda-exact: the Lambda runtime's own bootstrap is not included. Runs are interleaved across
cases; one unmeasured warm-up run per case first (file cache, ``.pyc``). Peak RSS comes from
``/proc/self/status`` (VmHWM): ``getrusage``'s ``ru_maxrss`` survives fork+exec and would report
the parent's peak.

Run: ``python -m bench.bench_cold_start [--runs N]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.bench_engine import PEAK_RSS
from bench.bench_handler import proxy_event, sample_application
from chalicelib import resources
from devstack.stage_env import child_environment, stage_variables
from infra import names

PROJECT_DIR = Path(__file__).resolve().parent.parent
STAGE = "dev"
API_FUNCTION = resources.API_FUNCTION.chalice_name
FUNCTION_NAME = names.function_name(STAGE, resources.API_FUNCTION)
# The floor's client, as chalicelib/dal/clients.py configures it (main() checks they still agree).
FLOOR_CLIENT_CONFIG: dict[str, Any] = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"max_attempts": 2, "mode": "standard"},
    "max_pool_connections": 50,
}
FLOOR_TABLE = resources.DECISION_CACHE_TABLE
# A sampled trace header as Lambda sets it for a traced invocation.
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
RESULT_MARKER = "COLD_START_RESULT "  # the child's last line; Powertools logs/EMF go to stdout too
SERVER_START_TIMEOUT_SECONDS = 20.0

# The child: argv = [mode, event JSON, pipeline path or "", floor JSON]. Modes: "app", "sklearn",
# "bare", "floor", "floor-gc", "floor-traced".
CHILD = (
    PEAK_RSS
    + """
import json, os, sys, time, uuid

class LambdaContext:
    # The attributes of Lambda's context object that Chalice and Powertools read.
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    memory_limit_in_mb = 512
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "bench"
    identity = None
    client_context = None

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 10

    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

mode, event, pipeline_path, floor = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
started = time.perf_counter()
if mode == "bare":
    from chalice import Chalice

    handler = Chalice(app_name="bare")

    @handler.route("/v1/decisions", methods=["POST"])
    def decide():
        return {"ok": True}
elif mode in ("floor", "floor-gc", "floor-traced"):
    import gc

    if mode == "floor-gc":
        gc.disable()  # as app.py does during its import
    if mode == "floor-traced":
        from aws_xray_sdk.core import patch

        patch(["botocore"])  # what Powertools' Tracer does to botocore when tracing is on
    from chalice import Chalice
    import botocore.session
    from botocore.config import Config

    handler = Chalice(app_name="floor")
    dynamodb = botocore.session.Session().create_client(
        "dynamodb", region_name=os.environ["AWS_DEFAULT_REGION"], config=Config(**floor["config"])
    )

    @handler.route("/v1/decisions", methods=["POST"])
    def decide():
        key = {floor["key"]: {"S": "floor-" + str(uuid.uuid4())}}
        item = dynamodb.get_item(TableName=os.environ[floor["table_env"]], Key=key).get("Item")
        return {"ok": True, "cache": "miss" if item is None else "hit"}

    if mode == "floor-gc":
        gc.freeze()
        gc.enable()
else:
    from app import app as handler
    if mode == "sklearn":
        import joblib

        pipeline = joblib.load(pipeline_path)
imported = time.perf_counter()
if mode == "sklearn":
    pipeline.predict_proba([json.loads(event["body"])])
response = handler(event, LambdaContext())
answered, answered_epoch = time.perf_counter(), time.time()
assert response["statusCode"] == 200, response
result = {
    "import_s": imported - started,
    "request_s": answered - imported,
    "answered_epoch_s": answered_epoch,
    "cache": json.loads(response["body"]).get("cache"),
    "rss_kb": peak_rss_kb(),
    # Whether the X-Ray SDK was loaded and botocore patched (the tracing-on case must show both).
    "traced": "aws_xray_sdk.ext.botocore.patch" in sys.modules,
}
print("COLD_START_RESULT " + json.dumps(result), flush=True)
"""
)

DECISIONS = "/v1/decisions"
# (name, child mode, method, path, tracing on); each a cold start. GET /health/live: no AWS calls.
CASES = (
    ("bare chalice, 1 route", "bare", "POST", DECISIONS, False),
    ("this handler: POST /v1/decisions", "app", "POST", DECISIONS, False),
    ("original approach (+ sklearn joblib.load)", "sklearn", "POST", DECISIONS, False),
    ("this handler: GET /health/live", "app", "GET", "/health/live", False),
    ("floor: chalice + botocore client + GetItem", "floor", "POST", DECISIONS, False),
    ("this handler, tracing on: POST /v1/decisions", "app", "POST", DECISIONS, True),
    ("floor, GC off during import (as app.py)", "floor-gc", "POST", DECISIONS, False),
    ("floor, tracing on (X-Ray SDK, botocore patched)", "floor-traced", "POST", DECISIONS, True),
)
BARE, OURS, ORIGINAL, _, FLOOR, TRACED, FLOOR_GC, FLOOR_TRACED = (name for name, *_ in CASES)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (``devstack.moto_server``) on a free port; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.05)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def create_resources(endpoint: str) -> None:
    import boto3

    from devstack.bootstrap import create_tables_and_queues

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    create_tables_and_queues(
        STAGE,
        session.client("dynamodb", endpoint_url=endpoint),
        session.client("sqs", endpoint_url=endpoint),
    )


def save_baseline_pipeline(directory: str) -> str:
    """The sklearn pipeline equivalent to the engine's scorecard, saved with joblib (never in the repo)."""
    import joblib

    from chalicelib.engine.artifact import load_model
    from training.scorecard_fit import build_pipeline, scorecard_from_artifact

    path = str(Path(directory) / "pipeline.joblib")
    joblib.dump(build_pipeline(scorecard_from_artifact(load_model().document)), path)
    return path


def floor_spec() -> dict[str, Any]:
    """The floor's client config and table; fails if chalicelib/dal/clients.py configures differently."""
    from chalicelib.dal.clients import client_config

    used = client_config()
    for name, value in FLOOR_CLIENT_CONFIG.items():
        assert getattr(used, name) == value, f"clients.py {name}={getattr(used, name)!r}, floor {value!r}"
    return {"config": FLOOR_CLIENT_CONFIG, "table_env": FLOOR_TABLE.env_var, "key": FLOOR_TABLE.partition_key}


def traced_environment(env: dict[str, str]) -> dict[str, str]:
    """``env`` with tracing on as in a deployed function (no X-Ray daemon needed)."""
    traced = {name: value for name, value in env.items() if name != "POWERTOOLS_TRACE_DISABLED"}
    traced.update(
        {
            "LAMBDA_TASK_ROOT": str(PROJECT_DIR),
            "_X_AMZN_TRACE_ID": TRACE_HEADER,
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        }
    )
    return traced


def lambda_environment(endpoint: str) -> dict[str, str]:
    """The dev stage's variables as Lambda sets them, pointed at the moto server, fake keys."""
    names = stage_variables(STAGE, API_FUNCTION)
    assert names["STAGE"] == STAGE
    base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return child_environment(
        endpoint,
        STAGE,
        API_FUNCTION,
        extra={
            "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(resources.API_FUNCTION.memory_mb),
            "POWERTOOLS_TRACE_DISABLED": "true",
            # What the template resolves from Secrets Manager in dev/prod (required outside local).
            "PII_HASH_KEY": "bench-cold-start-pii-hash-key-" + "0" * 34,
        },
        base=base,
    )


def run_once(
    mode: str, event: dict[str, Any], pipeline_path: str, env: dict[str, str], floor: dict[str, Any]
) -> dict[str, Any]:
    started, started_epoch = time.perf_counter(), time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, json.dumps(event), pipeline_path, json.dumps(floor)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{out.stderr[-3000:]}")
    line = next(line for line in reversed(out.stdout.splitlines()) if line.startswith(RESULT_MARKER))
    report = json.loads(line[len(RESULT_MARKER) :])
    return {
        "import_ms": report["import_s"] * 1000,
        "request_ms": report["request_s"] * 1000,
        # What a cold start's caller waits for: interpreter start + import + first request.
        "response_ms": (report["answered_epoch_s"] - started_epoch) * 1000,
        "wall_ms": wall * 1000,
        "cache": report["cache"],
        "rss_mb": report["rss_kb"] / 1024,
        "traced": report["traced"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured cold starts per case")
    args = parser.parse_args(argv)
    application = sample_application()
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in CASES}
    with tempfile.TemporaryDirectory() as temp, moto_server() as endpoint:
        pipeline_path = save_baseline_pipeline(temp)
        create_resources(endpoint)
        env = lambda_environment(endpoint)
        envs = {False: env, True: traced_environment(env)}
        floor = floor_spec()
        unique = itertools.count()
        for run in range(-1, args.runs):  # run -1: warm-up, not counted
            for name, mode, method, path, traced in CASES:
                # A scoring input no earlier process used: every first decision is a cache miss.
                payload = {**application, "savings_balance": 2_000_000 + next(unique)}
                event = proxy_event(method, path, payload if method == "POST" else None)
                measured = run_once(mode, event, pipeline_path, envs[traced], floor)
                assert measured["traced"] is traced, (name, measured)
                if mode != "bare" and path == DECISIONS:
                    assert measured["cache"] == "miss", measured
                if run >= 0:
                    samples[name].append(measured)
    print(
        f"Cold start: fresh process, import + ONE request (decisions: cache miss) against a moto server, "
        f"stage {STAGE}, median (min) of {args.runs} runs; tracing off unless the case says on"
    )
    print(
        "start->response = interpreter start + import + 1st request (what the caller waits for); "
        "process wall adds interpreter exit, which Lambda never pays"
    )
    columns = (
        ("import_ms", "import ms"),
        ("request_ms", "1st request ms"),
        ("response_ms", "start->response ms"),
        ("wall_ms", "process wall ms"),
        ("rss_mb", "peak RSS MB"),
    )
    print(f"{'case':<46}" + "".join(f"{title:>20}" for _, title in columns))
    for name, *_ in CASES:
        cells = []
        for key, _ in columns:
            values = [sample[key] for sample in samples[name]]
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f})")
        print(f"{name:<46}" + "".join(f"{cell:>20}" for cell in cells))
    bare, ours, original = samples[BARE], samples[OURS], samples[ORIGINAL]
    ratios = (("response_ms", "start->response"), ("wall_ms", "process wall"), ("import_ms", "import"))
    for key, title in ratios:
        ratio = statistics.median(s[key] for s in original) / statistics.median(s[key] for s in ours)
        print(f"original approach / this handler (POST /v1/decisions), {title}: {ratio:.1f}x")
    first = statistics.median(s["import_ms"] + s["request_ms"] for s in ours)
    floor = statistics.median(s["import_ms"] + s["request_ms"] for s in bare)
    print(f"this handler, import + 1st decision: {first:.1f} ms ({first - floor:+.1f} ms over bare chalice)")
    # Against the real floor of a DynamoDB-backed handler (issue 13's aim: within 1.3x).
    # app.py turns the cyclic GC off during its import; the floor as issue 13 defines it does not,
    # so the ratio is also printed against a floor given the same treatment (what the rest of the
    # handler costs, the GC saving set aside).
    comparisons = (
        (FLOOR, "floor", (OURS, TRACED)),
        (FLOOR_GC, "floor with GC off", (OURS, TRACED)),
        (FLOOR_TRACED, "floor with tracing on", (TRACED,)),
    )
    for floor_name, floor_title, handlers in comparisons:
        floor_response = statistics.median(s["response_ms"] for s in samples[floor_name])
        for name in handlers:
            response = statistics.median(s["response_ms"] for s in samples[name])
            print(
                f"{name} / {floor_title}, start->response: {response / floor_response:.2f}x "
                f"({response:.1f} vs {floor_response:.1f} ms)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
