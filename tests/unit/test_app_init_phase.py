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

PROJECT_DIR = Path(__file__).resolve().parents[2]
PROBE = """
import gc, json
import app
print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def test_importing_app_leaves_the_gc_on_with_the_init_objects_frozen() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_DIR,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    state = json.loads(done.stdout.strip().splitlines()[-1])
    assert state["enabled"] is True
    # Everything the import allocated: botocore's models alone are well over 100k objects.
    assert state["frozen"] > 100_000, state
