"""Cold start of the API handler against its floor: a fresh process imports it and serves ONE request.

Each run is a fresh Python process with the ``dev`` stage's environment: it imports ``app`` and
handles one ``POST /v1/decisions`` (a cache miss) against a moto server on a free port, so each AWS
call is a real round trip. The floor, in the same run: a one-route Chalice app with one botocore
DynamoDB client configured as ``chalicelib/dal/clients.py`` does, answering with one GetItem. Both
also with tracing on (Powertools' Tracer believing it runs in Lambda), and the handler with a promoted
champion. Runs are interleaved across cases after one unmeasured warm-up each; the Lambda runtime's
own bootstrap is not included. docs/BENCHMARKS.md explains the columns and the figures.

Run: ``python -m bench.bench_cold_start [--runs N]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.common import PEAK_RSS, PROJECT_DIR, proxy_event
from chalicelib import resources
from devstack.processes import free_port, start_moto_server
from devstack.samples import sample_application
from devstack.stage_env import child_environment, stage_variables
from infra import names

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

# The child: argv = [mode, event JSON, floor JSON]. Modes: "app", "floor", "floor-traced".
CHILD = (
    PEAK_RSS
    + """
import json, os, sys, time, uuid

class LambdaContext:
    # The attributes of Lambda's context object that Chalice and Powertools read.
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    region = os.environ["AWS_DEFAULT_REGION"]
    invoked_function_arn = f"arn:aws:lambda:{region}:123456789012:function:{function_name}"
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

mode, event, floor = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
started = time.perf_counter()
if mode in ("floor", "floor-traced"):
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
else:
    from app import app as handler
imported = time.perf_counter()
response = handler(event, LambdaContext())
answered, answered_epoch = time.perf_counter(), time.time()
assert response["statusCode"] == 200, response
result = {
    "import_s": imported - started,
    "request_s": answered - imported,
    "answered_epoch_s": answered_epoch,
    "cache": json.loads(response["body"]).get("cache"),
    "version": json.loads(response["body"]).get("decision_version"),
    "rss_kb": peak_rss_kb(),
    # Whether the X-Ray SDK was loaded and botocore patched (the tracing-on case must show both).
    "traced": "aws_xray_sdk.ext.botocore.patch" in sys.modules,
}
print("COLD_START_RESULT " + json.dumps(result), flush=True)
"""
)

DECISIONS = "/v1/decisions"
# (name, child mode, tracing on); each a cold start serving POST /v1/decisions.
# The registry case: a promoted policy-only champion (FOIR limit 0.55) in a registry of its own (a
# copy of the versions table), its policy inline in the version's item as registering stores it.
REGISTRY = "champion"
CASES: tuple[tuple[str, str, bool, str | None], ...] = (
    ("floor: chalice + botocore client + GetItem", "floor", False, None),
    ("this handler: POST /v1/decisions", "app", False, None),
    ("floor, tracing on (X-Ray SDK, botocore patched)", "floor-traced", True, None),
    ("this handler, tracing on", "app", True, None),
    ("this handler, policy-only champion", "app", False, REGISTRY),
    ("this handler, policy-only champion, tracing on", "app", True, REGISTRY),
)
FLOOR, OURS, FLOOR_TRACED, TRACED, CHAMPION, CHAMPION_TRACED = (name for name, *_ in CASES)
# Each handler against the floor with the same tracing.
VERSUS = ((OURS, FLOOR), (TRACED, FLOOR_TRACED), (CHAMPION, FLOOR), (CHAMPION_TRACED, FLOOR_TRACED))


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server (``devstack.moto_server``) on a free port with the stage's resources."""
    import boto3

    from devstack.bootstrap import create_tables_and_queues

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = start_moto_server("127.0.0.1", port, child_environment(endpoint), None)
    try:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=resources.LOCAL_REGION
        )
        dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        s3 = session.client("s3", endpoint_url=endpoint)
        create_tables_and_queues(STAGE, dynamodb, session.client("sqs", endpoint_url=endpoint), s3_client=s3)
        # The decision-events bus without the local stack's rule to an SQS queue: in AWS a rule's
        # targets are served after PutEvents answers, moto would serve them inside it.
        bus = resources.resource_name(STAGE, resources.DECISION_EVENTS_BUS.suffix)
        session.client("events", endpoint_url=endpoint).create_event_bus(Name=bus)
        seed_registry(dynamodb, s3, REGISTRY)
        yield endpoint
    finally:
        server.stop()


def registry_table(registry: str) -> str:
    return f"{resources.resource_name(STAGE, resources.VERSIONS_TABLE.suffix)}-bench-{registry}"


def seed_registry(dynamodb: Any, s3: Any, registry: str) -> None:
    """A copy of the versions table holding a registered policy-only version promoted to champion
    (its policy inline in the item), and its policy blob in the bucket, as registering stores them."""
    import copy

    from chalicelib.dal.versions import Routing, VersionRecord, empty_routing
    from chalicelib.dal.versions_aws import AWSVersionStore, blob_key
    from chalicelib.engine import load_policy
    from chalicelib.engine.artifact import canonical_json
    from chalicelib.engine.lending_policy import POLICY_V1_PATH
    from chalicelib.service.decision_versions import PACKAGED

    shape = dynamodb.describe_table(TableName=resources.resource_name(STAGE, resources.VERSIONS_TABLE.suffix))
    shape = shape["Table"]
    table = registry_table(registry)
    dynamodb.create_table(
        TableName=table,
        KeySchema=shape["KeySchema"],
        AttributeDefinitions=shape["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )
    policy = json.loads(POLICY_V1_PATH.read_text(encoding="utf-8"))
    policy["version"], policy["rules"]["POL-FOIR-MAX"]["limit"] = "1.1-foir-55", 0.55
    loaded = load_policy(policy)
    bucket = resources.resource_name(STAGE, resources.VERSIONS_BUCKET.suffix)
    s3.put_object(Bucket=bucket, Key=blob_key(loaded.sha256), Body=canonical_json(policy))
    store = AWSVersionStore(dynamodb, table, bucket, resources.LOCAL_REGION)
    model = PACKAGED.model
    record: VersionRecord = {
        "version_id": store.next_version_id(),
        "label": "FOIR 55%",
        "notes": "",
        "model_sha256": model.sha256,
        "policy_sha256": loaded.sha256,
        "model_id": model.model_id,
        "model_version": model.version,
        "policy_id": loaded.policy_id,
        "policy_version": loaded.version,
        "registered_by": "bench",
        "registered_at": "2026-12-01T00:00:00.000Z",
        "report": None,
        "policy_document": copy.deepcopy(policy),
    }
    assert store.put_version(record)
    routing: Routing = {**empty_routing(), "revision": 1, "champion": record["version_id"]}
    assert store.put_routing(routing, 0)


def floor_spec() -> dict[str, Any]:
    """The floor's client config and table; fails if chalicelib/dal/clients.py configures differently."""
    from chalicelib.dal.clients import client_config

    used = client_config()
    for name, value in FLOOR_CLIENT_CONFIG.items():
        assert getattr(used, name) == value, f"clients.py {name}={getattr(used, name)!r}, floor {value!r}"
    return {"config": FLOOR_CLIENT_CONFIG, "table_env": FLOOR_TABLE.env_var, "key": FLOOR_TABLE.partition_key}


def lambda_environment(endpoint: str, traced: bool) -> dict[str, str]:
    """The dev stage's variables as Lambda sets them, pointed at the moto server, fake keys."""
    assert stage_variables(STAGE, API_FUNCTION)["STAGE"] == STAGE
    base = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    extra = {
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(resources.API_FUNCTION.memory_mb),
        # What the template resolves from Secrets Manager in dev/prod (required outside local).
        "PII_HASH_KEY": "bench-cold-start-pii-hash-key-" + "0" * 34,
    }
    if traced:
        extra.update(
            {
                "LAMBDA_TASK_ROOT": str(PROJECT_DIR),
                "_X_AMZN_TRACE_ID": TRACE_HEADER,
                "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            }
        )
    else:
        extra["POWERTOOLS_TRACE_DISABLED"] = "true"
    return child_environment(endpoint, STAGE, API_FUNCTION, extra=extra, base=base)


def run_once(mode: str, event: dict[str, Any], env: dict[str, str], floor: dict[str, Any]) -> dict[str, Any]:
    started_epoch = time.time()
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, json.dumps(event), json.dumps(floor)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{mode} child failed:\n{out.stderr[-3000:]}")
    if '"EventsFailed"' in out.stdout:  # the EMF line names it only when PutEvents failed
        raise RuntimeError(f"{mode} child did not publish its decision event:\n{out.stdout[-3000:]}")
    line = next(line for line in reversed(out.stdout.splitlines()) if line.startswith(RESULT_MARKER))
    report = json.loads(line[len(RESULT_MARKER) :])
    return {
        "import_ms": report["import_s"] * 1000,
        "request_ms": report["request_s"] * 1000,
        "response_ms": (report["answered_epoch_s"] - started_epoch) * 1000,
        "cache": report["cache"],
        "version": report["version"],
        "rss_mb": report["rss_kb"] / 1024,
        "traced": report["traced"],
    }


def measure(runs: int) -> dict[str, list[dict[str, Any]]]:
    application = sample_application()
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in CASES}
    with moto_server() as endpoint:
        envs = {traced: lambda_environment(endpoint, traced) for traced in (False, True)}
        floor = floor_spec()
        unique = itertools.count()
        for run in range(-1, runs):  # run -1: warm-up, not counted
            for name, mode, traced, registry in CASES:
                env = envs[traced]
                if registry is not None:
                    env = {**env, resources.VERSIONS_TABLE.env_var: registry_table(registry)}
                # A scoring input no earlier process used: every first decision is a cache miss.
                payload = {**application, "savings_balance": 2_000_000 + next(unique)}
                measured = run_once(mode, proxy_event("POST", DECISIONS, payload), env, floor)
                assert measured["traced"] is traced, (name, measured)
                assert measured["cache"] == "miss", measured
                # The registry case's champion decided (v2), the others the packaged version (v1).
                expected_version = None if mode != "app" else "v1" if registry is None else "v2"
                assert measured["version"] == expected_version, (name, measured)
                if run >= 0:
                    samples[name].append(measured)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="measured cold starts per case")
    args = parser.parse_args(argv)
    samples = measure(args.runs)
    print(
        f"Cold start: fresh process, import + ONE POST /v1/decisions (cache miss) against a moto server, "
        f"stage {STAGE}, median (min) of {args.runs} runs"
    )
    columns = (
        ("import_ms", "import ms"),
        ("request_ms", "1st request ms"),
        ("response_ms", "start->response ms"),
        ("rss_mb", "peak RSS MB"),
    )
    print(f"{'case':<50}" + "".join(f"{title:>20}" for _, title in columns))
    for name, *_ in CASES:
        cells = []
        for key, _ in columns:
            values = [sample[key] for sample in samples[name]]
            cells.append(f"{statistics.median(values):.1f} ({min(values):.1f})")
        print(f"{name:<50}" + "".join(f"{cell:>20}" for cell in cells))
    for handler, floor in VERSUS:
        ours = statistics.median(s["response_ms"] for s in samples[handler])
        base = statistics.median(s["response_ms"] for s in samples[floor])
        # Each run measures the floor and the handler a second apart: the ratio within a run cancels
        # what a shared machine's load does to both, which moves the medians by 10-20% between runs.
        paired = statistics.median(
            ours_run["response_ms"] / floor_run["response_ms"]
            for ours_run, floor_run in zip(samples[handler], samples[floor], strict=True)
        )
        print(
            f"{handler} / its floor, start->response: {paired:.2f}x (median of the runs' ratios; "
            f"of the medians {ours / base:.2f}x, {ours:.1f} vs {base:.1f} ms)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
