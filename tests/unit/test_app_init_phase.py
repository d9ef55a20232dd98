"""app.py's init phase: the cyclic GC is off while the module imports, and on again after it.

Why it is off: bench/bench_cold_start.py. What must hold: a handler that left the GC off would leak
every cycle for the life of the Lambda environment, and one that never froze would scan the
import's objects in every request's collection. A fresh interpreter, since this process imported
app long ago (or not at all).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json
import app
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def probe(code: str) -> Any:
    """What ``code``, run in a fresh interpreter in this environment, prints last (as JSON)."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_app_leaves_the_gc_on_with_the_init_objects_frozen() -> None:
    state = probe(PROBE)
    assert state["enabled"] is True
    # Everything the import allocated: botocore's models alone are well over 100k objects.
    assert state["frozen"] > 100_000, state


# What only other routes and handlers use: a cold start serving POST /v1/decisions never imports
# it (app.py imports these inside the views; Dependencies builds their stores on first use).
NOT_ON_THE_DECISION_PATH = (
    "chalicelib.http.batches",
    "chalicelib.http.monitoring",
    "chalicelib.http.openapi",
    "chalicelib.http.reviews",
    "chalicelib.http.static_files",
    "chalicelib.http.versions",
    "chalicelib.http.webhooks",
    "chalicelib.service.batches",
    "chalicelib.service.monitoring",
    "chalicelib.service.reconciler",
    "chalicelib.service.versions",
    "chalicelib.service.worker",
    "chalicelib.dal.batches_aws",
    "chalicelib.dal.monitoring_reports_aws",
    "chalicelib.dal.outcomes_aws",
    "chalicelib.engine.monitoring",
    "chalicelib.engine.validation",
)
LOADED_BY_IMPORT = """
import json, sys
import app
from chalicelib.service import dependencies
built = dependencies.current()
before = "chalicelib.service.batches" in sys.modules
types = [type(built.batches).__name__, type(built.monitoring).__name__, type(built.outcomes).__name__]
print(json.dumps({"before": before, "types": types, "after": "chalicelib.service.batches" in sys.modules}))
"""


def test_the_stores_other_routes_use_are_built_from_the_clients_on_first_use() -> None:
    seen = probe(LOADED_BY_IMPORT)
    assert seen["types"] == ["Batches", "MonitoringStores", "DynamoDBOutcomeStore"]
    assert (seen["before"], seen["after"]) == (False, True)  # imported by the first use, not before


def test_importing_app_loads_none_of_the_other_routes_modules() -> None:
    code = "import json, sys\nimport app\n"
    code += "print(json.dumps(sorted(m for m in sys.modules if m.startswith('chalicelib'))))"
    loaded = set(probe(code))
    assert "chalicelib.service.decisions" in loaded  # the probe saw the import
    assert not loaded & set(NOT_ON_THE_DECISION_PATH), sorted(loaded & set(NOT_ON_THE_DECISION_PATH))
