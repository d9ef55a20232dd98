"""Runs the schemathesis CLI against a running local stack, one slice of its work at a time.

The whole run (four phases over every operation of the document, both credentials) held one xdist
worker for about 8 minutes under ``--dist loadfile`` (and passed pytest's 600 s timeout on a busy
machine) while the other worker had run out of modules. So it is cut into SLICES, each run by a test
module of its own (test_integration_edge_schemathesis.py and test_integration_schemathesis_*.py) that
xdist can hand to either worker. Together the slices are the old run: every phase over every
operation, the same seed, per-operation budget and checks, both credentials in every slice, and
``test_the_slices_cover_every_phase_and_operation`` keeps it so as routes are added. The examples,
coverage and fuzzing phases generate per operation, so cutting them by operation changes nothing
within an operation; the stateful phase follows the document's links across operations and runs whole.

Runs the CLI (pinned in requirements-dev.txt) as a subprocess so that its own runner, its phases
and ALL its checks are used unchanged, among them positive_data_acceptance (a request the document
allows is not a 400) and negative_data_rejection (one it forbids is not a 2xx). Positive and
negative data; a fixed seed so CI is reproducible (SCHEMATHESIS_SEED overrides it,
SCHEMATHESIS_MAX_EXAMPLES raises the per-operation budget for a deeper local run).

The hook (tests/integration/schemathesis_unique_idempotency_keys.py) gives every accepted
Idempotency-Key a fresh value and keeps generated list cursors to the negative cases (see there).
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from chalicelib.http import routes
from devstack.cognito import DEMO_STAFF, id_token
from devstack.stack import DevStack

# The slices that create webhook endpoints (the "other" group and the whole-document one) call as a
# partner client of their own. On the shared key, the endpoints that fuzzing registers (ten, at
# addresses that never answer) received every later decision of the decision and application
# slices: thousands of fan-out messages and retries, and moto's SQS, which reads its whole queue on
# every receive, held a core for the rest of the run (the integration suite took 30 minutes, not 16).
CONTRACT_CLIENT_KEY = "local-dev-partner-contract-key"
CONTRACT_CLIENT_OPERATIONS = ("other", "all")


def stack_api_keys() -> str:
    """LOCAL_API_KEYS for a stack these slices run against: one key per plan as by default (first, so
    ``DevStack.api_key`` still returns them), and the contract client's."""
    from chalicelib.resources import USAGE_PLANS
    from devstack.gateway import DEFAULT_LOCAL_KEY_PATTERN

    keys = [f"{plan.name}:{DEFAULT_LOCAL_KEY_PATTERN.format(tier=plan.name)}" for plan in USAGE_PLANS]
    return ",".join([*keys, f"partner:{CONTRACT_CLIENT_KEY}"])


PHASES = ("examples", "coverage", "fuzzing", "stateful")
MAX_EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261126"))
# A generous deadline for one slice on a busy machine (about 1 to 5 minutes when the machine is
# not shared); under the slice modules' pytest timeout of 900 s, so this one names what ran out.
SLICE_DEADLINE_SECONDS = 840
PROJECT_ROOT = Path(__file__).resolve().parents[2]
UNIQUE_IDEMPOTENCY_KEYS_HOOK = PROJECT_ROOT / "tests/integration/schemathesis_unique_idempotency_keys.py"

# The coverage phase also sends methods no route declares: all but TRACE and QUERY (see
# test_integration_edge_schemathesis.py). Credentials per security scheme of the document
# (ApiKeyAuth, StaffIdToken).
SCHEMATHESIS_CONFIG = """
[auth.openapi.ApiKeyAuth]
api_key = "{api_key}"

[auth.openapi.StaffIdToken]
api_key = "{staff_token}"

[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch"]

# Schema-violating data must be refused: schemathesis's own list of refusals, and 413 besides. A
# body over MAX_BODY_BYTES (16 KB, API Gateway's and chalice local's limit here) is refused before
# its schema is read, as 413 naming the limit (fuzzing sends such bodies: a long string of astral
# characters, each six bytes of JSON escapes).
[checks.negative_data_rejection]
expected-statuses = [
    "400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"
]

# Registering a decision version (issue 18): what a JSON Schema cannot state is a 400 naming the
# field: a model artifact whose content does not match its own sha256, a policy whose review band
# is above its approve band (or a band rule above its harder rule). Every other check still applies.
[[operations]]
include-operation-id = "registerVersion"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A loan outcome (issue 20): an as_of in the future, or before the decision's day, is a 400 naming
# as_of (a JSON Schema cannot compare a date with today or with the decision).
[[operations]]
include-operation-id = "recordLoanOutcome"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# Batches (issue 19): a decision version id the registry does not hold is a 400 naming it (what a
# JSON Schema cannot state: which versions exist).
[[operations]]
include-operation-id = ["createBatch", "createBacktest"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# A multipart batch's start (issue 19): a part its body lists that was not uploaded, or an ETag that
# is not its part's, is a 400 naming that part (what a JSON Schema cannot state: what S3 holds).
[[operations]]
include-operation-id = ["startBatch", "startBacktest"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"""


class Slice(NamedTuple):
    """Some phases over one group of operations (OPERATION_GROUPS) or over the whole document."""

    name: str
    phases: tuple[str, ...]
    operations: str  # a key of operation_groups(), or "all"
    min_generated: int  # a floor well under what the seed generates: a slice that stopped generating fails


# The client's decision and application routes take a whole application as their body (every field
# gives the coverage phase its boundary and negative cases, and a decision is scored and searched for
# counteroffers and suggestions), so they are two groups of their own; "other" is every remaining
# API-key or public route (webhooks, health, documents, console) and takes any route added later
# that is not staff.
GROUP_PATHS = {"decisions": ("/v1/decisions",), "applications": ("/v1/applications", "/v1/eligibility")}
# Registering a decision version is a group of its own, out of the staff routes: every body the
# API accepts registers a new version whose validation report decides the 1,000 holdout rows, and
# the coverage phase sends it some 1,570 bodies (about 250 accepted), about 70% of the staff routes'
# requests and most of their time. In one slice with the other staff routes it held one worker for
# twice as long as any other slice; a group cannot be cut finer than one operation.
STAFF_OPERATION_GROUPS = {"registration": ("registerVersion",)}

# Sized so that no slice holds a worker much longer than the others (a run at 60 examples per operation).
SLICES: dict[str, Slice] = {
    s.name: s
    for s in (
        Slice("examples-stateful", ("examples", "stateful"), "all", 150),
        *(
            Slice(f"{phase}-{group}", (phase,), group, 50)
            for phase in ("coverage", "fuzzing")
            for group in ("decisions", "applications", "other", "staff", "registration")
        ),
    )
}


def operation_groups() -> dict[str, list[str]]:
    """Every operation of the document in exactly one group: registration (registering a decision
    version), staff (the other routes of the StaffIdToken scheme), the client's decisions, its
    applications (and eligibility), other (the remaining client and public ones)."""
    groups: dict[str, list[str]] = {
        **{group: [] for group in STAFF_OPERATION_GROUPS},
        "staff": [],
        **{group: [] for group in GROUP_PATHS},
        "other": [],
    }
    for route in routes.ROUTES:
        if route.access is routes.Access.STAFF:
            group = next(
                (name for name, ids in STAFF_OPERATION_GROUPS.items() if route.operation_id in ids), "staff"
            )
            groups[group].append(route.operation_id)
            continue
        group = next((name for name, paths in GROUP_PATHS.items() if route.path.startswith(paths)), "other")
        groups[group].append(route.operation_id)
    return groups


def _operation_filter(operations: str) -> list[str]:
    """CLI options selecting the group: a named one included, "other" as all but the named ones (so
    an operation the document has and routes.ROUTES lacks would still be tested)."""
    if operations == "all":
        return []
    groups = operation_groups()
    if operations == "other":
        named = [name for group, names in groups.items() if group != "other" for name in names]
        return [argument for name in named for argument in ("--exclude-operation-id", name)]
    return [argument for name in groups[operations] for argument in ("--include-operation-id", name)]


def _schemathesis_cli() -> str:
    return str(Path(sys.executable).with_name("st"))


def _status_counts(har: dict[str, Any]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for entry in har["log"]["entries"]:
        counts[str(entry["response"]["status"])] += 1
    return counts


def _per_operation(har: dict[str, Any], base_url: str) -> dict[str, collections.Counter[str]]:
    """Responses by status per declared route (generated path parameters folded into the template)."""
    # A static path before any templated one it also matches (/v1/versions/audit, not {version_id}).
    static_first = sorted(routes.ROUTES, key=lambda route: route.path.count("{"))
    templates = [
        (re.compile("^" + re.sub(r"{\w+}", "[^/]*", route.path) + "$"), route.path) for route in static_first
    ]
    operations: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for entry in har["log"]["entries"]:
        path = entry["request"]["url"].removeprefix(base_url).split("?", 1)[0]
        template = next((name for pattern, name in templates if pattern.match(path)), "(undeclared path)")
        operations[f"{entry['request']['method']} {template}"][str(entry["response"]["status"])] += 1
    return operations


def run_slice(slice_name: str, stack: DevStack, tmp_path: Path, measured_figures: list[str]) -> None:
    """Run one slice with both credentials and assert the old run's assertions on it."""
    run = SLICES[slice_name]
    base_url = stack.api_url
    report_json = tmp_path / "schemathesis-report.json"
    report_har = tmp_path / "schemathesis-requests.har"
    config_file = tmp_path / "schemathesis.toml"
    # The partner plan's key: its rate and quota leave room for the other integration tests; the
    # per-method stage throttle may still answer 429, which the document declares. A manager opens
    # every staff route (the reviewer group opens all but the second approval).
    if stack.staff_pool is None:
        pytest.skip("this AWS endpoint has no Cognito IdP (LocalStack community): no staff token")
    manager = next(user for user in DEMO_STAFF if user.username == "manager1")
    staff_token = id_token(stack.client("cognito-idp"), stack.staff_pool, manager.username, manager.password)
    contract_client = run.operations in CONTRACT_CLIENT_OPERATIONS
    api_key = CONTRACT_CLIENT_KEY if contract_client else stack.api_key("partner")
    config_file.write_text(SCHEMATHESIS_CONFIG.format(api_key=api_key, staff_token=staff_token))
    command = [
        _schemathesis_cli(),
        "--config-file",
        str(config_file),
        "run",
        f"{base_url}/openapi.json",
        "--url",
        base_url,
        "--phases",
        ",".join(run.phases),
        *_operation_filter(run.operations),
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        # One worker: CPython 3.11.7 can fail ast.parse on two threads at once ("AST constructor
        # recursion depth mismatch", python/cpython#106905, fixed in 3.11.8), which Hypothesis calls.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        # Generation speed only: Hypothesis builds its strategy for the name pattern (every Unicode
        # letter and mark, listed as ranges: chalicelib/engine/schema.py) character by character.
        "--suppress-health-check",
        "too_slow",
        "--report",
        "json,har",
        "--report-json-path",
        str(report_json),
        "--report-har-path",
        str(report_har),
    ]
    # The hook imports the API's own key rule from chalicelib: the project root goes on the path.
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": str(UNIQUE_IDEMPOTENCY_KEYS_HOOK),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    }
    # cwd: schemathesis keeps a cache directory in its working directory; keep it out of the tree.
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=SLICE_DEADLINE_SECONDS,
        check=False,
        cwd=tmp_path,
        env=env,
    )

    report = json.loads(report_json.read_text())
    har = json.loads(report_har.read_text())
    generated = report["test_cases"]["generated"]
    statuses = _status_counts(har)
    summary = [
        f"schemathesis {report['schemathesis_version']} seed {SEED}, slice {run.name}: "
        f"{generated} test cases generated, {len(har['log']['entries'])} requests sent, "
        f"{report['test_cases']['with_failures']} with failures, {report['test_cases']['errored']} errored, "
        f"{report['operations']['tested']} operations tested in {report['running_time']}",
        "responses by status: "
        + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())),
    ]
    for operation, counts in sorted(_per_operation(har, base_url).items()):
        summary.append(f"  {operation}: " + ", ".join(f"{s}={n}" for s, n in sorted(counts.items())))
    # Shown in pytest's terminal summary (tests/integration/conftest.py), also when output is captured.
    measured_figures.extend(summary)

    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
    assert generated >= run.min_generated, "\n".join(summary)
    assert report["complete"] is True
    # Every phase of the slice ran (a phase schemathesis skips, e.g. stateful without links, fails).
    assert {phase: report["phases"][phase]["status"] for phase in run.phases} == {
        phase: "success" for phase in run.phases
    }, report["phases"]
    assert not any(status.startswith("5") and status != "503" for status in statuses), "\n".join(summary)
