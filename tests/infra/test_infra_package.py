"""`make package` output and its size guard (the serverless "disk < 10%"), `make deploy` commands."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from infra_process_support import FAKE_KEY, REGION, client, moto_server

from chalicelib import resources
from devstack.bootstrap import create_tables_and_queues
from devstack.samples import sample_application
from infra import deploy, names
from infra import package as packaging


def test_packaged_code_is_under_the_size_alert(build_dir: Path) -> None:
    for stage in resources.DEPLOYED_STAGES:
        zip_path = build_dir / stage / "deployment.zip"
        size = packaging.check_package_size(zip_path)
        assert 0 < size <= packaging.PACKAGE_SIZE_ALERT_RATIO * packaging.LAMBDA_UNZIPPED_LIMIT_BYTES
        with zipfile.ZipFile(zip_path) as archive:
            names = set(archive.namelist())
        assert {"app.py", "chalicelib/resources.py"} <= names


def test_package_ships_powertools_but_not_what_the_runtime_provides(build_dir: Path) -> None:
    for stage in resources.DEPLOYED_STAGES:
        with zipfile.ZipFile(build_dir / stage / "deployment.zip") as archive:
            tops = {name.split("/", 1)[0] for name in archive.namelist()}
        assert {"aws_lambda_powertools", "aws_xray_sdk", "chalicelib"} <= tops
        assert not [top for top in tops if packaging.is_runtime_provided(top)], tops


def test_size_guard_refuses_a_package_over_the_alert_ratio(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zip_path = tmp_path / "deployment.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.bin", b"\0" * 10_000)
    monkeypatch.setattr(packaging, "LAMBDA_UNZIPPED_LIMIT_BYTES", 10_000)
    with pytest.raises(SystemExit, match="over 90%"):
        packaging.check_package_size(zip_path)
    monkeypatch.setattr(packaging, "LAMBDA_UNZIPPED_LIMIT_BYTES", 20_000)
    assert packaging.check_package_size(zip_path) == 10_000


def test_merge_template_is_written_next_to_the_output(build_dir: Path) -> None:
    for stage in resources.DEPLOYED_STAGES:
        assert packaging.merge_template_path(stage, build_dir).exists()


def test_deploy_commands() -> None:
    upload, stack = deploy.deploy_commands("prod", "artifacts-bucket", "ops@example.com")
    assert upload[:3] == ["aws", "cloudformation", "package"]
    assert upload[upload.index("--s3-bucket") + 1] == "artifacts-bucket"
    assert stack[:3] == ["aws", "cloudformation", "deploy"]
    assert stack[stack.index("--stack-name") + 1] == f"{resources.SERVICE}-prod"
    assert {"CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"} <= set(stack)
    assert "AlarmEmail=ops@example.com" in stack
    assert upload[upload.index("--output-template-file") + 1] == stack[stack.index("--template-file") + 1]


# ------------------------------------------------------------------------------------------------
# What the deployment package contains
# ------------------------------------------------------------------------------------------------
# Local-only code never ships: the local stack, the tests, training, benchmarks, the deployment
# tooling, and the modules the local stage alone runs (the gateway emulation with its token bucket,
# the table/queue bootstrap), which live in devstack/ and must not reappear under chalicelib/.
FORBIDDEN_PREFIXES = ("devstack/", "tests/", "training/", "bench/", "infra/", "localstack/", "data/", "docs/")
FORBIDDEN_FILES = (
    "chalicelib/edge/gateway.py",
    "chalicelib/edge/token_bucket.py",
    "chalicelib/dal/bootstrap.py",
)
LOCAL_ONLY_MODULE_NAMES = ("gateway.py", "token_bucket.py", "bootstrap.py")


def _members(build_dir: Path, stage: str) -> list[str]:
    with zipfile.ZipFile(build_dir / stage / "deployment.zip") as archive:
        return archive.namelist()


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_package_contains_no_local_only_code(build_dir: Path, stage: str) -> None:
    members = _members(build_dir, stage)
    first_party = [m for m in members if m == "app.py" or m.startswith("chalicelib/")]
    assert "chalicelib/resources.py" in first_party
    local_only = [
        member
        for member in members
        if member.startswith(FORBIDDEN_PREFIXES)
        or member in FORBIDDEN_FILES
        or (member in first_party and member.rsplit("/", 1)[-1] in LOCAL_ONLY_MODULE_NAMES)
    ]
    assert local_only == []


# 5.3 MB unzipped before bytecode caches, stubs, C sources and unused vendored code were stripped;
# 3.6 MB after (2.6 MB of dependencies: Powertools 1.4 MB, wrapt 0.8 MB, the X-Ray SDK 0.2 MB; about
# 1 MB of this service's own code, which grows with its features: batches and monitoring brought it
# from 0.4 MB). A new dependency or a packaging regression that brings the stripped files back fails here.
PACKAGE_BUDGET_BYTES = int(4.0 * 2**20)
# The static pages (/docs: Swagger UI 1.9 MB; /console: Chart.js 0.2 MB and its own files) have a
# budget of their own, so the code's budget above keeps catching code regressions. They ship in the
# Lambda package because the API serves /docs in every stage and 2.2 MB is under 1% of Lambda's
# 250 MB limit (cold start loads only the Python modules; a file is read on its first request).
# The console belongs in S3 behind CloudFront in AWS (issue 11), which is not in the template yet.
STATIC_PREFIX = "chalicelib/http/static/"
STATIC_BUDGET_BYTES = int(2.5 * 2**20)


def _sizes(zip_path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(zip_path) as archive:
        static = sum(info.file_size for info in archive.infolist() if info.filename.startswith(STATIC_PREFIX))
        # Bytecode is compiled from the code at packaging (packaging.compile_package): not code.
        bytecode = sum(info.file_size for info in archive.infolist() if info.filename.endswith(".pyc"))
    return packaging.unzipped_size(zip_path) - static - bytecode, static


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_package_stays_within_its_budget(build_dir: Path, stage: str) -> None:
    code, static = _sizes(build_dir / stage / "deployment.zip")
    assert code <= PACKAGE_BUDGET_BYTES
    assert 0 < static <= STATIC_BUDGET_BYTES


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_package_ships_the_static_pages(build_dir: Path, stage: str) -> None:
    members = set(_members(build_dir, stage))
    for name in (
        "swagger-ui/index.html",
        "swagger-ui/swagger-ui-bundle.js",
        "console/index.html",
        "console/console.js",
    ):
        assert STATIC_PREFIX + name in members


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_package_keeps_the_model_artifact(build_dir: Path, stage: str) -> None:
    assert "chalicelib/engine/model_artifact.json" in _members(build_dir, stage)


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_every_module_ships_its_unchecked_bytecode_for_the_runtime(build_dir: Path, stage: str) -> None:
    # /var/task is read-only: without shipped bytecode every cold start compiles every module.
    import importlib.util

    zip_path = build_dir / stage / "deployment.zip"
    with zipfile.ZipFile(zip_path) as archive:
        members = set(archive.namelist())
        modules = [m for m in members if m.endswith(".py")]
        assert modules
        for module in modules:
            pyc = importlib.util.cache_from_source(module)
            assert pyc in members, module
            data = archive.read(pyc)
            assert data[:4] == importlib.util.MAGIC_NUMBER  # this interpreter's = the runtime's version
            assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, unchecked
            assert data[8:16] == importlib.util.source_hash(archive.read(module))
        expected = {importlib.util.cache_from_source(module) for module in modules}
        assert {m for m in members if m.endswith(".pyc")} == expected  # no stale or foreign bytecode


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_package_has_no_stubs_or_unused_vendored_code(build_dir: Path, stage: str) -> None:
    members = _members(build_dir, stage)
    assert [m for m in members if m.endswith(".pyi")] == []
    assert [m for m in members if packaging.should_strip(m) and not m.endswith(".pyc")] == []
    # The rules above keep what the code uses.
    assert "aws_lambda_powertools/utilities/idempotency/__init__.py" in members
    assert "aws_lambda_powertools/utilities/batch/__init__.py" in members
    assert "aws_xray_sdk/ext/botocore/patch.py" in members


@pytest.mark.parametrize("stage", resources.DEPLOYED_STAGES)
def test_stripped_xray_integrations_are_for_libraries_not_in_the_package(build_dir: Path, stage: str) -> None:
    # The premise of XRAY_INTEGRATIONS_OF_ABSENT_LIBRARIES: the library itself is not there to patch.
    tops = {member.split("/", 1)[0].removesuffix(".py") for member in _members(build_dir, stage)}
    assert tops & set(packaging.XRAY_INTEGRATIONS_OF_ABSENT_LIBRARIES) == set()


def test_strip_rules() -> None:
    strip = packaging.should_strip
    assert strip("chalicelib/__pycache__/config.cpython-311.pyc")
    assert strip("wrapt/_wrappers.c") and not strip("wrapt/_wrappers.cpython-311-x86_64-linux-gnu.so")
    assert strip("wrapt-stubs/__init__.pyi") and strip("jmespath-1.1.0.data/scripts/jp.py")
    assert strip("aws_lambda_powertools/utilities/parameters/base.py")
    assert strip("aws_lambda_powertools/event_handler/openapi/swagger_ui/swagger-ui-bundle.min.js")
    assert strip("aws_xray_sdk/ext/django/db.py") and not strip("aws_xray_sdk/ext/botocore/patch.py")
    assert strip("botocore/session.py") and strip("boto3-1.40.0.dist-info/METADATA")
    for kept in ("app.py", "chalicelib/engine/model_artifact.json", "aws_lambda_powertools/py.typed"):
        assert not strip(kept), kept


# ------------------------------------------------------------------------------------------------
# The stripped package runs: import app and serve every route and the worker, from the zip alone
# ------------------------------------------------------------------------------------------------
# Runs with ``python -S``: no site-packages, so every import resolves in the unzipped package or in
# a folder holding only what the Lambda runtime provides (boto3, botocore and their dependencies).
PACKAGE_CHILD = r"""
import json, sys, time, uuid
package, runtime = sys.argv[1], sys.argv[2]
sys.path[:0] = [package, runtime]

class Context:
    # The attributes of Lambda's context object that Chalice and Powertools read.
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    log_stream_name = "package-test"
    identity = client_context = None

    def __init__(self, name):
        self.function_name = name
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)

def event(method, path, body=None, headers=None, resource=None, path_parameters=None):
    return {
        "resource": resource or path, "path": path, "httpMethod": method,
        "headers": {"content-type": "application/json", **(headers or {})}, "multiValueHeaders": {},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": path_parameters, "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path, "httpMethod": method, "path": "/api" + path, "stage": "api",
            "requestId": str(uuid.uuid4()),
            # API Gateway sets apiKeyId on every method that requires a key: the record owner.
            "identity": {"sourceIp": "203.0.113.9", "apiKeyId": "package-test-key-id"},
        },
        "body": None if body is None else json.dumps(body), "isBase64Encoded": False,
    }

api_name, worker_name, queue_name, worker_function, reconciler_name, reconciler_function = sys.argv[3:9]
application = json.loads(sys.argv[9])
import app
statuses = {}

def call(label, *args, **kwargs):
    response = app.app(event(*args, **kwargs), Context(api_name))
    statuses[label] = response["statusCode"]
    return response

GET_ROUTES = ("/health", "/health/live", "/health/ready", "/health/detailed", "/metrics", "/openapi.json",
              "/docs")
for path in GET_ROUTES:
    call("GET " + path, "GET", path)
from chalicelib import engine
quick = {name: application[name] for name in engine.quick_eligibility_json_schema()["properties"]}
call("POST /v1/eligibility", "POST", "/v1/eligibility", quick)
first = json.loads(call("POST /v1/decisions", "POST", "/v1/decisions", application)["body"])
again = json.loads(call("POST /v1/decisions again", "POST", "/v1/decisions", application)["body"])
call("POST /v1/decisions invalid", "POST", "/v1/decisions", {"age": "forty"})
key = {"Idempotency-Key": str(uuid.uuid4())}
queued = call("POST /v1/applications", "POST", "/v1/applications", application, headers=key)
replayed = call("POST /v1/applications replayed", "POST", "/v1/applications", application, headers=key)
application_id = json.loads(queued["body"])["application_id"]

import botocore.session
sqs = botocore.session.Session().create_client("sqs")
url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
records = [{
    "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
    "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
    "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + queue_name,
    "awsRegion": "us-east-1",
} for m in messages]
worker_result = getattr(app, worker_function)({"Records": records}, Context(worker_name))
# The reconciler from the same zip, with the event an EventBridge schedule sends.
scheduled = {
    "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
    "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/reconcile"], "detail": {},
}
reconciled = getattr(app, reconciler_function)(scheduled, Context(reconciler_name))
decided = json.loads(call(
    "GET /v1/applications/{id}", "GET", "/v1/applications/" + application_id,
    resource="/v1/applications/{application_id}", path_parameters={"application_id": application_id},
)["body"])
print("PACKAGE_RESULT " + json.dumps({
    "statuses": statuses,
    "cache": [first.get("cache"), again.get("cache")],
    "replayed": replayed.get("headers", {}).get("Idempotent-Replayed"),
    "queued_messages": len(records),
    "worker": worker_result,
    "reconciled": reconciled,
    "application_status": decided.get("status"),
    "application_id": application_id,
    "decision_id": first.get("decision_id"),
    "xray_loaded": "aws_xray_sdk.core" in sys.modules,
    "botocore_patched": "aws_xray_sdk.ext.botocore.patch" in sys.modules,
    "outside": sorted({m.__file__ for m in list(sys.modules.values())
                       if getattr(m, "__file__", None) and "site-packages" in m.__file__}),
}))
"""


def _runtime_folder(folder: Path) -> Path:
    """A folder with only what the Lambda Python runtime provides (symlinks into this venv)."""
    folder.mkdir()
    for name in packaging.RUNTIME_PROVIDED_MODULES:
        spec = importlib.util.find_spec(name.removesuffix(".py"))
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


def test_stripped_package_serves_every_route_the_worker_and_the_reconciler_with_tracing(
    build_dir: Path, tmp_path: Path
) -> None:
    stage = "dev"
    package_dir = tmp_path / "task"
    with zipfile.ZipFile(build_dir / stage / "deployment.zip") as archive:
        archive.extractall(package_dir)
    runtime = _runtime_folder(tmp_path / "runtime")
    api_name = names.function_name(stage, resources.API_FUNCTION)
    with moto_server() as endpoint:
        created = create_tables_and_queues(
            stage, client("dynamodb", endpoint), client("sqs", endpoint), client("events", endpoint)
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "LANG": "C.UTF-8",
            **names.chalice_config()["stages"][stage]["environment_variables"],
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "PII_HASH_KEY": "package-test-key-" + "x" * 48,
            # Tracing as dev and prod deploy it: the Tracer and the X-Ray SDK believe they are in
            # Lambda (task root, function name, a sampled trace header); no daemon listens, and
            # the SDK sends its UDP segments nowhere.
            "AWS_LAMBDA_FUNCTION_NAME": api_name,
            "LAMBDA_TASK_ROOT": str(package_dir),
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        }
        worker_name = names.function_name(stage, resources.WORKER_FUNCTION)
        queue_name = resources.resource_name(stage, resources.APPLICATIONS_QUEUE.suffix)
        argv = [
            str(package_dir),
            str(runtime),
            api_name,
            worker_name,
            queue_name,
            resources.WORKER_FUNCTION.chalice_name,
            names.function_name(stage, resources.RECONCILER_FUNCTION),
            resources.RECONCILER_FUNCTION.chalice_name,
            json.dumps(sample_application()),
        ]
        out = subprocess.run(
            [sys.executable, "-S", "-c", PACKAGE_CHILD, *argv],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        # The decision.made events the packaged code published, as the bus's local rule delivered them.
        sqs = client("sqs", endpoint)
        delivered = []
        while batch := sqs.receive_message(
            QueueUrl=created["events"]["queue_url"], MaxNumberOfMessages=10
        ).get("Messages"):
            delivered += [json.loads(message["Body"]) for message in batch]
            sqs.delete_message_batch(
                QueueUrl=created["events"]["queue_url"],
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
    assert out.returncode == 0, out.stderr[-4000:]
    line = next(line for line in reversed(out.stdout.splitlines()) if line.startswith("PACKAGE_RESULT "))
    result = json.loads(line.removeprefix("PACKAGE_RESULT "))
    expected_errors = {"POST /v1/decisions invalid": 400, "POST /v1/applications": 202}
    expected_errors["POST /v1/applications replayed"] = 202
    assert result["statuses"] == {label: expected_errors.get(label, 200) for label in result["statuses"]}
    assert len(result["statuses"]) == 14
    assert result["cache"] == ["miss", "hit"]
    assert result["replayed"] == "true"
    assert result["queued_messages"] == 1
    assert result["worker"] == {"batchItemFailures": []}
    # Nothing is PENDING past its time yet: the run finds nothing to do, and says so as a dict.
    assert isinstance(result["reconciled"], dict)
    assert result["application_status"] == "DECIDED"
    # PutEvents worked from the zip on the bus named in the environment: the sync decision and the
    # worker's decision each published decision.made, owned by the calling key.
    made = [e for e in delivered if e["detail-type"] == resources.DECISION_MADE]
    assert {e["source"] for e in made} == {resources.DECISION_EVENTS_BUS.source}
    assert {e["detail"]["client_id"] for e in made} == {"package-test-key-id"}
    assert {e["detail"].get("application_id") for e in made} >= {result["application_id"]}
    assert result["decision_id"] in {e["detail"]["decision_id"] for e in made}
    assert result["xray_loaded"] and result["botocore_patched"]
    assert result["outside"] == []
