"""schemathesis' coverage phase over the staff routes (review desk, registry, audit, monitoring,
backtests: the StaffIdToken scheme) but registering a version (its own slice), against the
running local stack.

One slice of the generated-requests run (tests/support/schemathesis_run.py says how the slices add
up to the whole run, and test_integration_edge_schemathesis.py checks that they do).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.stack import DevStack
from tests.support.schemathesis_run import run_slice

# A slice may take longer than pytest's 600 s default on a machine busy with other work: the same
# deadline as the schemathesis subprocess itself (tests/support/schemathesis_run.py).
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


def test_coverage_phase_never_breaks_the_contract(
    stack: DevStack, tmp_path: Path, measured_figures: list[str]
) -> None:
    run_slice("coverage-staff", stack, tmp_path, measured_figures)
