"""Generated bad input: schemathesis against the RUNNING local stack (moto server, chalice local with
the emulated gateway, the queue worker), driven by the OpenAPI document the stack itself serves.

Runs the schemathesis CLI (pinned in requirements-dev.txt) as a subprocess so that its own runner,
phases (examples, coverage, fuzzing) and checks are used unchanged:
not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance.
Positive and negative data; a fixed seed so CI is reproducible (SCHEMATHESIS_SEED overrides it,
SCHEMATHESIS_MAX_EXAMPLES raises the per-operation budget for a deeper local run).

Every generated request the API would accept an Idempotency-Key for gets a fresh one (the hook in
schemathesis_unique_idempotency_keys.py), so generated bodies reach validation and scoring instead of
colliding on a reused key.

Prints the number of generated test cases, requests sent and responses by status: the figures the
project reports.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.http.edge import API_KEY_HEADER
from devstack.stack import DevStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "response_schema_conformance",
    "content_type_conformance",
)
MIN_GENERATED = 300
MAX_EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20261126"))
UNIQUE_IDEMPOTENCY_KEYS_HOOK = Path(__file__).with_name("schemathesis_unique_idempotency_keys.py")
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# The coverage phase also sends methods no route declares. chalice local's HTTP server answers TRACE
# and QUERY itself with a 501 HTML page before the app runs (it has no handler for them); API Gateway
# answers them with a 403 gateway response. Every other undeclared method (PUT, DELETE, PATCH, ...)
# reaches the app and is checked.
SCHEMATHESIS_CONFIG = """
[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "options", "patch"]
"""


def _schemathesis_cli() -> str:
    return str(Path(sys.executable).with_name("st"))


def _status_counts(har: dict[str, Any]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    for entry in har["log"]["entries"]:
        counts[str(entry["response"]["status"])] += 1
    return counts


def _per_operation(har: dict[str, Any], base_url: str) -> dict[str, collections.Counter[str]]:
    operations: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for entry in har["log"]["entries"]:
        path = entry["request"]["url"].removeprefix(base_url).split("?", 1)[0]
        if path.startswith("/v1/applications/"):
            path = "/v1/applications/{application_id}"
        operations[f"{entry['request']['method']} {path}"][str(entry["response"]["status"])] += 1
    return operations


def test_generated_requests_never_break_the_contract(
    stack: DevStack, tmp_path: Path, measured_figures: list[str]
) -> None:
    base_url = stack.api_url
    report_json = tmp_path / "schemathesis-report.json"
    report_har = tmp_path / "schemathesis-requests.har"
    config_file = tmp_path / "schemathesis.toml"
    config_file.write_text(SCHEMATHESIS_CONFIG)
    # The partner plan's key: its rate and quota leave room for the other integration tests; the
    # per-method stage throttle may still answer 429, which the document declares.
    api_key = stack.api_key("partner")
    command = [
        _schemathesis_cli(),
        "--config-file",
        str(config_file),
        "run",
        f"{base_url}/openapi.json",
        "--url",
        base_url,
        "--header",
        f"{API_KEY_HEADER}: {api_key}",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--mode",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES_PER_OPERATION),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--request-timeout",
        "30",
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
