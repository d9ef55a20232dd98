"""Package the dev and prod templates once per session (``python -m infra.package``, the command
``make package`` runs) into a temporary build directory, and expand them with the SAM translator
(what CloudFormation's ``AWS::Serverless-2016-10-31`` transform does) for the tests that need the
resources SAM generates (aliases, the event source mapping, the stage).
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from infra_template_support import Template, expand_sam

from chalicelib import resources

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKAGED_STAGES = resources.DEPLOYED_STAGES


def _clean_environment() -> dict[str, str]:
    # Only what `chalice package` needs: the session's fake AWS settings must not leak into the app load.
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    return env


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The packaged stages, built once per run. Under pytest-xdist every worker is a session of its
    own: they share the run's temporary directory, the first one to take the lock packages and the
    others reuse its build (pytest-xdist's recipe for a session fixture run once)."""
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent  # the run's directory, above each worker's own
    out = root / "infra-build"
    with (root / "infra-build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (out / "packaged").exists():
            for stage in PACKAGED_STAGES:
                subprocess.run(
                    [sys.executable, "-m", "infra.package", "--stage", stage, "--build-dir", str(out)],
                    cwd=PROJECT_DIR,
                    env=_clean_environment(),
                    check=True,
                    capture_output=True,
                    text=True,
                )
            (out / "packaged").touch()
    return out


@pytest.fixture(scope="session")
def templates(build_dir: Path) -> dict[str, Template]:
    """{stage: the packaged SAM template} exactly as `make package` writes it."""
    return {stage: json.loads((build_dir / stage / "sam.json").read_text()) for stage in PACKAGED_STAGES}


@pytest.fixture(scope="session")
def expanded(templates: dict[str, Template]) -> dict[str, Template]:
    """{stage: the template after the SAM transform} (plain CloudFormation)."""
    return {stage: expand_sam(template) for stage, template in templates.items()}
