"""Generated requests: schemathesis against the RUNNING local stack (moto server, chalice local with
the emulated gateway and the local Cognito authorizer, the queue worker), driven by the OpenAPI
document the stack itself serves.

Runs the schemathesis CLI (pinned in requirements-dev.txt) as a subprocess so that its own runner,
its four phases (examples, coverage, fuzzing, stateful: the document's links chain create -> read
and a page -> the next page) and ALL its checks are used unchanged, among them
positive_data_acceptance (a request the document allows is not a 400) and negative_data_rejection
(one it forbids is not a 2xx). Both credentials are configured per security scheme: the partner's
API key for client routes and a manager's ID token (the local Cognito pool) for the review desk.
Positive and negative data; a fixed seed so CI is reproducible (SCHEMATHESIS_SEED overrides it,
SCHEMATHESIS_MAX_EXAMPLES raises the per-operation budget for a deeper local run).

The hook (schemathesis_unique_idempotency_keys.py) gives every accepted Idempotency-Key a fresh
value and keeps generated list cursors to the negative cases (see there).

Prints the number of generated test cases, requests sent and responses by status: the figures the
project reports.

Where chalice local and API Gateway necessarily differ (for the API documentation):
- TRACE and QUERY: chalice local's HTTP server answers them itself with a 501 HTML page before the
  app runs; API Gateway answers a method no resource declares with its 403 MISSING_AUTHENTICATION_TOKEN
  gateway response. Neither reaches the app; the coverage phase is told not to send them and
  ``test_trace_is_answered_before_the_app`` pins chalice local's answer. Every other undeclared
  method (PUT, DELETE, PATCH, ...) reaches the app on both and is a 405 with Allow.
- OPTIONS: both hand it to the app (install_edge adds an OPTIONS route to every path), a 204 preflight.
- HEAD: API Gateway answers HEAD on a GET resource without the body; chalice local routes it as GET.
  Not declared in the document, not sent by schemathesis.
"""

from __future__ import annotations

import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from chalicelib.http import routes
from devstack.cognito import DEMO_STAFF, id_token
from devstack.stack import DevStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MIN_GENERATED = 300
PHASES = "examples,coverage,fuzzing,stateful"
MAX_EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261126"))
UNIQUE_IDEMPOTENCY_KEYS_HOOK = Path(__file__).with_name("schemathesis_unique_idempotency_keys.py")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


# The coverage phase also sends methods no route declares: all but TRACE and QUERY (see above).
# Credentials per security scheme of the document (ApiKeyAuth, StaffIdToken).
SCHEMATHESIS_CONFIG = """
[auth.openapi.ApiKeyAuth]
api_key = "{api_key}"

[auth.openapi.StaffIdToken]
api_key = "{staff_token}"

[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch"]

# Registering a decision version (issue 18): what a JSON Schema cannot state is a 400 naming the
# field: a model artifact whose content does not match its own sha256, a policy whose review band
# is above its approve band (or a band rule above its harder rule). Every other check still applies.
[[operations]]
include-operation-id = "registerVersion"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

# Batches (issue 19): a decision version id the registry does not hold is a 400 naming it (what a
# JSON Schema cannot state: which versions exist).
[[operations]]
include-operation-id = ["createBatch", "createBacktest"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]
"""


def _schemathesis_cli() -> str:
    return str(Path(sys.executable).with_name("st"))


def _status_counts(har: dict[str, Any]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for entry in har["log"]["entries"]:
        counts[str(entry["response"]["status"])] += 1
    return counts


def _per_operation(har: dict[str, Any], base_url: str) -> dict[str, collections.Counter[str]]:
    """Responses by status per declared route (generated path parameters folded into the template)."""
    templates = [
        (re.compile("^" + re.sub(r"{\w+}", "[^/]*", route.path) + "$"), route.path) for route in routes.ROUTES
    ]
    operations: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for entry in har["log"]["entries"]:
        path = entry["request"]["url"].removeprefix(base_url).split("?", 1)[0]
        template = next((name for pattern, name in templates if pattern.match(path)), "(undeclared path)")
        operations[f"{entry['request']['method']} {template}"][str(entry["response"]["status"])] += 1
    return operations


def test_generated_requests_never_break_the_contract(
    stack: DevStack, tmp_path: Path, measured_figures: list[str]
) -> None:
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
    config_file.write_text(
        SCHEMATHESIS_CONFIG.format(api_key=stack.api_key("partner"), staff_token=staff_token)
    )
    command = [
        _schemathesis_cli(),
        "--config-file",
        str(config_file),
        "run",
        f"{base_url}/openapi.json",
        "--url",
        base_url,
        "--phases",
        PHASES,
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
        command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path, env=env
    )

    report = json.loads(report_json.read_text())
    har = json.loads(report_har.read_text())
    generated = report["test_cases"]["generated"]
    statuses = _status_counts(har)
    summary = [
        f"schemathesis {report['schemathesis_version']} seed {SEED}: "
        f"{generated} test cases generated, {len(har['log']['entries'])} requests sent, "
        f"{report['test_cases']['with_failures']} with failures, {report['test_cases']['errored']} errored",
        "responses by status: "
        + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items())),
    ]
    for operation, counts in sorted(_per_operation(har, base_url).items()):
        summary.append(f"  {operation}: " + ", ".join(f"{s}={n}" for s, n in sorted(counts.items())))
    # Shown in pytest's terminal summary (tests/integration/conftest.py), also when output is captured.
    measured_figures.extend(summary)

    assert result.returncode == 0, result.stdout[-20_000:] + result.stderr[-5_000:]
    assert generated >= MIN_GENERATED, "\n".join(summary)
    assert report["complete"] is True
    assert not any(status.startswith("5") and status != "503" for status in statuses), "\n".join(summary)


def test_trace_is_answered_before_the_app(stack: DevStack) -> None:
    """chalice local answers TRACE itself (501, HTML, no app headers); API Gateway would answer 403
    MISSING_AUTHENTICATION_TOKEN. Either way the app never sees it, so the document cannot cover it."""
    response = requests.request("TRACE", f"{stack.api_url}/v1/decisions", timeout=30)
    assert response.status_code == 501
    assert "X-Request-ID" not in response.headers
