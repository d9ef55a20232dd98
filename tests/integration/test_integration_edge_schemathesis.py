"""Generated requests: schemathesis against the RUNNING local stack (moto server, chalice local with
the emulated gateway and the local Cognito authorizer, the queue worker), driven by the OpenAPI
document the stack itself serves: its four phases (examples, coverage, fuzzing, stateful: the
document's links chain create -> read), both credentials (the partner's API key for client routes,
a manager's ID token from the local Cognito pool for the staff routes), positive and negative data,
all its checks. The run is cut into slices that xdist spreads over its workers
(tests/support/schemathesis_run.py); this module runs the examples and stateful phases over the whole
document and checks that the slices still add up to the whole run.

Each slice prints the number of generated test cases, requests sent and responses by status: the
figures the project reports.

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

import re
from pathlib import Path

import pytest
import requests

from chalicelib.http import routes
from devstack.stack import DevStack
from tests.support.schemathesis_run import PHASES, SLICES, operation_groups, run_slice

# A slice may take longer than pytest's 600 s default on a machine busy with other work: the same
# deadline as the schemathesis subprocess itself (tests/support/schemathesis_run.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


def test_examples_and_stateful_phases_never_break_the_contract(
    stack: DevStack, tmp_path: Path, measured_figures: list[str]
) -> None:
    run_slice("examples-stateful", stack, tmp_path, measured_figures)


def test_the_slices_cover_every_phase_and_operation() -> None:
    """Every (phase, operation) pair of the document is in exactly one slice, and every slice has a
    test module that runs it: cutting the run up left nothing out and ran nothing twice."""
    operations = {route.operation_id for route in routes.ROUTES}
    groups = {name: set(ids) for name, ids in operation_groups().items()}
    assert all(groups.values()), groups
    groups["all"] = operations
    covered = [
        (phase, operation)
        for run in SLICES.values()
        for phase in run.phases
        for operation in groups[run.operations]
    ]
    assert sorted(covered) == sorted((phase, operation) for phase in PHASES for operation in operations)
    modules = "\n".join(path.read_text() for path in Path(__file__).parent.glob("test_integration_*.py"))
    assert {name for name in SLICES} == set(re.findall(r'run_slice\("([\w-]+)"', modules))


def test_trace_is_answered_before_the_app(stack: DevStack) -> None:
    """chalice local answers TRACE itself (501, HTML, no app headers); API Gateway would answer 403
    MISSING_AUTHENTICATION_TOKEN. Either way the app never sees it, so the document cannot cover it."""
    response = requests.request("TRACE", f"{stack.api_url}/v1/decisions", timeout=30)
    assert response.status_code == 501
    assert "X-Request-ID" not in response.headers
